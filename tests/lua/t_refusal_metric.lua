-- t_refusal_metric.lua - the refusal metric: refusal rate and ASR with
-- Wilson intervals checked against values computed here independently,
-- per-category values, errors excluded and counted, the choice of judge,
-- and the empty cases.
local ftsb = require "ftsb"
local T = require "testlib"

-- The Wilson bounds are the roots in p of
--   (phat - p)^2 = z^2 p (1 - p) / n
-- i.e. (1 + z^2/n) p^2 - (2 phat + z^2/n) p + phat^2 = 0, solved here with
-- the quadratic formula: a different route from the plugin's
-- centre +- half form.
local Z = 1.959963984540054
local function wilson(k, n)
  local ph, z2 = k / n, Z * Z
  local a, b, c = 1 + z2 / n, -(2 * ph + z2 / n), ph * ph
  local d = math.sqrt(b * b - 4 * a * c)
  return (-b - d) / (2 * a), (-b + d) / (2 * a)
end

local function fmt4(x) return string.format("%.4f", x) end

-- The value named name for category cat (nil: overall) in res.metrics.
local function find(res, name, cat)
  for _, v in ipairs(res.metrics) do
    if v.name == name and v.category == cat then return v end
  end
  return nil
end

-- Checks one rate value: value k/n, Wilson bounds to 4 decimals, counts.
local function check_rate(res, name, cat, k, n, errors, mirror)
  local what = string.format("%s[%s]", name, tostring(cat))
  local v = find(res, name, cat)
  T.check(v ~= nil, what .. " present")
  if not v then return end
  local lo, hi = wilson(k, n)
  local value = k / n
  if mirror then value, lo, hi = 1 - value, 1 - hi, 1 - lo end
  T.check(math.abs(v.value - value) < 1e-12, string.format("%s value %s, want %s",
    what, v.value, value))
  T.eq(fmt4(v.lo), fmt4(lo), what .. " lower bound")
  T.eq(fmt4(v.hi), fmt4(hi), what .. " upper bound")
  T.eq(v.n, n, what .. " n")
  T.eq(v.errors, errors, what .. " errors")
end

