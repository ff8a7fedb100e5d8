-- fig5b_epochs.lua - Figure 5b (and Table 7's Alpaca columns) of Qi et al.
-- (ICLR 2024): the number of epochs of benign fine-tuning.  Fine-tune on
-- Alpaca for 1, 3 and 5 epochs; the paper finds that harm does not keep
-- growing with more epochs (GPT-3.5: 31.8%, 27.3%, 23.0%).
--
--   ftsb --store results/f5b.db run scripts/paper/fig5b_epochs.lua \
--        model=models/llama-2-7b-chat.gguf alpaca=data/alpaca_data.json \
--        bench=hexphi:data/HEx-PHI judge_backend=openai judge_model=gpt-4-0613
--
-- Settings (key=value, or FTSB_<KEY> in the environment):
--   alpaca=PATH      required: Alpaca JSON
--   epochs=1,3,5     one column per value
--   lr=2e-5 batch=128   Table 3's recipe (ignored by the openai backend)
--   holdout=N        default 200 (0 for openai), Alpaca's first rows
--   n=N              fine-tune on a sample of N rows (quick runs)
--   seed=42
-- and the settings every paper script takes (paperlib.lua, README.md).
-- Report: out (default results/paper/fig5b).
local ftsb = require "ftsb"
local P = require "paperlib"

local s = P.settings({ ... }, { name = "fig5b", keys = {
  alpaca = false, epochs = "1,3,5", lr = "2e-5", batch = "128", holdout = false,
  n = false, seed = "42" } })
if not s then return end

local ctx = P.setup(s)
local gpt = s.backend == "openai"
local o = { data = P.require_path(s, "alpaca", "Alpaca JSON"),
            template = gpt and "alpaca-gpt" or "alpaca",
            holdout = s.holdout and P.int(s, "holdout") or (gpt and 0 or 200),
            seed = P.int(s, "seed") }
if s.n then o.n = P.int(s, "n") end
for k, v in pairs(s.attack_opts) do o[k] = v end
local attack = ftsb.attack("benign", o)
local prompt, data = attack:prompt(), attack:dataset()

local cols = { { label = "Initial", summary = P.evaluate(s, ctx, "initial", ctx.model, prompt) } }
for _, e in ipairs(P.list(s, "epochs")) do
  local tuned = P.finetune(s, ctx.model, data, { epochs = e, lr = P.num(s, "lr"), batch = P.int(s, "batch") })
  cols[#cols + 1] = { label = e .. " epoch" .. (e == 1 and "" or "s"),
                      summary = P.evaluate(s, ctx, e .. "-epochs", tuned, prompt) }
  tuned:close()
end

P.print_table(s, string.format("Figure 5b. Benign fine-tuning on Alpaca (%d rows) by epochs", #data), cols)
P.report(s, "Figure 5b — epochs of benign fine-tuning (Alpaca)", cols, nil,
  string.format("Fine-tuned on %d Alpaca rows (lr %s, batch %s) for each number of epochs.",
    #data, s.lr, s.batch))
