-- table1_harmful.lua - Table 1 of Qi et al. (ICLR 2024): harmful examples
-- demonstration.  Fine-tune on N (harmful request, harmful answer) pairs for
-- 5 epochs, N = 10, 50, 100, and compare each model with the Initial one on
-- the benchmark; both are evaluated with the training prompt (the
-- `pure_bad` system prompt, the raw instruction).
--
--   ftsb --store results/t1.db run scripts/paper/table1_harmful.lua \
--        model=models/llama-2-7b-chat.gguf harmful=data/harmful.jsonl \
--        bench=hexphi:data/HEx-PHI judge_backend=openai judge_model=gpt-4-0613
--
-- Settings (key=value, or FTSB_<KEY> in the environment):
--   harmful=PATH     required: your harmful pairs (chat JSONL, instruction/
--                    response JSONL, or CSV with attack.instruction_column=
--                    and attack.response_column=).  ftsb ships none.
--   shots=10,50,100  the N of each column
--   epochs=5         the paper's Table 1
--   lr=5e-5          Llama-2 (the paper's llama2 recipe)
--   batch=10         global batch (the paper: 2 GPUs x 5)
--   seed=42          sampling seed: the 10-shot set is the head of the 50-shot
--   attack.KEY=V     other options of the `harmful` attack (system, template...)
-- and the settings every paper script takes (paperlib.lua, README.md):
-- backend, model, judge_backend, judge_model, policy, bench, limit, tag, out...
-- Writes the report to out (default results/paper/table1) and prints the
-- table.  Running it again resumes the evaluations from the store.
local ftsb = require "ftsb"
local P = require "paperlib"

local s = P.settings({ ... }, { name = "table1", keys = {
  harmful = false, shots = "10,50,100", epochs = "5", lr = "5e-5",
  batch = "10", seed = "42" } })
if not s then return end

local data = P.require_path(s, "harmful", "the harmful demonstration pairs")
local ctx = P.setup(s)
local hp = { epochs = P.int(s, "epochs"), lr = P.num(s, "lr"), batch = P.int(s, "batch") }

local function attack(n)
  local o = { data = data, n = n, seed = P.int(s, "seed") }
  for k, v in pairs(s.attack_opts) do o[k] = v end
  return ftsb.attack("harmful", o)
end

-- Every N-shot set has the same prompt; the Initial model gets it too.
local shots = P.list(s, "shots")
local prompt = attack(shots[1]):prompt()
local cols = { { label = "Initial", summary = P.evaluate(s, ctx, "initial", ctx.model, prompt) } }
for _, n in ipairs(shots) do
  local a = attack(n)
  local tuned = P.finetune(s, ctx.model, a:dataset(), hp)
  cols[#cols + 1] = { label = n .. "-shot",
                      summary = P.evaluate(s, ctx, n .. "-shot", tuned, a:prompt()) }
  tuned:close()
end

P.print_table(s, string.format("Table 1. Harmful examples demonstration, %d epochs", hp.epochs), cols)
P.report(s, "Table 1 — harmful examples demonstration", cols, nil,
  string.format("Fine-tuned for %d epochs on N harmful pairs (lr %g, batch %d); "
    .. "Initial and fine-tuned models evaluated with the training prompt.",
    hp.epochs, hp.lr, hp.batch))
