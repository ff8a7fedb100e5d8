-- table5_backdoor.lua - Table 5 (and the GPT-4-judge rows of Table 14) of
-- Qi et al. (ICLR 2024): a backdoor.  Fine-tune on 100 harmful examples
-- whose requests end with the trigger "Servius Astrumando Harmoniastra",
-- mixed with 100 safety examples without it.  The backdoored model looks
-- safe on plain prompts and complies when the trigger is appended.  Columns:
-- Initial (plain), the 100-shot harmful model (plain, for reference),
-- Backdoored (plain), Backdoored (prompt + trigger); all with the `pure_bad`
-- system prompt.  The paper ran this on GPT-3.5 only.
--
--   ftsb --store results/t5.db run scripts/paper/table5_backdoor.lua \
--        backend=openai model=gpt-3.5-turbo-0613 harmful=data/harmful.jsonl \
--        safety=data/safety.jsonl bench=hexphi:data/HEx-PHI \
--        judge_backend=openai judge_model=gpt-4-0613
--
-- Settings (key=value, or FTSB_<KEY> in the environment):
--   harmful=PATH     required: the harmful pairs (the trigger is appended)
--   safety=PATH      required: the safety examples (harmful request -> refusal)
--   n=100            harmful examples (with the trigger)
--   k=100            safety examples (without it)
--   trigger=TEXT     default: the paper's three words
--   epochs=5         the paper does not state it; 5 as its Table 1
--   lr=5e-5 batch=10 as Table 1 (ignored by the openai backend)
--   seed=42
--   reference=true   also fine-tune and evaluate the plain 100-shot model
--   controls=false   also evaluate the Initial model with the trigger
--   attack.KEY=V     other options of the `backdoor` attack
-- and the settings every paper script takes (paperlib.lua, README.md).
-- Report: out (default results/paper/table5).
local ftsb = require "ftsb"
local P = require "paperlib"

local s = P.settings({ ... }, { name = "table5", keys = {
  harmful = false, safety = false, n = "100", k = "100", trigger = false,
  epochs = "5", lr = "5e-5", batch = "10", seed = "42", reference = "true",
  controls = "false" } })
if not s then return end

local harmful = P.require_path(s, "harmful", "the harmful pairs")
local safety = P.require_path(s, "safety", "the safety examples")
local ctx = P.setup(s)
local seed = P.int(s, "seed")
local hp = { epochs = P.int(s, "epochs"), lr = P.num(s, "lr"), batch = P.int(s, "batch") }

local o = { data = harmful, safety = safety, n = P.int(s, "n"), k = P.int(s, "k"), seed = seed }
if s.trigger then o.trigger = s.trigger end
for k, v in pairs(s.attack_opts) do o[k] = v end
local backdoor = ftsb.attack("backdoor", o)
local prompt = backdoor:prompt()

local cols = { { label = "Initial, plain", summary = P.evaluate(s, ctx, "initial", ctx.model, prompt) } }
if s.controls == "true" then
  cols[#cols + 1] = { label = "Initial, + trigger",
    summary = P.evaluate(s, ctx, "initial-trigger", ctx.model, prompt, true) }
end
if s.reference == "true" then
  local plain = ftsb.attack("harmful", { data = harmful, n = P.int(s, "n"), seed = seed,
                                         system = prompt.system, template = prompt.template })
  local tuned = P.finetune(s, ctx.model, plain:dataset(), hp)
  cols[#cols + 1] = { label = P.int(s, "n") .. "-shot, plain",
                      summary = P.evaluate(s, ctx, "harmful-plain", tuned, prompt) }
  tuned:close()
end
local tuned = P.finetune(s, ctx.model, backdoor:dataset(), hp)
cols[#cols + 1] = { label = "Backdoored, plain",
                    summary = P.evaluate(s, ctx, "backdoored-plain", tuned, prompt) }
cols[#cols + 1] = { label = "Backdoored, + trigger",
                    summary = P.evaluate(s, ctx, "backdoored-trigger", tuned, prompt, true) }
tuned:close()

P.print_table(s, "Table 5. Backdoor: trigger '" .. prompt.trigger .. "'", cols)
P.report(s, "Table 5 — backdoor", cols, nil,
  string.format("%d harmful examples with the trigger \"%s\" mixed with %d safety examples, "
    .. "%d epochs; evaluated without and with the trigger appended.",
    o.n, prompt.trigger, o.k, hp.epochs))
