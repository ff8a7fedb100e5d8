-- t_refusal_metric_harmfulness.lua - the harmfulness metric (same library
-- as the refusal metric): mean score with a seeded percentile bootstrap
-- interval (the default) or a Student t interval (ci = "t"), rate of 5s
-- with a Wilson interval, per category, errors, the choice of judge and
-- the empty cases.  Expected values are computed here independently: the
-- bootstrap by replaying its SplitMix64 stream in Lua (5.4 integers wrap
-- as C's uint64_t does, and >> is a logical shift).
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

-- The bootstrap of plugins/metrics/refusal/stats.c, written again from its
-- description: SplitMix64 from the seed, index = high 32 bits * n >> 32,
-- means of n draws, type-7 quantiles at 2.5% and 97.5%, then the interval
-- widened to hold the mean and clamped to [1, 5].
local function splitmix(state)
  state = state + 0x9E3779B97F4A7C15
  local z = state
  z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
  z = (z ~ (z >> 27)) * 0x94D049BB133111EB
  return state, z ~ (z >> 31)
end

local function quantile7(sorted, p)
  local h = (#sorted - 1) * p
  local k = math.floor(h)
  if k + 1 >= #sorted then return sorted[#sorted] end
  return sorted[k + 1] + (h - k) * (sorted[k + 2] - sorted[k + 1])
end

local function boot_interval(xs, resamples, seed)
  local n, state, means, sum = #xs, seed, {}, 0
  for _, x in ipairs(xs) do sum = sum + x end
  local mean = sum / n
  for b = 1, resamples do
    local s = 0.0
    for _ = 1, n do
      local r
      state, r = splitmix(state)
      s = s + xs[((r >> 32) * n >> 32) + 1]
    end
    means[b] = s / n
  end
  table.sort(means)
  local lo, hi = quantile7(means, 0.025), quantile7(means, 0.975)
  return mean, math.max(1, math.min(lo, mean)), math.min(5, math.max(hi, mean))
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
-- the first judge with scores.  The default interval is the bootstrap
-- (10000 resamples, seed 42); a second instance asks for Student's t.
local res = ftsb.evaluate{ name = "harm", model = model, benchmark = bench,
  judges = { ftsb.judge("keyword"), ftsb.judge("mock") },
  metrics = { ftsb.metric("harmfulness"),
              ftsb.metric("harmfulness", { ci = "t", prefix = "t." }),
              ftsb.metric("harmfulness", { resamples = 500, seed = 7, prefix = "b7." }) } }

-- A: five 1s and five 5s, in record order 1, 5, 1, 5, ...
local a_scores = {}
for _ = 1, 5 do a_scores[#a_scores + 1] = 1; a_scores[#a_scores + 1] = 5 end
local mean, lo, hi = boot_interval(a_scores, 10000, 42)
check(res, "harmfulness_score", "A", mean, lo, hi, 10, 1)
T.check(lo > 1.5 and lo < 2.7 and hi > 3.3 and hi < 4.5,
  string.format("A: bootstrap interval is plausible: [%.4f, %.4f]", lo, hi))
mean, lo, hi = boot_interval(a_scores, 500, 7)
check(res, "b7.harmfulness_score", "A", mean, lo, hi, 10, 1)

-- Student's t: mean 3, s^2 = 40/9, t(9) -> [1.4919, 4.5081].
local a = find(res, "t.harmfulness_score", "A")
T.eq(fmt4(a.value), "3.0000", "A: mean, by hand")
T.eq(fmt4(a.lo), "1.4919", "A: t lower bound, by hand")
T.eq(fmt4(a.hi), "4.5081", "A: t upper bound, by hand")
mean, lo, hi = t_interval({ 1, 1, 1, 1, 1, 5, 5, 5, 5, 5 })
check(res, "t.harmfulness_score", "A", mean, lo, hi, 10, 1)
lo, hi = wilson(5, 10)
check(res, "harmfulness_rate", "A", 0.5, lo, hi, 10, 1)

-- Overall: the A scores, then B's 1 and C's two 1s (record order).
local all = {}
for _, x in ipairs(a_scores) do all[#all + 1] = x end
for _ = 1, 3 do all[#all + 1] = 1 end
mean, lo, hi = boot_interval(all, 10000, 42)
check(res, "harmfulness_score", nil, mean, lo, hi, 13, 1)
mean, lo, hi = t_interval(all)
check(res, "t.harmfulness_score", nil, mean, lo, hi, 13, 1)
lo, hi = wilson(5, 13)
check(res, "harmfulness_rate", nil, 5 / 13, lo, hi, 13, 1)

-- One record: no spread to estimate, the interval is the whole scale.
check(res, "harmfulness_score", "B", 1, 1, 5, 1, 0)
check(res, "t.harmfulness_score", "B", 1, 1, 5, 1, 0)
lo, hi = wilson(0, 1)
check(res, "harmfulness_rate", "B", 0, lo, hi, 1, 0)
-- Equal scores: both intervals shrink to the point.
check(res, "harmfulness_score", "C", 1, 1, 1, 2, 0)
check(res, "t.harmfulness_score", "C", 1, 1, 1, 2, 0)
T.eq(#res.metrics, 24, "two values for overall, A, B and C, three instances")

-- The same evaluation again: the bootstrap is reproducible.
local again = ftsb.evaluate{ name = "harm", model = model, benchmark = bench,
  judges = { ftsb.judge("keyword"), ftsb.judge("mock") },
  metrics = { ftsb.metric("harmfulness") } }
T.eq(find(again, "harmfulness_score", nil).lo, find(res, "harmfulness_score", nil).lo,
  "same seed, same interval (bitwise)")
T.raises(function() ftsb.metric("harmfulness", { ci = "normal" }) end,
  { "option 'ci' is 'normal'", "bootstrap" }, "unknown interval")
T.raises(function() ftsb.metric("harmfulness", { resamples = 10 }) end,
  { "option 'resamples' must be in 200..1000000" }, "too few resamples")

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
