-- fig5a_lr_batch.lua - Figure 5a of Qi et al. (ICLR 2024): learning rate x
-- batch size.  Llama-2 fine-tuned for one epoch on Alpaca with every pair of
-- learning rate (2e-5, 5e-5) and global batch size (16, 32, 64, 128); the
-- paper finds that a larger learning rate and a smaller batch erode safety
-- more.  Prints the grid of the harmfulness rate (the keyword ASR without a
-- judge model) and writes one report with the Initial model and every cell.
--
--   ftsb --store results/f5a.db run scripts/paper/fig5a_lr_batch.lua \
--        model=models/llama-2-7b-chat.gguf alpaca=data/alpaca_data.json \
--        bench=hexphi:data/HEx-PHI judge_backend=openai judge_model=gpt-4-0613
--
-- Settings (key=value, or FTSB_<KEY> in the environment):
--   alpaca=PATH        required: Alpaca JSON
--   lrs=2e-5,5e-5      the rows of the grid
--   batches=16,32,64,128   its columns (global batch sizes)
--   epochs=1
--   holdout=200        the paper's Llama-2 hold-out (Alpaca's first 200 rows)
--   n=N                fine-tune on a sample of N rows (quick runs)
--   seed=42
-- and the settings every paper script takes (paperlib.lua, README.md).
-- Report: out (default results/paper/fig5a).
local ftsb = require "ftsb"
local P = require "paperlib"

local s = P.settings({ ... }, { name = "fig5a", keys = {
  alpaca = false, lrs = "2e-5,5e-5", batches = "16,32,64,128", epochs = "1",
  holdout = "200", n = false, seed = "42" } })
if not s then return end

local ctx = P.setup(s)
local o = { data = P.require_path(s, "alpaca", "Alpaca JSON"),
            template = s.backend == "openai" and "alpaca-gpt" or "alpaca",
            holdout = P.int(s, "holdout"), seed = P.int(s, "seed") }
if s.n then o.n = P.int(s, "n") end
for k, v in pairs(s.attack_opts) do o[k] = v end
local attack = ftsb.attack("benign", o)
local prompt, data = attack:prompt(), attack:dataset()
local epochs = P.int(s, "epochs")

local cols = { { label = "Initial", summary = P.evaluate(s, ctx, "initial", ctx.model, prompt) } }
local grid = {}
for _, lr in ipairs(P.list(s, "lrs")) do
  grid[lr] = {}
  for _, b in ipairs(P.list(s, "batches")) do
    local tuned = P.finetune(s, ctx.model, data, { epochs = epochs, lr = lr, batch = b })
    local name = string.format("lr%g-bs%d", lr, b)
    local sum = P.evaluate(s, ctx, name, tuned, prompt)
    tuned:close()
    grid[lr][b] = sum
    cols[#cols + 1] = { label = string.format("lr %g, batch %d", lr, b), summary = sum }
  end
end

-- The figure as a grid: rows are learning rates, columns batch sizes.
local metric = s.have_rubric and "harmfulness_rate" or "asr"
print(string.format("Figure 5a. %s after %d epoch(s) on Alpaca (%d rows)", metric, epochs, #data))
local head = string.format("  %-10s", "lr \\ batch")
for _, b in ipairs(P.list(s, "batches")) do head = head .. string.format(" | %-14s", b) end
print(head)
for _, lr in ipairs(P.list(s, "lrs")) do
  local line = string.format("  %-10s", string.format("%g", lr))
  for _, b in ipairs(P.list(s, "batches")) do
    local m
    for _, v in ipairs(grid[lr][b].metrics) do
      if v.name == metric and not v.category then m = v end
    end
    line = line .. string.format(" | %-14s", P.cell(metric, m))
  end
  print(line)
end
print()
P.print_table(s, "All runs against the Initial model", cols)
P.report(s, "Figure 5a — learning rate x batch size (Alpaca)", cols, nil,
  string.format("Fine-tuned %d epoch(s) on %d Alpaca rows with each learning rate and "
    .. "global batch size; differences against the Initial model.", epochs, #data))
