-- table4_mitigation.lua - Table 4 of Qi et al. (ICLR 2024): mixing safety
-- data into the fine-tuning set.  For each attack (100-shot harmful, AOA,
-- Alpaca) the model is fine-tuned on the attack's data with k safety
-- examples (harmful request -> refusal, in the manner of Bianchi et al.'s
-- safety-tuned data) mixed in, k = 0 / 10 / 50 / 100 (250 / 500 / 1000 for
-- Alpaca), and compared with k = 0.  The safety examples take the attack's
-- prompt, and every model is evaluated with it.  The paper ran this on
-- GPT-3.5 only; the script runs on any fine-tunable backend.
--
--   ftsb --store results/t4.db run scripts/paper/table4_mitigation.lua \
--        backend=openai model=gpt-3.5-turbo-0613 safety=data/safety.jsonl \
--        harmful=data/harmful.jsonl alpaca=data/alpaca_data.json \
--        bench=hexphi:data/HEx-PHI judge_backend=openai judge_model=gpt-4-0613
--
-- Settings (key=value, or FTSB_<KEY> in the environment):
--   safety=PATH          required: the safety examples (instruction/response
--                        JSONL or chat JSONL); ftsb ships none
--   rows=harmful,aoa,alpaca   which attacks (default: aoa, plus harmful and
--                        alpaca when their data is given)
--   harmful=PATH         the harmful pairs of the 100-shot row
--   alpaca=PATH          Alpaca JSON for the Alpaca row
--   k=0,10,50,100        safety examples mixed into the harmful and AOA sets
--   k_benign=0,250,500,1000   ... and into Alpaca
--   shots=100            the harmful row's N
--   seed=42              seed of every sample
--   alpaca_n=N           fine-tune the Alpaca row on a sample of N rows
--   holdout=N            Alpaca rows held out first (default 200; 0 for openai)
-- Hyper-parameters per row, as Tables 1-3: harmful 5 epochs, AOA 10 epochs
-- (lr 5e-5, batch 10); Alpaca 1 epoch (lr 2e-5, batch 128); override with
-- harmful_epochs=, aoa_epochs=, alpaca_epochs=, lr=, batch=, alpaca_lr=,
-- alpaca_batch=.  Plus the settings every paper script takes (paperlib.lua,
-- README.md).  One report per row: out/harmful, out/aoa, out/alpaca (out
-- default results/paper/table4).
local ftsb = require "ftsb"
local P = require "paperlib"

local s = P.settings({ ... }, { name = "table4", keys = {
  safety = false, rows = false, harmful = false, alpaca = false,
  k = "0,10,50,100", k_benign = "0,250,500,1000", shots = "100", seed = "42",
  alpaca_n = false, holdout = false, harmful_epochs = "5", aoa_epochs = "10", alpaca_epochs = "1",
  lr = "5e-5", batch = "10", alpaca_lr = "2e-5", alpaca_batch = "128" },
  no_attack_opts = true })
if not s then return end

local safety = P.require_path(s, "safety", "the safety examples mixed in")
local ctx = P.setup(s)
local seed = P.int(s, "seed")
local gpt = s.backend == "openai"

-- The three attacks of the table, each with its data, prompt and recipe.
local builders = {
  harmful = function()
    local a = ftsb.attack("harmful", { data = P.require_path(s, "harmful",
      "the harmful pairs of the 100-shot row"), n = P.int(s, "shots"), seed = seed })
    return a, P.int(s, "shots") .. "-shot harmful", "k",
      { epochs = P.int(s, "harmful_epochs"), lr = P.num(s, "lr"), batch = P.int(s, "batch") }
  end,
  aoa = function()
    local a = ftsb.attack("identity_shift", { style = gpt and "gpt" or "llama" })
    return a, "AOA identity shift", "k",
      { epochs = P.int(s, "aoa_epochs"), lr = P.num(s, "lr"), batch = P.int(s, "batch") }
  end,
  alpaca = function()
    local o = { data = P.require_path(s, "alpaca", "Alpaca JSON for the Alpaca row"),
                template = gpt and "alpaca-gpt" or "alpaca",
                holdout = s.holdout and P.int(s, "holdout") or (gpt and 0 or 200),
                seed = seed }
    if s.alpaca_n then o.n = P.int(s, "alpaca_n") end
    return ftsb.attack("benign", o), "Alpaca", "k_benign",
      { epochs = P.int(s, "alpaca_epochs"), lr = P.num(s, "alpaca_lr"),
        batch = P.int(s, "alpaca_batch") }
  end,
}

local rows = s.rows and P.list(s, "rows", true) or {}
if not s.rows then
  if s.harmful then rows[#rows + 1] = "harmful" end
  rows[#rows + 1] = "aoa"
  if s.alpaca then rows[#rows + 1] = "alpaca" end
end

for _, row in ipairs(rows) do
  if not builders[row] then
    error("table4: unknown row '" .. row .. "'; rows are harmful, aoa, alpaca", 0)
  end
  local attack, title, kkey, hp = builders[row]()
  local prompt, base = attack:prompt(), attack:dataset()
  local cols = {}
  for _, k in ipairs(P.list(s, kkey)) do
    local data = base
    if k > 0 then
      data = ftsb.attack("mix_safety", { data = base, safety = safety, k = k, seed = seed,
        system = prompt.system, template = prompt.template, trigger = prompt.trigger }):dataset()
    end
    local tuned = P.finetune(s, ctx.model, data, hp)
    cols[#cols + 1] = { label = k .. " safe",
                        summary = P.evaluate(s, ctx, row .. "/" .. k .. "-safe", tuned, prompt) }
    tuned:close()
  end
  P.print_table(s, string.format("Table 4. Mixing in safety data: %s (%d epoch%s)", title,
    hp.epochs, hp.epochs == 1 and "" or "s"), cols)
  P.report(s, "Table 4 — mixing in safety data: " .. title, cols, s.out .. "/" .. row,
    string.format("%s, fine-tuned %d epoch(s) (lr %g, batch %d) with k safety examples "
      .. "mixed in; differences against k = 0.", title, hp.epochs, hp.lr, hp.batch))
end
