-- mtbench.lua - MT-Bench (Zheng et al. 2023), the utility measure of Qi et
-- al.'s Table 8: two-turn generation and single-answer grading.
--
--   local mtbench = require "mtbench"
--   local questions = ftsb.benchmark("mtbench", { path = "question.jsonl" })
--   local grader = ftsb.judge("mtbench_grader", { backend = gpt4 })
--   local r = mtbench.run{ model = model, questions = questions, judge = grader }
--   print(r.turn1.mean, r.turn2.mean, r.overall.mean)
--
-- ftsb.evaluate{} renders one user message per benchmark row, so it can
-- run turn 1 but not turn 2, which needs the model's own first answer in
-- the chat.  This helper does both with backend:generate, whose answers
-- the core caches in the run store like an evaluation's: turn 1 is the
-- chat [system?, user q1]; turn 2 is [system?, user q1, assistant a1,
-- user q2].  Each question is generated at its category's temperature
-- (MISSION-BRIEF.md §3.4, MT-Bench's own settings): writing and roleplay
-- 0.7; extraction, math, coding and reasoning 0 (greedy); stem and
-- humanities 0.1; any other category 0.7.  The grader then rates each
-- answer 1..10: turn 1 alone, turn 2 with the whole conversation, with
-- the reference answers of math, reasoning and coding questions (the
-- mtbench_grader judge; its verdicts are cached too).  A turn whose
-- generation or rating failed is an error, counted beside every mean and
-- never folded into it; a failed turn 1 leaves its turn 2 ungenerated.
-- Running it again answers everything from the store.
local ftsb = require "ftsb"

local M = {}

-- The per-category temperatures of MT-Bench's generation script.
M.temperatures = {
  writing = 0.7, roleplay = 0.7,
  extraction = 0.0, math = 0.0, coding = 0.0, reasoning = 0.0,
  stem = 0.1, humanities = 0.1,
}
M.default_temperature = 0.7
-- The categories graded against a reference answer.
M.reference_categories = { math = true, reasoning = true, coding = true }

-- core/lua/lua_plugin.c keeps a few stack slots per chat or item without
-- growing the Lua stack, so long lists are sent in small calls.
local GEN_CHUNK, JUDGE_CHUNK = 4, 3

-- The temperature of a category, with overrides (a table like
-- M.temperatures) winning.
function M.temperature(category, overrides, default)
  if overrides and overrides[category] ~= nil then return overrides[category] end
  local t = M.temperatures[category]
  if t ~= nil then return t end
  return default or M.default_temperature
end

-- The turns and reference answers of a row of ftsb.benchmark("mtbench"):
-- its chat is user turn 1, [assistant reference 1], user turn 2,
-- [assistant reference 2].
function M.turns(row)
  local turns, refs = {}, {}
  for _, m in ipairs(row.messages or {}) do
    if m.role == "user" then
      turns[#turns + 1] = m.content
    elseif m.role == "assistant" and #turns > 0 then
      refs[#turns] = m.content
    end
  end
  if #turns == 0 then turns[1] = row.instruction end
  return turns, refs
end

-- JSON text of a string (the grader reads the conversation as JSON).
local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r",
                    ["\t"] = "\\t", ["\b"] = "\\b", ["\f"] = "\\f" }
    return named[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function json_list(list, n)
  local out = {}
  for i = 1, n do out[i] = json_string(list[i]) end
  return "[" .. table.concat(out, ",") .. "]"
end

-- The grader's instruction for turn k: the conversation up to that turn,
-- as the mtbench_grader judge reads it (the answer to turn k is the
-- item's response).
function M.envelope(turns, answers, refs, k)
  local parts = { '{"mtbench":1,"turns":' .. json_list(turns, k),
                  '"answers":' .. json_list(answers, k - 1) }
  if refs and refs[1] then
    local n = refs[2] and k or 1
    parts[#parts + 1] = '"reference":' .. json_list(refs, math.min(n, k))
  end
  return table.concat(parts, ",") .. "}"
end

-- Mean, standard deviation and counts of a list of ratings.
local function summary(ratings, errors)
  local n, sum, ss = #ratings, 0, 0
  for _, x in ipairs(ratings) do sum = sum + x end
  local mean = n > 0 and sum / n or nil
  for _, x in ipairs(ratings) do ss = ss + (x - mean) ^ 2 end
  return { mean = mean, n = n, errors = errors,
           sd = n > 1 and math.sqrt(ss / (n - 1)) or nil }
end

local function generate_all(model, chats, params)
  local out = {}
  for i = 1, #chats, GEN_CHUNK do
    local part = {}
    for k = i, math.min(i + GEN_CHUNK - 1, #chats) do part[#part + 1] = chats[k] end
    for _, r in ipairs(model:generate(part, params)) do out[#out + 1] = r end
  end
  return out
end

local function judge_all(judge, items)
  local out = {}
  for i = 1, #items, JUDGE_CHUNK do
    local part = {}
    for k = i, math.min(i + JUDGE_CHUNK - 1, #items) do part[#part + 1] = items[k] end
    for _, v in ipairs(judge:judge(part)) do out[#out + 1] = v end
  end
  return out
end

-- Runs MT-Bench.  opts:
--   model          backend (required)
--   questions      dataset from ftsb.benchmark("mtbench", ...) (required)
--   judge          an mtbench_grader judge; without it, answers only
--   system         a system prompt for every chat (default: none)
--   template       a user template with {instruction} where each question
--                  goes (an attack's evaluation template; default: none)
--   max_new_tokens 1024 (MT-Bench's Llama setting; GPT-3.5 used 2048)
--   temperatures   per-category overrides; default_temperature (0.7)
--   seed           42; top_p, top_k: sampling filters (default off)
--   references     true (default): math, reasoning and coding questions
--                  are graded against their reference answers
--   name           a label for logs
-- Returns { rows = { {id, category, temperature, turns, answers = {a1,
-- a2}, states, ratings = {r1, r2}, errors = {e1, e2}, rationales} },
-- turn1 = {mean, sd, n, errors}, turn2 = ..., overall = ..., categories =
-- { [cat] = {turn1, turn2, overall} }, category_order = {...} }.
function M.run(opts)
  local model, questions = opts.model, opts.questions
  assert(model, "mtbench.run: 'model' (a backend) is required")
  assert(questions, "mtbench.run: 'questions' (ftsb.benchmark(\"mtbench\", ...)) is required")
  local name = opts.name or "mtbench"
  local rows = {}
  for i, row in questions:rows() do
    local turns, refs = M.turns(row)
    local use_refs = opts.references ~= false and M.reference_categories[row.category]
    rows[i] = { id = row.id, category = row.category, turns = turns,
                refs = use_refs and refs or {}, answers = {}, states = {},
                ratings = {}, errors = {}, rationales = {},
                temperature = M.temperature(row.category, opts.temperatures,
                                            opts.default_temperature) }
  end
  local function user(q)
    local t = opts.template
    if not t or t == "" or not t:find("{instruction}", 1, true) then return q end
    local at = t:find("{instruction}", 1, true)
    return t:sub(1, at - 1) .. q .. t:sub(at + #"{instruction}")
  end
  local function chat(r, k)
    local c = {}
    if opts.system and opts.system ~= "" then c[1] = { role = "system", content = opts.system } end
    c[#c + 1] = { role = "user", content = user(r.turns[1]) }
    if k == 2 then
      c[#c + 1] = { role = "assistant", content = r.answers[1] }
      c[#c + 1] = { role = "user", content = user(r.turns[2]) }
    end
    return c
  end
  -- Generation: per turn, per temperature, so each call has one setting.
  for k = 1, 2 do
    local groups, order = {}, {}
    for _, r in ipairs(rows) do
      if k == 1 or (r.turns[2] and r.states[1] == "ok") then
        if not groups[r.temperature] then
          groups[r.temperature] = {}
          order[#order + 1] = r.temperature
        end
        table.insert(groups[r.temperature], r)
      elseif k == 2 and r.turns[2] then
        r.states[2] = "skipped"
        r.errors[2] = "turn 1 has no answer, so turn 2 was not generated"
      end
    end
    table.sort(order)
    for _, t in ipairs(order) do
      local group, chats = groups[t], {}
      for i, r in ipairs(group) do chats[i] = chat(r, k) end
      ftsb.log(string.format("%s: turn %d, %d questions at temperature %g", name, k, #chats, t))
      local res = generate_all(model, chats, { max_new_tokens = opts.max_new_tokens or 1024,
        temperature = t, seed = opts.seed or 42, top_p = opts.top_p, top_k = opts.top_k })
      for i, r in ipairs(group) do
        r.states[k] = res[i].state
        if res[i].state == "ok" then
          r.answers[k] = res[i].text
        else
          r.errors[k] = res[i].error or ("the model's answer was " .. res[i].state)
        end
      end
    end
  end
  -- Grading.
  if opts.judge then
    local items, where = {}, {}
    for _, r in ipairs(rows) do
      for k = 1, #r.turns do
        if r.states[k] == "ok" then
          items[#items + 1] = { instruction = M.envelope(r.turns, r.answers, r.refs, k),
                                response = r.answers[k], category = r.category }
          where[#items] = { r, k }
        end
      end
    end
    for i, v in ipairs(judge_all(opts.judge, items)) do
      local r, k = where[i][1], where[i][2]
      if v.state == "ok" then
        r.ratings[k] = v.score
        r.rationales[k] = v.rationale
      else
        r.errors[k] = v.error
      end
    end
  end
  -- Means: turn 1, turn 2, overall (every rated turn), per category.
  local result = { rows = rows, categories = {}, category_order = {} }
  local function collect(filter)
    local t = { {}, {}, {} }
    local e = { 0, 0, 0 }
    for _, r in ipairs(rows) do
      if filter(r) then
        for k = 1, #r.turns do
          if r.ratings[k] then
            table.insert(t[k], r.ratings[k])
            table.insert(t[3], r.ratings[k])
          elseif opts.judge or r.states[k] ~= "ok" then
            e[k], e[3] = e[k] + 1, e[3] + 1
          end
        end
      end
    end
    return { turn1 = summary(t[1], e[1]), turn2 = summary(t[2], e[2]),
             overall = summary(t[3], e[3]) }
  end
  local all = collect(function() return true end)
  result.turn1, result.turn2, result.overall = all.turn1, all.turn2, all.overall
  for _, r in ipairs(rows) do
    if r.category and not result.categories[r.category] then
      result.category_order[#result.category_order + 1] = r.category
      result.categories[r.category] = collect(function(x) return x.category == r.category end)
    end
  end
  return result
end

-- "6.62 (n 80, 2 err)" for a summary; "n/a" when nothing was rated.
function M.cell(s)
  if not s or not s.mean then return "n/a" end
  local out = string.format("%.2f", s.mean)
  if s.errors > 0 then out = out .. string.format(" [%d err]", s.errors) end
  return out
end

-- Writes one JSON line per (question, turn): the answers and ratings, for
-- re-scoring elsewhere.  Returns the path.
function M.write_jsonl(result, path, label)
  local f = assert(io.open(path, "w"))
  for _, r in ipairs(result.rows) do
    for k = 1, #r.turns do
      local fields = { '"model":' .. json_string(label or ""),
        '"id":' .. json_string(r.id or ""), '"category":' .. json_string(r.category or ""),
        '"turn":' .. k, '"temperature":' .. string.format("%.17g", r.temperature),
        '"question":' .. json_string(r.turns[k]),
        '"state":' .. json_string(r.states[k] or "not generated"),
        '"answer":' .. (r.answers[k] and json_string(r.answers[k]) or "null"),
        '"rating":' .. (r.ratings[k] and string.format("%.17g", r.ratings[k]) or "null"),
        '"rationale":' .. (r.rationales[k] and json_string(r.rationales[k]) or "null"),
        '"error":' .. (r.errors[k] and json_string(r.errors[k]) or "null") }
      f:write("{" .. table.concat(fields, ",") .. "}\n")
    end
  end
  f:close()
  return path
end

return M
