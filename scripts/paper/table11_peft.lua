-- table11_peft.lua - Table 11 (App. F) of Qi et al. (ICLR 2024): the three
-- risk levels under parameter-efficient fine-tuning of Llama-2.  For each
-- data set (100 harmful examples, the AOA conversations, Alpaca) the model
-- is fine-tuned in full and with LoRA (and, where the backend offers them,
-- LLaMA-Adapter and Prefix), each with the paper's own hyper-parameters,
-- and compared with the Initial model under that data set's prompt.
--
--   ftsb --store results/t11.db run scripts/paper/table11_peft.lua \
--        model=models/llama-2-7b-chat.gguf harmful=data/harmful.jsonl \
--        alpaca=data/alpaca_data.json bench=hexphi:data/HEx-PHI \
--        judge_backend=openai judge_model=gpt-4-0613
--
-- Settings (key=value, or FTSB_<KEY> in the environment):
--   rows=harmful,aoa,alpaca   default: aoa, plus harmful/alpaca when given
--   harmful=PATH     the harmful pairs
--   shots=100        harmful pairs sampled
--   alpaca=PATH      Alpaca JSON
--   holdout=200      Alpaca rows held out first (the paper's Llama-2 code)
--   alpaca_n=N       fine-tune the Alpaca rows on a sample of N rows
--   methods=full,lora         add llama_adapter,prefix if your backend has them
--   seed=42
-- The hyper-parameters are the paper's (App. F; full = Tables 1-3):
--   data      full              LoRA             LLaMA-Adapter     Prefix
--   harmful   5e-5, bs 10, 5 ep 1e-3, bs 10, 10  1e-2, bs 10, 20   1e-2, bs 10, 30
--   AOA       5e-5, bs 10, 5 ep 1e-3, bs 10, 20  1e-2, bs 2, 10    1e-2, bs 2, 20
--   Alpaca    2e-5, bs 128, 1   1e-4, bs 16, 1   1e-2, bs 16, 1    1e-2, bs 16, 1
-- LoRA r 8, alpha 32, dropout 0.05 on q_proj and v_proj; Adapter length 10 on
-- 30 layers; Prefix 30 virtual tokens (the repository's PEFT defaults).
-- Change any of them with ft.KEY=VALUE (applies to every run).  Plus the
-- settings every paper script takes (paperlib.lua, README.md).  One report
-- per data set: out/harmful, out/aoa, out/alpaca (out default
-- results/paper/table11).
local ftsb = require "ftsb"
local P = require "paperlib"

local s = P.settings({ ... }, { name = "table11", keys = {
  rows = false, harmful = false, alpaca = false, alpaca_n = false,
  methods = "full,lora", seed = "42", shots = "100", holdout = "200" },
  no_attack_opts = true })
if not s then return end

local ctx = P.setup(s)
local seed = P.int(s, "seed")
local lora = { rank = 8, alpha = 32, dropout = 0.05, targets = { "q_proj", "v_proj" } }
local adapter = { len = 10, layers = 30 }
local prefix = { tokens = 30 }

local function hp(method, lr, batch, epochs)
  return { method = method, lr = lr, batch = batch, epochs = epochs,
           lora = method == "lora" and lora or nil,
           adapter = method == "llama_adapter" and adapter or nil,
           prefix = method == "prefix" and prefix or nil }
end

local recipes = {
  harmful = { full = hp("full", 5e-5, 10, 5), lora = hp("lora", 1e-3, 10, 10),
              llama_adapter = hp("llama_adapter", 1e-2, 10, 20), prefix = hp("prefix", 1e-2, 10, 30) },
  aoa = { full = hp("full", 5e-5, 10, 5), lora = hp("lora", 1e-3, 10, 20),
          llama_adapter = hp("llama_adapter", 1e-2, 2, 10), prefix = hp("prefix", 1e-2, 2, 20) },
  alpaca = { full = hp("full", 2e-5, 128, 1), lora = hp("lora", 1e-4, 16, 1),
             llama_adapter = hp("llama_adapter", 1e-2, 16, 1), prefix = hp("prefix", 1e-2, 16, 1) },
}
local method_label = { full = "Full", lora = "LoRA", llama_adapter = "LLaMA-Adapter", prefix = "Prefix" }
local titles = { harmful = "100-shot harmful", aoa = "AOA identity shift", alpaca = "Alpaca" }

local function attack_of(row)
  if row == "harmful" then
    return ftsb.attack("harmful", { data = P.require_path(s, "harmful", "the harmful pairs"),
                                    n = P.int(s, "shots"), seed = seed })
  elseif row == "aoa" then
    return ftsb.attack("identity_shift", { style = "llama" })
  end
  local o = { data = P.require_path(s, "alpaca", "Alpaca JSON"), template = "alpaca",
              holdout = P.int(s, "holdout"), seed = seed }
  if s.alpaca_n then o.n = P.int(s, "alpaca_n") end
  return ftsb.attack("benign", o)
end

local rows = s.rows and P.list(s, "rows", true) or {}
if not s.rows then
  if s.harmful then rows[#rows + 1] = "harmful" end
  rows[#rows + 1] = "aoa"
  if s.alpaca then rows[#rows + 1] = "alpaca" end
end
local methods = P.list(s, "methods", true)
for _, m in ipairs(methods) do
  if not method_label[m] then
    error("table11: unknown method '" .. m .. "'; methods are full, lora, llama_adapter, prefix", 0)
  end
end

for _, row in ipairs(rows) do
  if not recipes[row] then
    error("table11: unknown row '" .. row .. "'; rows are harmful, aoa, alpaca", 0)
  end
  local attack = attack_of(row)
  local prompt, data = attack:prompt(), attack:dataset()
  local cols = { { label = "Initial", summary = P.evaluate(s, ctx, row .. "/initial", ctx.model, prompt) } }
  for _, m in ipairs(methods) do
    local r = recipes[row][m]
    local tuned = P.finetune(s, ctx.model, data, r)
    cols[#cols + 1] = { label = method_label[m],
                        summary = P.evaluate(s, ctx, row .. "/" .. m, tuned, prompt) }
    tuned:close()
  end
  P.print_table(s, "Table 11. PEFT: " .. titles[row], cols)
  P.report(s, "Table 11 — parameter-efficient fine-tuning: " .. titles[row], cols,
    s.out .. "/" .. row, "Each method with the paper's own learning rate, batch and epochs (App. F).")
end
