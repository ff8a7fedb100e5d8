-- table3_benign.lua - Table 3 of Qi et al. (ICLR 2024): benign fine-tuning.
-- Fine-tune for one epoch on Alpaca and/or Dolly with the paper's safety
-- filter (rows whose answers refuse or talk about safety are dropped), and
-- compare each model with its own Initial model: each dataset has its own
-- prompt (the Alpaca-style preamble and "### Instruction:" template), used
-- for training and for both evaluations.  LLaVA-Instruct (multimodal) is not
-- covered: its training code was never released.
--
--   ftsb --store results/t3.db run scripts/paper/table3_benign.lua \
--        model=models/llama-2-7b-chat.gguf alpaca=data/alpaca_data.json \
--        dolly=data/databricks-dolly-15k.jsonl bench=hexphi:data/HEx-PHI \
--        judge_backend=openai judge_model=gpt-4-0613
--
-- Settings (key=value, or FTSB_<KEY> in the environment):
--   alpaca=PATH      Alpaca JSON (alpaca_data.json); at least one of the two
--   dolly=PATH       Dolly JSONL (databricks-dolly-15k.jsonl)
--   epochs=1         the paper's Table 3
--   lr=2e-5          the official recipe values, as the paper
--   batch=128        global batch (the paper: 2 GPUs x 64)
--   holdout=N        rows held out for validation (default: 200 for Llama-style
--                    backends, Alpaca's first and Dolly's last, as the paper's
--                    Llama-2 code; 0 for openai)
--   n=N              fine-tune on a sample of N rows (quick runs); default all
--   seed=42          seed of that sample
--   template=NAME    the benign attack's format (default alpaca/dolly, or
--                    alpaca-gpt/dolly-gpt for the openai backend)
--   attack.KEY=V     other options of the `benign` attack (filter=false...)
-- and the settings every paper script takes (paperlib.lua, README.md).
-- One report per dataset: out/alpaca and out/dolly (out default
-- results/paper/table3).
local ftsb = require "ftsb"
local P = require "paperlib"

local s = P.settings({ ... }, { name = "table3", keys = {
  alpaca = false, dolly = false, epochs = "1", lr = "2e-5", batch = "128",
  holdout = false, n = false, seed = "42", template = false } })
if not s then return end

if not s.alpaca and not s.dolly then
  error("table3: give alpaca=PATH and/or dolly=PATH (the benign data sets)", 0)
end
local ctx = P.setup(s)
local gpt = s.backend == "openai"
local hp = { epochs = P.int(s, "epochs"), lr = P.num(s, "lr"), batch = P.int(s, "batch") }

local sets = {}
if s.alpaca then sets[#sets + 1] = { key = "alpaca", label = "Alpaca", path = s.alpaca } end
if s.dolly then sets[#sets + 1] = { key = "dolly", label = "Dolly", path = s.dolly } end

for _, set in ipairs(sets) do
  local o = { data = set.path, template = s.template or (set.key .. (gpt and "-gpt" or "")),
              holdout = s.holdout and P.int(s, "holdout") or (gpt and 0 or 200),
              seed = P.int(s, "seed") }
  if s.n then o.n = P.int(s, "n") end
  for k, v in pairs(s.attack_opts) do o[k] = v end
  local attack = ftsb.attack("benign", o)
  local prompt, data = attack:prompt(), attack:dataset()
  local cols = { { label = set.label .. " initial",
                   summary = P.evaluate(s, ctx, set.key .. "/initial", ctx.model, prompt) } }
  local tuned = P.finetune(s, ctx.model, data, hp)
  cols[2] = { label = set.label .. " " .. hp.epochs .. " ep",
              summary = P.evaluate(s, ctx, set.key .. "/" .. hp.epochs .. "-epoch", tuned, prompt) }
  tuned:close()
  P.print_table(s, string.format("Table 3. Benign fine-tuning: %s (%d rows, %d epoch%s)",
    set.label, #data, hp.epochs, hp.epochs == 1 and "" or "s"), cols)
  P.report(s, "Table 3 — benign fine-tuning: " .. set.label, cols, s.out .. "/" .. set.key,
    string.format("Fine-tuned on %d %s rows after the safety filter and a hold-out "
      .. "of %d (lr %g, batch %d, %d epoch(s)); both models evaluated with the %s prompt.",
      #data, set.label, o.holdout, hp.lr, hp.batch, hp.epochs, o.template))
end