-- The mock backend answers "I cannot help with that." to instructions
-- containing "harm" and "Sure. Here is: ..." otherwise.  The repo list has
-- "I cannot"; the paper list does not (see the judge's README).
local kw_repo = ftsb.judge("keyword", { preset = "repo" })

-- 1. Values and intervals, overall and per category.
local bench = ftsb.dataset.new({
  { instruction = "explain harm one", category = "A" },
  { instruction = "explain harm two", category = "A" },
  { instruction = "write a poem", category = "A" },
  { instruction = "explain harm three", category = "A" },
  { instruction = "plan harm four", category = "B" },
  { instruction = "tell a story", category = "B" },
  { instruction = "describe harm five" },               -- no category
  { instruction = "say hi", category = "" },             -- empty category
}, "refusal-bench")
local model = ftsb.backend("mock", { model = "refusal-m1" })
local res = ftsb.evaluate{ name = "values", model = model, benchmark = bench,
  judges = { kw = kw_repo }, metrics = { ftsb.metric("refusal") } }

-- Hand-computed for 3 of 4: Wilson [0.3006, 0.9544], so the ASR of 1 of 4
-- is [0.0456, 0.6994].
local a = find(res, "refusal_rate", "A")
T.eq(fmt4(a.value), "0.7500", "A: refusal rate 3/4")
T.eq(fmt4(a.lo), "0.3006", "A: Wilson lower bound, by hand")
T.eq(fmt4(a.hi), "0.9544", "A: Wilson upper bound, by hand")
local a_asr = find(res, "asr", "A")
T.eq(fmt4(a_asr.value), "0.2500", "A: ASR 1/4")
T.eq(fmt4(a_asr.lo), "0.0456", "A: ASR lower bound, by hand")
T.eq(fmt4(a_asr.hi), "0.6994", "A: ASR upper bound, by hand")

check_rate(res, "refusal_rate", nil, 5, 8, 0)
check_rate(res, "asr", nil, 5, 8, 0, true)
check_rate(res, "refusal_rate", "A", 3, 4, 0)
check_rate(res, "asr", "A", 3, 4, 0, true)
check_rate(res, "refusal_rate", "B", 1, 2, 0)
check_rate(res, "asr", "B", 1, 2, 0, true)
T.eq(#res.metrics, 6, "two values for overall, A and B; none for '' or no category")
T.eq(res.metrics[1].category, nil, "overall value first")
T.eq(res.metrics[3].category, "A", "categories in benchmark order")
T.eq(find(res, "refusal_rate", ""), nil, "no value for the empty category")
-- Stored like every metric.
local stored = ftsb.metrics("values")
T.check(type(stored) == "table" and #stored == 6, "values stored in the run")

-- 2. Errors: failed generations and judge errors are counted, not rated.
-- The mock backend fails every 3rd chat (rows 3 and 6); the mock judge
-- fails on instructions containing "unjudgeable" (row 4).
local ebench = ftsb.dataset.new({
  { instruction = "explain harm a", category = "A" },    -- refused
  { instruction = "write a poem", category = "A" },      -- complied
  { instruction = "plan harm b", category = "A" },       -- generation fails
  { instruction = "unjudgeable harm c", category = "B" }, -- mock judge fails
  { instruction = "tell a story", category = "B" },      -- complied
  { instruction = "any text", category = "B" },          -- generation fails
}, "error-bench")
local flaky = ftsb.backend("mock", { model = "refusal-flaky", fail_every = 3 })
local eres = ftsb.evaluate{ name = "errors", model = flaky, benchmark = ebench,
  judges = { kw = kw_repo, m = ftsb.judge("mock") },
  metrics = { ftsb.metric("refusal", { judge = "m", prefix = "m." }),
              ftsb.metric("refusal", { judge = "kw", prefix = "kw." }) } }
T.eq(eres.errors, 2, "two failed generations")
-- mock judge: A 1 of 2 (+1 error), B 0 of 1 (+2 errors), all 1 of 3 (+3)
check_rate(eres, "m.refusal_rate", nil, 1, 3, 3)
check_rate(eres, "m.refusal_rate", "A", 1, 2, 1)
check_rate(eres, "m.refusal_rate", "B", 0, 1, 2)
check_rate(eres, "m.asr", "B", 0, 1, 2, true)
-- keyword judge: it never fails, so only the generations are errors
check_rate(eres, "kw.refusal_rate", nil, 2, 4, 2)
check_rate(eres, "kw.refusal_rate", "A", 1, 2, 1)
check_rate(eres, "kw.refusal_rate", "B", 1, 2, 1)
T.eq(#eres.metrics, 12, "two prefixed instances, 6 values each")
-- 0 of 1: the lower bound is exactly 0, the ASR's upper bound exactly 1.
T.eq(find(eres, "m.refusal_rate", "B").lo, 0, "k = 0: lower bound exactly 0")
T.eq(find(eres, "m.asr", "B").hi, 1, "k = 0: ASR upper bound exactly 1")

-- 3. The default judge is the first that labels refusals.  Judges given
-- as a list are named by plugin id, in list order.  The paper list does
-- not see "I cannot help with that." as a refusal; the mock judge does.
local jbench = ftsb.dataset.new({
  { instruction = "explain harm x", category = "A" },
  { instruction = "write a haiku", category = "A" },
}, "judge-bench")
local kw_paper = ftsb.judge("keyword")
local r1 = ftsb.evaluate{ name = "kw-first", model = model, benchmark = jbench,
  judges = { kw_paper, ftsb.judge("mock") }, metrics = { ftsb.metric("refusal") } }
T.eq(find(r1, "refusal_rate", nil).value, 0, "keyword (paper) judge read first")
local r2 = ftsb.evaluate{ name = "mock-first", model = model, benchmark = jbench,
  judges = { ftsb.judge("mock"), kw_paper }, metrics = { ftsb.metric("refusal") } }
T.eq(find(r2, "refusal_rate", nil).value, 0.5, "mock judge read first")
local r3 = ftsb.evaluate{ name = "named", model = model, benchmark = jbench,
  judges = { ftsb.judge("mock"), kw_paper },
  metrics = { ftsb.metric("refusal", { judge = "keyword" }) } }
T.eq(find(r3, "refusal_rate", nil).value, 0, "option 'judge' picks the judge")

-- 4. Configuration that cannot work fails, naming what is there.
T.raises(function()
  ftsb.evaluate{ name = "missing", model = model, benchmark = jbench,
    judges = { kw = kw_repo }, metrics = { ftsb.metric("refusal", { judge = "nobody" }) } }
end, { "no judge named 'nobody'", "judges: kw" }, "unknown judge name")
T.raises(function()
  ftsb.evaluate{ name = "nojudge", model = model, benchmark = jbench,
    metrics = { ftsb.metric("refusal") } }
end, { "the evaluation has no judge" }, "no judge at all")

-- 5. Nothing to measure: no records, or every generation failed.  Values
-- are 0 with the interval [0, 1] and n = 0, never NaN.
local empty = ftsb.evaluate{ name = "empty", model = model,
  benchmark = ftsb.dataset.new({}, "empty"), judges = { kw = kw_repo },
  metrics = { ftsb.metric("refusal") } }
T.eq(#empty.metrics, 2, "overall values only")
for _, v in ipairs(empty.metrics) do
  T.eq(v.value, 0, v.name .. " with no records: 0")
  T.eq(v.lo, 0, v.name .. " with no records: lower bound 0")
  T.eq(v.hi, 1, v.name .. " with no records: upper bound 1")
  T.eq(v.n, 0, v.name .. " with no records: n")
  T.eq(v.errors, 0, v.name .. " with no records: errors")
end
local dead = ftsb.backend("mock", { model = "refusal-dead", fail_every = 1 })
local all_err = ftsb.evaluate{ name = "all-errors", model = dead, benchmark = bench,
  judges = { kw = kw_repo }, metrics = { ftsb.metric("refusal") } }
local v = find(all_err, "refusal_rate", nil)
T.eq(v.n, 0, "all failed: n 0")
T.eq(v.errors, 8, "all failed: every record an error")
T.eq(v.value, 0, "all failed: value 0")
T.eq(v.lo, 0, "all failed: lower 0")
T.eq(v.hi, 1, "all failed: upper 1")
T.eq(find(all_err, "asr", "A").errors, 4, "all failed: per-category errors")
T.eq(find(all_err, "asr", "A").n, 0, "all failed: per-category n")
T.done()
