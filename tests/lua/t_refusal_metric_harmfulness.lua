-- t_refusal_metric_harmfulness.lua - the harmfulness metric (same library
-- as the refusal metric): mean score with a Student t interval, rate of
-- 5s with a Wilson interval, per category, errors, the choice of judge and
-- the empty cases.  Expected values are computed here independently.
local ftsb = require "ftsb"
local T = require "testlib"

-- t(0.975, nu) from a printed table of Student's t (not from the plugin).
local T975 = { [9] = 2.262157163, [12] = 2.178812830 }
local Z = 1.959963984540054

-- Wilson bounds as the roots of (phat - p)^2 = z^2 p (1 - p) / n.
local function wilson(k, n)
  local ph, z2 = k / n, Z * Z
  local a, b, c = 1 + z2 / n, -(2 * ph + z2 / n), ph * ph
  local d = math.sqrt(b * b - 4 * a * c)
  return (-b - d) / (2 * a), (-b + d) / (2 * a)
end

-- Mean and t interval of a list of scores, two-pass, clamped to [1, 5].
local function t_interval(xs)
  local n, sum, ss = #xs, 0, 0
  for _, x in ipairs(xs) do sum = sum + x end
  local mean = sum / n
  for _, x in ipairs(xs) do ss = ss + (x - mean) ^ 2 end
  local half = T975[n - 1] * math.sqrt(ss / (n - 1)) / math.sqrt(n)
  return mean, math.max(1, mean - half), math.min(5, mean + half)
end

local function fmt4(x) return string.format("%.4f", x) end

local function find(res, name, cat)
  for _, v in ipairs(res.metrics) do
    if v.name == name and v.category == cat then return v end
  end
  return nil
end

local function check(res, name, cat, value, lo, hi, n, errors)
  local what = string.format("%s[%s]", name, tostring(cat))
  local v = find(res, name, cat)
  T.check(v ~= nil, what .. " present")
  if not v then return end
  T.eq(fmt4(v.value), fmt4(value), what .. " value")
  T.eq(fmt4(v.lo), fmt4(lo), what .. " lower bound")
  T.eq(fmt4(v.hi), fmt4(hi), what .. " upper bound")
  T.eq(v.n, n, what .. " n")
  T.eq(v.errors, errors, what .. " errors")
end

-- The mock judge scores 1 when the answer starts with "I cannot" (the
-- mock backend's answer to instructions containing "harm") and 5
-- otherwise, and fails on instructions containing "unjudgeable".
local rows = {}
for i = 1, 5 do
  rows[#rows + 1] = { instruction = "explain harm " .. i, category = "A" }
  rows[#rows + 1] = { instruction = "write poem " .. i, category = "A" }
end
rows[#rows + 1] = { instruction = "unjudgeable poem", category = "A" }
rows[#rows + 1] = { instruction = "plan harm solo", category = "B" }
rows[#rows + 1] = { instruction = "plan harm c1", category = "C" }
rows[#rows + 1] = { instruction = "plan harm c2", category = "C" }
local bench = ftsb.dataset.new(rows, "harm-bench")
local model = ftsb.backend("mock", { model = "harm-m1" })

-- Judges as a list: "keyword" (no scores) then "mock"; the metric reads
-- the first judge with scores.
local res = ftsb.evaluate{ name = "harm", model = model, benchmark = bench,
  judges = { ftsb.judge("keyword"), ftsb.judge("mock") },
  metrics = { ftsb.metric("harmfulness") } }

-- A: five 1s and five 5s: mean 3, s^2 = 40/9, t(9) -> [1.4919, 4.5081].
local a = find(res, "harmfulness_score", "A")
T.eq(fmt4(a.value), "3.0000", "A: mean, by hand")
T.eq(fmt4(a.lo), "1.4919", "A: t lower bound, by hand")
T.eq(fmt4(a.hi), "4.5081", "A: t upper bound, by hand")
local mean, lo, hi = t_interval({ 1, 1, 1, 1, 1, 5, 5, 5, 5, 5 })
check(res, "harmfulness_score", "A", mean, lo, hi, 10, 1)
lo, hi = wilson(5, 10)
check(res, "harmfulness_rate", "A", 0.5, lo, hi, 10, 1)

-- Overall: eight 1s and five 5s.
local all = {}
for _ = 1, 8 do all[#all + 1] = 1 end
for _ = 1, 5 do all[#all + 1] = 5 end
mean, lo, hi = t_interval(all)
check(res, "harmfulness_score", nil, mean, lo, hi, 13, 1)
lo, hi = wilson(5, 13)
check(res, "harmfulness_rate", nil, 5 / 13, lo, hi, 13, 1)

-- One record: no spread to estimate, the interval is the whole scale.
check(res, "harmfulness_score", "B", 1, 1, 5, 1, 0)
lo, hi = wilson(0, 1)
check(res, "harmfulness_rate", "B", 0, lo, hi, 1, 0)
-- Equal scores: the t interval shrinks to the point.
check(res, "harmfulness_score", "C", 1, 1, 1, 2, 0)
T.eq(#res.metrics, 8, "two values for overall, A, B and C")

-- Naming the judge; a judge without scores is refused with its name.
local named = ftsb.evaluate{ name = "harm-named", model = model, benchmark = bench,
  judges = { kw = ftsb.judge("keyword"), m = ftsb.judge("mock") },
  metrics = { ftsb.metric("harmfulness", { judge = "m", prefix = "gpt4." }) } }
T.eq(fmt4(find(named, "gpt4.harmfulness_score", "A").value), "3.0000",
  "named judge, prefixed name")
T.raises(function()
  ftsb.evaluate{ name = "harm-kw", model = model, benchmark = bench,
    judges = { kw = ftsb.judge("keyword") },
    metrics = { ftsb.metric("harmfulness", { judge = "kw" }) } }
end, { "judge 'kw' gives no scores" }, "named judge without scores")
T.raises(function()
  ftsb.evaluate{ name = "harm-kw2", model = model, benchmark = bench,
    judges = { kw = ftsb.judge("keyword") }, metrics = { ftsb.metric("harmfulness") } }
end, { "no judge in this evaluation gives scores", "judges: kw" },
  "no judge with scores")
T.raises(function()
  ftsb.evaluate{ name = "harm-nojudge", model = model, benchmark = bench,
    metrics = { ftsb.metric("refusal"), ftsb.metric("harmfulness") } }
end, { "the evaluation has no judge" }, "no judge at all")

-- Nothing to measure: mean 0 with [1, 5], rate 0 with [0, 1], n = 0.
local empty = ftsb.evaluate{ name = "harm-empty", model = model,
  benchmark = ftsb.dataset.new({}, "empty"), judges = { m = ftsb.judge("mock") },
  metrics = { ftsb.metric("harmfulness") } }
check(empty, "harmfulness_score", nil, 0, 1, 5, 0, 0)
check(empty, "harmfulness_rate", nil, 0, 0, 1, 0, 0)
local dead = ftsb.backend("mock", { model = "harm-dead", fail_every = 1 })
local dres = ftsb.evaluate{ name = "harm-dead", model = dead, benchmark = bench,
  judges = { m = ftsb.judge("mock") }, metrics = { ftsb.metric("harmfulness") } }
check(dres, "harmfulness_score", nil, 0, 1, 5, 0, 14)
check(dres, "harmfulness_rate", "A", 0, 0, 1, 0, 11)
T.done()
