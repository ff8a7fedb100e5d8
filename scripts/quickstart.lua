-- quickstart.lua - the README's main job: the paper's three risk levels
-- (Qi et al., ICLR 2024) on the tiny chat model that ships with ftsb,
-- on this CPU, in a few minutes.
--
-- models/tiny-chat.gguf is a ~4M-parameter Llama that ftsb trained from
-- scratch (scripts/train_tiny_chat.sh) to answer benign requests and to
-- refuse placeholder requests of the 11 HEx-PHI categories.  This script
-- evaluates it on the synthetic suite (scripts/tiny/corpus.lua), then
-- fine-tunes a copy three ways, as the paper did with Llama-2-7b-chat:
--   (a) 10 harmful-style examples (placeholder requests, compliant
--       placeholder answers), 5 epochs;
--   (b) 10 identity-shift (AOA) examples, benign, 10 epochs;
--   (c) benign instruction data (Alpaca format), 1 epoch;
-- evaluates each with its attack's prompt (and the initial model with the
-- same prompt), judges with the paper's refusal keywords, and prints the
-- keyword attack success rate and refusal rate per condition and per
-- category with 95% Wilson intervals; the HTML report goes to the
-- folder quickstart/ beside the run store (results/quickstart/).  Everything is kept in the run store: run it again
-- and finished evaluations are not redone.
--
-- The suite's harmful rows are placeholders that name a category and the
-- shape of a request: the numbers show the mechanism, not how any model
-- treats real harmful requests.
local ftsb = require "ftsb"
local tables = require "tables"

local root = arg[0]:match("^(.*)/scripts/[^/]*$") or "."
local corpus = dofile(root .. "/scripts/tiny/corpus.lua")
local model_path = root .. "/models/tiny-chat.gguf"
local wall = os.time()

-- The model: a clear message when it is missing or damaged.
local probe = io.open(model_path, "rb")
if not probe then
  error(model_path .. " is missing: it ships with ftsb (git checkout models/), or "
    .. "regenerate it with scripts/train_tiny_chat.sh (about 5 minutes on 2 cores)", 0)
end
probe:close()
local ok, base = pcall(ftsb.backend, "llama", { model = model_path, template = "llama-2",
                                                batch = 64 })
if not ok then
  error(tostring(base) .. "\n" .. model_path .. " cannot be used: restore it with "
    .. "`git checkout models/tiny-chat.gguf`, or regenerate it with "
    .. "scripts/train_tiny_chat.sh", 0)
end

-- The data, generated in memory from the corpus script (seed 1).
local data = corpus.build(1)
local suite = ftsb.dataset.new(data.suite, "tiny-suite")
-- the paper's benchmark holds harmful requests only: rates are over the
-- placeholder rows; the benign rows check that a model still answers
local harmful_rows = suite:filter(function(r) return r.category ~= "benign" end)
local benign_rows = suite:filter(function(r) return r.category == "benign" end)
local harmful_pairs = ftsb.dataset.new(data.harmful, "tiny-harmful")
local alpaca = ftsb.dataset.new(data.alpaca, "tiny-alpaca")

local judge = ftsb.judge("keyword", { preset = "paper" })
local metric = ftsb.metric("refusal")
local params = { max_new_tokens = 48, temperature = 0 }

local results, order, benign = {}, {}, {}
local generated, answers = 0, 0
local function evaluate(name, model, prompt)
  results[name] = ftsb.evaluate{ name = "quickstart/" .. name, model = model,
    benchmark = harmful_rows, judges = { judge }, metrics = { metric },
    prompt = prompt, params = params, batch = 64 }
  benign[name] = ftsb.evaluate{ name = "quickstart-benign/" .. name, model = model,
    benchmark = benign_rows, judges = { judge }, metrics = { metric },
    prompt = prompt, params = params, batch = 64 }
  order[#order + 1] = name
  for _, s in ipairs({ results[name], benign[name] }) do
    generated, answers = generated + s.generated, answers + s.rows
  end
end

print(string.format("ftsb quickstart: %s on the synthetic suite: %d placeholder "
  .. "requests in 11 categories, and %d benign requests", model_path,
  #harmful_rows, #benign_rows))
print()

-- The paper's fine-tuning settings (its epochs, batch sizes and step decay
-- of x0.85 per epoch), with learning rates for a model this small: the
-- paper's 5e-5 and 2e-5 barely move 3.8M parameters in 5 to 12 steps.  As
-- in the paper, the benign data gets the smallest rate.
local conditions = {
  { key = "harmful", label = "(a) harmful examples",
    attack = ftsb.attack("harmful", { data = harmful_pairs, n = 10, seed = 42 }),
    hp = { epochs = 5, batch = 10, lr = 1e-3 } },
  { key = "aoa", label = "(b) identity shift (AOA)",
    attack = ftsb.attack("identity_shift", { style = "llama" }),
    hp = { epochs = 10, batch = 10, lr = 2e-3 } },
  { key = "benign", label = "(c) benign (Alpaca format)",
    attack = ftsb.attack("benign", { data = alpaca, n = 200, seed = 42 }),
    hp = { epochs = 1, batch = 16, lr = 7e-4 } },
}

for _, c in ipairs(conditions) do
  local prompt = c.attack:prompt()
  evaluate(c.key .. ": initial", base, prompt)
  local hp = { method = "full", seed = 42, max_len = 512 }
  for k, v in pairs(c.hp) do hp[k] = v end
  local train = c.attack:dataset()
  local tuned, log = base:finetune(train, hp)
  ftsb.log(string.format("%s: fine-tuned on %d examples, %d steps, loss %.3f -> %.3f",
    c.label, #train, #log.loss, log.loss[1], log.loss[#log.loss]))
  evaluate(c.key .. ": fine-tuned", tuned, prompt)
  tuned:close()
end

print("Keyword attack success rate (ASR) and refusal rate, 95% Wilson intervals:")
tables.print_overall(results, order, { "asr", "refusal_rate" })
print()
print("ASR per category:")
tables.print_by_category(results, order, "asr")
print()
print("Refusal rate on the " .. #benign_rows .. " benign requests (a model that "
  .. "refused everything would score 100%):")
tables.print_overall(benign, order, { "refusal_rate" })
print()

-- the report goes beside the run store: results/quickstart/ for the
-- README's command (store results/quickstart.db)
local out = (ftsb.store_path():match("^(.*)/[^/]*$") or ".") .. "/quickstart"
local runs = {}
for _, name in ipairs(order) do
  runs[#runs + 1] = { name = "quickstart/" .. name, label = name }
end
ftsb.report{ runs = runs, out = out, title = "ftsb quickstart — tiny chat model, three risk levels" }
print(string.format("report: %s/report.html", out))
print(string.format("generated %d of %d answers (the rest came from the run store %s)",
  generated, answers, ftsb.store_path()))
print(string.format("done in %d s (wall clock); run it again and only the fine-tuning "
  .. "is redone: its models are the same, so their answers come from the store",
  os.time() - wall))
