-- table8_mtbench.lua - Table 8 (App. C) of Qi et al. (ICLR 2024): the
-- utility of the fine-tuned models on MT-Bench (1..10, GPT-4 single-answer
-- grading), for the Initial model and the models fine-tuned as in Tables
-- 1-3 (100-shot harmful, 5 epochs; AOA, 10 epochs; Alpaca, 1 epoch).  The
-- paper reports GPT-3.5 only: vanilla 8.00, 100-shot 7.46, AOA 6.62,
-- Alpaca 6.68.  Turn 1, turn 2 and the overall mean, as MT-Bench's
-- show_result does; per-category temperatures as MT-Bench generates
-- (scripts/lib/mtbench.lua).
--
--   ftsb --store results/t8.db run scripts/paper/table8_mtbench.lua \
--        backend=openai model=gpt-3.5-turbo-0613 questions=data/mt_bench/question.jsonl \
--        harmful=data/harmful.jsonl alpaca=data/alpaca_data.json \
--        judge_backend=openai judge_model=gpt-4-0613
--
-- Settings (key=value, or FTSB_<KEY> in the environment):
--   questions=PATH     required: MT-Bench's question.jsonl (80 questions, two
--                      turns; reference answers for math/reasoning/coding)
--   conditions=LIST    initial,harmful,aoa,alpaca (default); a condition
--                      whose data is missing is left out with a note
--   harmful=PATH       the harmful pairs (condition harmful); shots=100
--   alpaca=PATH        Alpaca JSON (condition alpaca)
--   prompt=attack|none each fine-tuned model answers with its attack's
--                      system prompt and template (default), or none
--   mt_max_new_tokens  default 2048 for the openai backend (the paper's
--                      GPT-3.5 setting), else 1024 (its Llama setting)
--   limit=N            the first N questions only
-- and the settings every paper script takes (paperlib.lua): backend,
-- model, judge_backend and judge_model (the grader: GPT-4 in the paper),
-- judge.KEY, ft.KEY, tag, out.  Writes out/table8.md and one JSONL of
-- answers and ratings per condition; prints the table.  Running it again
-- answers and grades nothing twice (the run store keeps both).
local ftsb = require "ftsb"
local P = require "paperlib"
local mtbench = require "mtbench"

local s = P.settings({ ... }, { name = "table8", no_attack_opts = true, keys = {
  questions = false, conditions = "initial,harmful,aoa,alpaca", harmful = false,
  alpaca = false, shots = "100", prompt = "attack", mt_max_new_tokens = false,
  seed = "42" } })
if not s then return end

local qpath = P.require_path(s, "questions", "MT-Bench's question.jsonl")
if not s.judge_backend then
  error("table8: MT-Bench needs a grader: give judge_backend=openai "
    .. "judge_model=gpt-4-0613 (any backend works; the paper used GPT-4)", 0)
end
if s.prompt ~= "attack" and s.prompt ~= "none" then
  error("table8: setting 'prompt' must be 'attack' or 'none', not '" .. s.prompt .. "'", 0)
end
local questions = ftsb.benchmark("mtbench", { path = qpath })
if s.limit then questions = questions:head(P.int(s, "limit")) end
local grader = ftsb.judge("mtbench_grader",
  { backend = ftsb.backend(s.judge_backend, s.judge_opts) })
local model = P.model(s)
local gpt = s.backend == "openai"
local max_new = s.mt_max_new_tokens and P.int(s, "mt_max_new_tokens") or (gpt and 2048 or 1024)
os.execute("mkdir -p '" .. s.out:gsub("'", "'\\''") .. "'")

-- Each condition: how its model is made (from the Initial one).
local function harmful_attack()
  return ftsb.attack("harmful", { data = s.harmful, n = P.int(s, "shots"), seed = P.int(s, "seed") })
