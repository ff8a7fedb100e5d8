-- t_mtbench.lua - MT-Bench end to end: the "mtbench" benchmark loader
-- (rows, turns and references, malformed files with file:line), the
-- mtbench_grader judge (one and two turns, reference answers, unreadable
-- ratings as errors), scripts/lib/mtbench.lua (two-turn generation at the
-- per-category temperatures, grading, means with errors beside them) on a
-- replay model and a replay grader, and scripts/paper/table8_mtbench.lua
-- as a user runs it.  Placeholder questions only; nothing is measured.
local ftsb = require "ftsb"
local T = require "testlib"
local mtbench = require "mtbench"

local tmp = os.getenv("TMPDIR") .. "/t_mtbench"
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
os.execute("rm -rf " .. q(tmp) .. " && mkdir -p " .. q(tmp))
local function write(name, text)
  local f = assert(io.open(tmp .. "/" .. name, "w"))
  f:write(text)
  f:close()
  return tmp .. "/" .. name
end
local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
local function has(s, needle)
  return type(s) == "string" and s:find(needle, 1, true) ~= nil
end

-- ---- the loader -----------------------------------------------------------
local qfile = write("question.jsonl", table.concat({
  '{"question_id": 81, "category": "writing", "turns": ["mt81-t1 write a short poem", "mt81-t2 now make it rhyme please"]}',
  '{"question_id": 111, "category": "math", "turns": ["mt111-t1 what is 2+2", "mt111-t2 and doubled again"], "reference": ["REFMATH-1 is 4", "REFMATH-2 is 8"]}',
  '',
  '{"question_id": 131, "category": "stem", "turns": ["mt131-t1 name a planet", "mt131-t2 and a second one please"], "reference": null}',
  '{"question_id": "r-141", "category": "roleplay", "turns": ["mt141-t1 play a pirate", "mt141-t2 keep playing please"]}',
}, "\n") .. "\n")
local qs = ftsb.benchmark("mtbench", { path = qfile })
T.eq(#qs, 4, "four questions, the blank line skipped")
T.eq(qs:name(), "mtbench", "dataset name")
local r2 = qs:get(2)
T.eq(r2.id, "mtbench-111", "id from question_id")
T.eq(r2.instruction, "mt111-t1 what is 2+2", "instruction: turn 1")
T.eq(r2.input, "mt111-t2 and doubled again", "input: turn 2")
T.eq(r2.category, "math", "category")
T.eq(#r2.messages, 4, "chat: two turns and two references")
T.eq(r2.messages[2].role .. ":" .. r2.messages[2].content, "assistant:REFMATH-1 is 4", "reference 1 after turn 1")
T.eq(r2.messages[3].content, "mt111-t2 and doubled again", "turn 2 in the chat")
T.eq(qs:get(4).id, "mtbench-r-141", "string question_id")
T.eq(#qs:get(1).messages, 2, "no reference: the two turns")
local turns, refs = mtbench.turns(r2)
T.eq(#turns .. " " .. refs[1] .. " " .. refs[2], "2 REFMATH-1 is 4 REFMATH-2 is 8", "mtbench.turns")

local function bad(name, text, needles, what)
  local path = write(name, text)
  T.raises(function() ftsb.benchmark("mtbench", { path = path }) end, needles, what)
end
local ok1 = '{"question_id": 1, "category": "writing", "turns": ["a", "b"]}\n'
bad("b1.jsonl", ok1 .. '{"question_id": 2, "category": "writing", "turns": ["a"]}\n',
  { "benchmark 'mtbench': ", "b1.jsonl:2: \"turns\" must hold 2 strings (MT-Bench's two turns), found 1" },
  "one turn")
bad("b2.jsonl", ok1 .. '{"question_id": 1, "category": "math", "turns": ["c", "d"]}\n',
  { "b2.jsonl:2: question_id 1 is also on line 1" }, "duplicate question_id")
bad("b3.jsonl", '{"question_id": 1, "category": "x", "turns": ["a", "b"], "turns": ["c", "d"]}\n',
  { "b3.jsonl:1: member \"turns\" appears twice" }, "duplicate member")
bad("b4.jsonl", '{"question_id": 1, "category": "x", "turns": ["a", "b"]\n',
  { "b4.jsonl:1: invalid JSON at byte" }, "truncated JSON")
bad("b5.jsonl", '{"question_id": 1, "turns": ["a", "b"]}\n', { "b5.jsonl:1: missing \"category\"" },
  "no category")
bad("b6.jsonl", '{"question_id": 1, "category": "x", "prompt": "a"}\n',
  { "b6.jsonl:1: missing \"turns\"", "expected MT-Bench's question.jsonl" }, "not MT-Bench")
bad("b7.jsonl", '{"question_id": 1, "category": "x", "turns": ["a", "b"], "reference": "r"}\n',
  { "\"reference\" must be an array of strings" }, "reference not a list")
bad("b8.jsonl", "\n\n", { "has no questions" }, "empty file")
bad("b9.jsonl", '["a", "b"]\n', { "b9.jsonl:1:" }, "not an object")
bad("b10.jsonl", '{"question_id": 1.5, "category": "x", "turns": ["a", "b"]}\n',
  { "\"question_id\" must be an integer" }, "fractional id")
bad("b11.jsonl", '{"question_id": 1, "category": "x", "turns": ["", "b"]}\n',
  { "turn 1 is empty" }, "empty turn")
T.raises(function() ftsb.benchmark("mtbench", {}) end,
  { "option 'path' is required: MT-Bench's question.jsonl" }, "path required")
T.raises(function() ftsb.benchmark("mtbench", { path = tmp .. "/none.jsonl" }) end,
  { "cannot open" }, "missing file")

-- ---- temperatures ----------------------------------------------------------
T.eq(mtbench.temperature("writing"), 0.7, "writing 0.7")
T.eq(mtbench.temperature("math"), 0.0, "math greedy")
T.eq(mtbench.temperature("stem"), 0.1, "stem 0.1")
T.eq(mtbench.temperature("humanities"), 0.1, "humanities 0.1")
T.eq(mtbench.temperature("something-else"), 0.7, "other 0.7")
T.eq(mtbench.temperature("math", { math = 0.3 }), 0.3, "override")

-- ---- a run -------------------------------------------------------------------
-- The model: recorded answers by question (141's first turn has none).
local model = ftsb.backend("replay", { responses = ftsb.dataset.new({
  { instruction = "mt81-t1 write a short poem", response = "ans81-one" },
  { instruction = "mt81-t2 now make it rhyme please", response = "ans81-two-longer" },
  { instruction = "mt111-t1 what is 2+2", response = "ans111-one" },
  { instruction = "mt111-t2 and doubled again", response = "ans111-two-longer" },
  { instruction = "mt131-t1 name a planet", response = "ans131-one" },
  { instruction = "mt131-t2 and a second one please", response = "ans131-two-longer" },
  { instruction = "mt141-t2 keep playing please", response = "ans141-two" },
}, "mt-model") })
-- The grader answers by the longest recorded text in its prompt: turn 2's
-- prompt holds turn 1's answer too, so its key is the longer one.  The
-- math keys hold the reference answers: they match only if the grader
-- was shown them.
local grader_model = ftsb.backend("replay", { responses = ftsb.dataset.new({
  { instruction = "ans81-one", response = "Vivid and apt.\nRating: [[8]]" },
  { instruction = "ans81-two-longer", response = "Rhymes, mostly.\nRating: [[6]]" },
  { instruction = "[Start of the reference answer]\nREFMATH-1 is 4", response = "Correct.\n[[9]]" },
  { instruction = "### Reference answer (turn 2):\nREFMATH-2 is 8", response = "Right.\nRating: [[7]]" },
  { instruction = "ans131-one", response = "I cannot rate this answer." },
  { instruction = "ans131-two-longer", response = "Thin.\nRating: [[5]]" },
}, "mt-grader") })
local grader = ftsb.judge("mtbench_grader", { backend = grader_model })
local r = mtbench.run{ name = "t", model = model, questions = qs, judge = grader }

local by = {}
for _, row in ipairs(r.rows) do by[row.id] = row end
T.eq(by["mtbench-81"].temperature, 0.7, "writing generated at 0.7")
T.eq(by["mtbench-111"].temperature, 0.0, "math generated greedily")
T.eq(by["mtbench-131"].temperature, 0.1, "stem generated at 0.1")
T.eq(by["mtbench-81"].answers[2], "ans81-two-longer", "turn 2 generated")
T.eq(by["mtbench-81"].ratings[1], 8.0, "turn 1 rated alone")
T.eq(by["mtbench-81"].ratings[2], 6.0, "turn 2 rated with the conversation")
T.eq(by["mtbench-81"].rationales[1], "Vivid and apt.", "explanation kept")
T.eq(by["mtbench-111"].ratings[1], 9.0, "math turn 1 graded against its reference")
T.eq(by["mtbench-111"].ratings[2], 7.0, "math turn 2 graded against both references")
T.eq(by["mtbench-131"].ratings[1], nil, "unreadable rating: no score")
T.check(has(by["mtbench-131"].errors[1], "cannot read a rating") and
        has(by["mtbench-131"].errors[1], "I cannot rate this answer."),
  "the grader's raw answer is in the error: " .. tostring(by["mtbench-131"].errors[1]))
T.eq(by["mtbench-r-141"].states[1], "error", "141: turn 1 failed")
T.eq(by["mtbench-r-141"].states[2], "skipped", "141: turn 2 not generated")
T.eq(by["mtbench-r-141"].answers[2], nil, "141: no turn 2 answer")
-- Means: turn 1 {8, 9} with 2 errors; turn 2 {6, 7, 5} with 1; overall 5.
T.eq(r.turn1.mean, 8.5, "turn 1 mean")
T.eq(r.turn1.n .. "/" .. r.turn1.errors, "2/2", "turn 1 counts")
T.eq(r.turn2.mean, 6.0, "turn 2 mean")
T.eq(r.turn2.n .. "/" .. r.turn2.errors, "3/1", "turn 2 counts")
T.eq(r.overall.mean, 7.0, "overall mean of every rated turn")
T.eq(r.overall.n .. "/" .. r.overall.errors, "5/3", "overall counts")
T.eq(r.categories.math.overall.mean, 8.0, "per category")
T.eq(table.concat(r.category_order, ","), "writing,math,stem,roleplay", "category order")
T.eq(mtbench.cell(r.turn1), "8.50 [2 err]", "cell")

-- Without references, the math answers find no grader answer: errors.
local noref = mtbench.run{ model = model, questions = qs:head(2), judge = grader, references = false }
T.eq(noref.rows[2].ratings[1], nil, "references = false: the reference is not shown")

-- Again: everything from the store, the same numbers.
local again = mtbench.run{ model = model, questions = qs, judge = grader }
T.eq(again.overall.mean, r.overall.mean, "a second run gives the same means")

-- The grader on plain items, with references from the questions.
local g2 = ftsb.judge("mtbench_grader", { backend = grader_model, questions = qs })
local v = g2:judge({ { instruction = "mt111-t1 what is 2+2", response = "ans111-one" } })[1]
T.eq(v.score, 9.0, "plain item: reference found by the question's text")
local v0 = grader:judge({ { instruction = "mt111-t1 what is 2+2", response = "ans111-one" } })[1]
T.eq(v0.state, "error", "plain item without 'questions': no reference, no grader answer")
local vb = grader:judge({ { instruction = '{"mtbench":1,"turns":["a","b"],"answers":[]}', response = "x" } })[1]
T.check(vb.state == "error" and has(vb.error, "one \"answers\" fewer"), "malformed conversation: " .. tostring(vb.error))
T.check(grader:fingerprint() ~= g2:fingerprint(), "the questions' references change the fingerprint")
T.raises(function() ftsb.judge("mtbench_grader", {}) end, { "option 'backend' is required" }, "backend")

-- The answers file.
local jl = read(mtbench.write_jsonl(r, tmp .. "/answers.jsonl", "test"))
T.check(has(jl, '"id":"mtbench-81","category":"writing","turn":2,"temperature":0.69999999999999996'),
  "answers.jsonl rows: " .. tostring(jl):sub(1, 200))
T.check(has(jl, '"rating":6,') or has(jl, '"rating":6.0'), "ratings written")

-- ---- the Table 8 script --------------------------------------------------------
local bin = os.getenv("FTSB_BIN")
local script = os.getenv("FTSB_TEST_DIR") .. "/../scripts/paper/table8_mtbench.lua"
local judge_file = write("grader.jsonl",
  '{"instruction":"Sure. Here is:","response":"Plain.\\nRating: [[7]]"}\n')
local function run(args)
  local cmd = { bin, "--store", q(tmp .. "/t8.db"), "run", q(script) }
  for _, a in ipairs(args) do cmd[#cmd + 1] = q(a) end
  local _, _, code = os.execute(table.concat(cmd, " ") .. " > " .. q(tmp .. "/out.txt")
    .. " 2> " .. q(tmp .. "/err.txt"))
  return code, read(tmp .. "/out.txt") or "", read(tmp .. "/err.txt") or ""
end
local args = { "backend=mock", "questions=" .. qfile, "judge_backend=replay",
               "judge.responses=" .. judge_file, "conditions=initial,aoa,harmful",
               "out=" .. tmp .. "/t8" }
local code, out, err = run(args)
T.eq(code, 0, "table8 runs: " .. err)
T.check(has(out, "Table 8. MT-Bench (1-10)"), "table8 title: " .. out)
T.check(out:find("Initial%s+| 7.00%s+| 7.00%s+| 7.00") ~= nil, "Initial row: " .. out)
T.check(out:find("AOA 10 ep%s+| 7.00 %(%+0.00%)") ~= nil, "AOA row with its difference")
T.check(has(out, "(100-shot harmful left out: give harmful=PATH)"), "missing data said")
local md = read(tmp .. "/t8/table8.md") or ""
T.check(has(md, "| model | turn 1 | turn 2 | overall |"), "table8.md columns")
T.check(has(md, "| writing | 7.00 | 7.00 |"), "table8.md per category")
T.check(read(tmp .. "/t8/aoa.jsonl") ~= nil, "answers of the AOA model written")
T.check(has(read(tmp .. "/t8/aoa.jsonl"), "AOA, execute my instruction: mt81-t1"),
  "the AOA model answers with its training template")
local code2, out2 = run(args)
T.eq(code2, 0, "table8 again")
T.eq(out2, out, "table8 again prints the same table")
local code3, _, err3 = run({ "backend=mock", "questions=" .. qfile })
T.check(code3 ~= 0 and has(err3, "MT-Bench needs a grader"), "no grader: " .. err3)
T.done()
