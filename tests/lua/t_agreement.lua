-- t_agreement.lua - the agreement metric on one evaluation with three
-- judges (keyword, mock, and a rubric judge served by the replay backend)
-- and a file of human labels; every kappa and rho below is worked out by
-- hand in the comments.  Also: errors, undefined values, option checks.
local ftsb = require "ftsb"
local T = require "testlib"

local tmp = os.getenv("TMPDIR") .. "/t_agreement"
os.execute("rm -rf '" .. tmp .. "' && mkdir -p '" .. tmp .. "'")
local function write(name, text)
  local f = assert(io.open(tmp .. "/" .. name, "w"))
  f:write(text)
  f:close()
  return tmp .. "/" .. name
end

-- Six recorded answers (and a seventh row without one: a generation error).
local answers = {
  { "req-1", "I cannot help.", "A", 1 },
  { "req-2", "Sure, here.", "A", 4 },
  { "req-3", "Hello! Here is the poem.", "A", 5 },
  { "req-4", "As an assistant, here is the text.", "B", 2 },
  { "req-5", "Fine: the text.", "B", 3 },
  { "req-6", "I cannot do that, sorry", "B", 1 },
}
local rec, bench, judge_rows = {}, {}, {}
for i, a in ipairs(answers) do
  rec[i] = { instruction = a[1], response = a[2] }
  bench[i] = { id = "r" .. i, instruction = a[1], category = a[3] }
  judge_rows[i] = { instruction = a[2], response = "#thereason: r\n#thescore: " .. a[4] }
end
bench[7] = { id = "r7", instruction = "req-unrecorded", category = "B" }
local bench_ds = ftsb.dataset.new(bench, "agree-bench")
local model = ftsb.backend("replay", { responses = ftsb.dataset.new(rec, "agree-answers") })
local gpt4 = ftsb.judge("rubric", { backend = ftsb.backend("replay",
  { responses = ftsb.dataset.new(judge_rows, "agree-judge") }) })

-- Human labels: r1..r4 by id, r5 by instruction, r6 unlabelled.
local human = write("human.jsonl", table.concat({
  '{"id":"r1","label":true,"score":1}',
  '{"id":"r2","label":false,"score":4}',
  '',
  '{"id":"r3","label":false,"score":4}',
  '{"id":"r4","label":0,"score":2}',
  '{"instruction":"req-5","label":false,"score":3}',
  '{"id":"r99","label":true}',
}, "\n") .. "\n")

local res = ftsb.evaluate{ name = "agree", model = model, benchmark = bench_ds,
  judges = { kw = ftsb.judge("keyword", { preset = "repo" }), m = ftsb.judge("mock"), gpt4 = gpt4 },
  metrics = { ftsb.metric("agreement", { a = "kw", b = "m", prefix = "kw~m." }),
              ftsb.metric("agreement", { a = "m", b = "gpt4", prefix = "m~gpt4." }),
              ftsb.metric("agreement", { a = "kw", human = human, benchmark = bench_ds,
                                         prefix = "kw~human." }),
              ftsb.metric("agreement", { a = "gpt4", human = human, benchmark = bench_ds,
                                         threshold = 4, prefix = "gpt4~human." }) } }

local function find(name, cat)
  for _, m in ipairs(res.metrics) do
    if m.name == name and m.category == cat then return m end
  end
end
local function near(a, b) return a and math.abs(a - b) < 1e-9 end
local function check(name, cat, value, n, errors)
  local m = find(name, cat)
  local what = string.format("%s[%s]", name, tostring(cat))
  T.check(m ~= nil, what .. " present")
  if not m then return end
  T.check(near(m.value, value), string.format("%s = %.12g, want %.12g", what, m.value, value))
  T.eq(m.n, n, what .. " n")
  T.eq(m.errors, errors, what .. " errors")
  return m
end

-- keyword vs mock labels: (1,1) (0,0) (1,0) (1,0) (0,0) (1,1).
-- p_o = 4/6, p_e = 4/6*2/6 + 2/6*4/6 = 4/9: kappa = (2/9)/(5/9) = 0.4;
-- se = sqrt((2/3)(1/3) / (6 (5/9)^2)) = sqrt(0.12).
local k = check("kw~m.kappa", nil, 0.4, 6, 1)
T.check(k and near(k.lo, 0.4 - 1.959963984540054 * math.sqrt(0.12)), "kappa lower bound")
T.check(k and near(k.hi, 1), "kappa upper bound clamped to 1")
check("kw~m.kappa", "A", 0.4, 3, 0)          -- (1,1) (0,0) (1,0): the same shares
check("kw~m.kappa", "B", 0.4, 3, 1)          -- (1,0) (0,0) (1,1), and row 7's error
T.eq(find("kw~m.spearman", nil), nil, "the keyword judge gives no scores: no score values")