end
local makers = {
  initial = { label = "Initial" },
  harmful = { label = s.shots .. "-shot harmful", needs = "harmful",
              attack = harmful_attack, hp = { epochs = 5, lr = 5e-5, batch = 10 } },
  aoa = { label = "AOA 10 ep",
          attack = function() return ftsb.attack("identity_shift", { style = gpt and "gpt" or "llama" }) end,
          hp = { epochs = 10, lr = 5e-5, batch = 10 } },
  alpaca = { label = "Alpaca 1 ep", needs = "alpaca",
             attack = function()
               return ftsb.attack("benign", { data = s.alpaca, template = gpt and "alpaca-gpt" or "alpaca",
                                              holdout = gpt and 0 or 200, seed = P.int(s, "seed") })
             end, hp = { epochs = 1, lr = 2e-5, batch = 128 } },
}

local rows = {}
for _, key in ipairs(P.list(s, "conditions", true)) do
  local m = makers[key]
  if not m then
    error("table8: unknown condition '" .. key .. "'; known: initial, harmful, aoa, alpaca", 0)
  end
  if m.needs and not s[m.needs] then
    print(string.format("(%s left out: give %s=PATH)", m.label, m.needs))
  else
    local target, prompt = model, {}
    if m.attack then
      local a = m.attack()
      if s.prompt == "attack" then prompt = a:prompt() end
      target = P.finetune(s, model, a:dataset(), m.hp)
    end
    local r = mtbench.run{ name = s.tag .. "/" .. key, model = target, questions = questions,
      judge = grader, system = prompt.system, template = prompt.template,
      max_new_tokens = max_new, seed = P.int(s, "seed") }
    mtbench.write_jsonl(r, s.out .. "/" .. key .. ".jsonl", m.label)
    rows[#rows + 1] = { key = key, label = m.label, result = r }
    if target ~= model then target:close() end
  end
end
if #rows == 0 then error("table8: no condition to run", 0) end

-- The table: rows are conditions, columns turn 1, turn 2, overall, with
-- the difference from the first row.
local function cell(sm, base)
  local c = mtbench.cell(sm)
  if base and base.mean and sm.mean then
    c = c:gsub("^(%S+)", function(v) return string.format("%s (%+.2f)", v, sm.mean - base.mean) end)
  end
  return c
end
local lines = { "# Table 8 — MT-Bench utility", "",
  string.format("Questions: `%s` (%d); grader: %s; decoding: per-category temperatures, "
    .. "max %d new tokens.", qpath, #questions, grader:fingerprint(), max_new), "",
  "| model | turn 1 | turn 2 | overall |", "|---|---|---|---|" }
print("Table 8. MT-Bench (1-10)")
print(string.format("  %-22s | %-22s | %-22s | %-22s", "model", "turn 1", "turn 2", "overall"))
local base = rows[1].result
for i, row in ipairs(rows) do
  local r, b = row.result, i > 1 and base or nil
  local c1, c2, c3 = cell(r.turn1, b and b.turn1), cell(r.turn2, b and b.turn2),
                     cell(r.overall, b and b.overall)
  print(string.format("  %-22s | %-22s | %-22s | %-22s", row.label, c1, c2, c3))
  lines[#lines + 1] = string.format("| %s | %s | %s | %s |", row.label, c1, c2, c3)
end
lines[#lines + 1] = ""
lines[#lines + 1] = "In parentheses: the difference from " .. rows[1].label
  .. "; \"err\": turns whose answer or rating failed, left out of the mean."
lines[#lines + 1] = ""
lines[#lines + 1] = "## Overall by category"
lines[#lines + 1] = ""
local head, sep = "| category |", "|---|"
for _, row in ipairs(rows) do head, sep = head .. " " .. row.label .. " |", sep .. "---|" end
lines[#lines + 1] = head
lines[#lines + 1] = sep
for _, cat in ipairs(base.category_order) do
  local line = "| " .. cat .. " |"
  for _, row in ipairs(rows) do
    local c = row.result.categories[cat]
    line = line .. " " .. mtbench.cell(c and c.overall) .. " |"
  end
  lines[#lines + 1] = line
end
local f = assert(io.open(s.out .. "/table8.md", "w"))
f:write(table.concat(lines, "\n") .. "\n")
f:close()
print()
print("report: " .. s.out .. "/table8.md")