-- mock vs rubric scores: (1,1) (5,4) (5,5) (5,2) (5,3) (1,1).
-- whole scores: p_o = 3/6; p_e = (2/6)(2/6) + (4/6)(1/6) = 2/9: 5/14.
check("m~gpt4.score_kappa", nil, 5 / 14, 6, 1)
-- at >= 3: (0,0) (1,1) (1,1) (1,0) (1,1) (0,0): p_o 5/6, p_e 1/2: 2/3.
check("m~gpt4.binary_kappa", nil, 2 / 3, 6, 1)
-- ranks (1.5,4.5,4.5,4.5,4.5,1.5) and (1.5,5,6,3,4,1.5): 12/sqrt(12*17).
check("m~gpt4.spearman", nil, 12 / math.sqrt(204), 6, 1)
-- labels too: mock refused (1,0,0,0,0,1), rubric score 1 = refused: same.
check("m~gpt4.kappa", nil, 1, 6, 1)
-- category A: mock (1,5,5), rubric (1,4,5): spearman of (1,2.5,2.5) and
-- (1,2,3) = 1.5/sqrt(1.5*2); whole-score kappa: p_o 2/3, p_e 1/9 + 2/9.
check("m~gpt4.spearman", "A", 1.5 / math.sqrt(3), 3, 0)
check("m~gpt4.score_kappa", "A", (2 / 3 - 1 / 3) / (1 - 1 / 3), 3, 0)

-- keyword vs human labels, r1..r5 (r6 unlabelled, r7 an error):
-- (1,1) (0,0) (1,0) (1,0) (0,0): p_o 3/5, p_e 3/25 + 8/25: 4/14.
check("kw~human.kappa", nil, 4 / 14, 5, 1)
-- rubric vs human scores (1,1) (4,4) (5,4) (2,2) (3,3), threshold 4:
-- binary (0,0) (1,1) (1,1) (0,0) (0,0): kappa 1.  Whole scores: p_o 4/5;
-- counts per score (rubric, human): 1 (1,1), 2 (1,1), 3 (1,1), 4 (1,2),
-- 5 (1,0), so p_e = (1 + 1 + 1 + 2 + 0)/25 = 1/5: (4/5 - 1/5)/(4/5).
check("gpt4~human.binary_kappa", nil, 1, 5, 1)
check("gpt4~human.score_kappa", nil, 0.75, 5, 1)

-- Undefined values are reported as measured on nothing (n = 0): with one
-- record both raters use one label each, chance agreement is 1, and
-- kappa has no value.
local one = ftsb.evaluate{ name = "agree-one", model = model, benchmark = bench_ds:head(1),
  judges = { kw = ftsb.judge("keyword", { preset = "repo" }), m = ftsb.judge("mock") },
  metrics = { ftsb.metric("agreement", { a = "kw", b = "m" }) } }
T.eq(one.metrics[1].name, "kappa", "one record: kappa reported")
T.eq(one.metrics[1].n, 0, "one record: chance agreement 1, so n = 0 (n/a)")
T.eq(one.metrics[1].lo, -1, "undefined: interval [-1, 1]")

-- Errors.
T.raises(function() ftsb.metric("agreement", { a = "kw" }) end,
  { "give either option 'b'", "not neither" }, "no second rater")
T.raises(function() ftsb.metric("agreement", { a = "kw", b = "m", human = human }) end,
  { "not both" }, "two second raters")
T.raises(function() ftsb.metric("agreement", { a = "kw", human = human }) end,
  { "option 'human' needs option 'benchmark'" }, "human without benchmark")
T.raises(function() ftsb.metric("agreement", { a = "kw", b = "kw" }) end,
  { "must name another judge" }, "same judge twice")
local bad = write("bad.jsonl", '{"id":"r1","label":true}\n{"id":"r2"}\n')
T.raises(function() ftsb.metric("agreement", { a = "kw", human = bad, benchmark = bench_ds }) end,
  { "bad.jsonl:2: needs \"label\" or \"score\"" }, "label file: file:line")
local dup = write("dup.jsonl", '{"id":"r1","label":true}\n\n{"id":"r1","score":2}\n')
T.raises(function() ftsb.metric("agreement", { a = "kw", human = dup, benchmark = bench_ds }) end,
  { "dup.jsonl:3: the same \"id\" is labelled twice" }, "label file: duplicate")
local notjson = write("notjson.jsonl", '{"id":"r1","label":true}\n{"id": \n')
T.raises(function() ftsb.metric("agreement", { a = "kw", human = notjson, benchmark = bench_ds }) end,
  { "notjson.jsonl:2: invalid JSON" }, "label file: invalid JSON")
T.raises(function() ftsb.metric("agreement", { a = "kw", human = tmp .. "/none.jsonl", benchmark = bench_ds }) end,
  { "cannot read the human labels" }, "label file missing")
T.raises(function()
  ftsb.evaluate{ name = "agree", model = model, benchmark = bench_ds,
    judges = { kw = ftsb.judge("keyword", { preset = "repo" }), m = ftsb.judge("mock"), gpt4 = gpt4 },
    metrics = { ftsb.metric("agreement", { a = "kw", b = "llm" }) } }
end, { "no judge named 'llm'", "judges: gpt4, kw, m" }, "unknown judge")
T.raises(function()
  ftsb.evaluate{ name = "agree", model = model, benchmark = bench_ds,
    judges = { kw = ftsb.judge("keyword", { preset = "repo" }), m = ftsb.judge("mock"), gpt4 = gpt4 },
    metrics = { ftsb.metric("agreement", { a = "kw", human = human, benchmark = bench_ds:head(3) }) } }
end, { "the evaluation has 7 records but the benchmark", "has 3 rows" }, "benchmark mismatch")
T.done()
