-- t_report_paired.lua - the paired tests a report puts beside each delta:
-- McNemar on rates and a paired bootstrap on mean scores, from the
-- records of two runs matched by benchmark index, overall and per
-- category, in report.md, summary.json and report.html; the judge found by
-- reproducing the stored values; no test (and why) for metrics without a
-- per-record meaning and for runs that asked different things.
local ftsb = require "ftsb"
local T = require "testlib"

local tmp = os.getenv("TMPDIR") .. "/t_report_paired"
os.execute("rm -rf '" .. tmp .. "'")
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

-- Twelve rows; the baseline refuses rows 1-10, the other run rows 7-11.
local bench, before, after = {}, {}, {}
for i = 1, 12 do
  local q = string.format("paired request %02d", i)
  bench[i] = { instruction = q, category = i <= 6 and "A" or "B" }
  before[i] = { instruction = q, response = i <= 10 and "I cannot help." or "Sure: done " .. i }
  after[i] = { instruction = q, response = (i >= 7 and i <= 11) and "I cannot help." or "Sure: done " .. i }
end
local ds = ftsb.dataset.new(bench, "paired-bench")
local function run(name, rows, benchmark)
  return ftsb.evaluate{ name = name,
    model = ftsb.backend("replay", { responses = ftsb.dataset.new(rows, name .. "-answers") }),
    benchmark = benchmark or ds,
    judges = { kw = ftsb.judge("keyword", { preset = "repo" }), m = ftsb.judge("mock") },
    metrics = { ftsb.metric("refusal", { judge = "kw" }),
                ftsb.metric("harmfulness", { judge = "m" }),
                ftsb.metric("agreement", { a = "kw", b = "m" }) } }
end
run("before", before)
run("after", after)
local rep = ftsb.report{ title = "paired", runs = { "before", "after" }, out = tmp .. "/r1" }
local md = read(rep.files.markdown)

-- refusal_rate: 10/12 -> 5/12.  Discordant: rows 1-6 refused before only
-- (b = 6), row 11 after only (c = 1): exact p = 2 (1 + 7) / 2^7 = 0.125.
T.check(has(md, "| refusal_rate | after | -41.7% | 0.125 | McNemar (exact binomial), judge kw | 12 |"),
  "refusal rate row")
T.check(has(md, "| asr | after | +41.7% | 0.125 | McNemar (exact binomial), judge kw | 12 |"),
  "asr: the same test")
-- harmfulness_score (mock judge: 1 for a refusal, 5 otherwise): mean
-- 20/12 -> 40/12; a paired bootstrap.
T.check(md:find("| harmfulness_score | after | +1.67 | ", 1, true) ~= nil, "harmfulness score row")
T.check(has(md, "paired bootstrap, judge m | 12 |"), "bootstrap on the mock judge's scores")
-- harmfulness_rate: score 5 share 2/12 -> 7/12; b = 1 (row 11), c = 6.
T.check(has(md, "| harmfulness_rate | after | +41.7% | 0.125 | McNemar (exact binomial), judge m | 12 |"),
  "harmfulness rate row")
T.check(has(md, "| kappa | after |") and has(md, "no paired test for this metric"),
  "no test for kappa, and why")
-- Per category: A's six discordant pairs all one way: 2/64 = 0.031; B:
-- one pair the other way: 1.
T.check(has(md, "| A | -100.0% (p = 0.031) |"), "category A")
T.check(has(md, "| B | +16.7% (p = 1.000) |"), "category B")
T.check(has(md, "exact binomial below 25 of them") and has(md, "10000 resamples, seed 42"),
  "the methods are said")

local summary = read(rep.files.summary)
T.check(summary:find('"p_value":%s+0.125') ~= nil, "summary.json: p_value beside delta")
T.check(summary:find('"method":%s+"mcnemar_exact"') ~= nil, "summary.json: method")
T.check(summary:find('"discordant":%s+%[6,%s+1%]') ~= nil, "summary.json: discordant pairs")
T.check(summary:find('"method":%s+"paired_bootstrap"') ~= nil, "summary.json: bootstrap")
T.check(summary:find('"resamples":%s+10000') ~= nil, "summary.json: resamples")
local html = read(rep.files.html)
T.check(has(html, "<h3>Paired tests against the baseline</h3>"), "html: paired section")
T.check(has(html, "<td>0.125</td><td>McNemar (exact binomial), judge kw</td><td>12</td>"), "html: row")
T.check(has(html, "<td>-100.0% (p = 0.031)</td>"), "html: category p-value")

-- Written again: the bootstrap is seeded, the report the same.
local rep2 = ftsb.report{ title = "paired", runs = { "before", "after" }, out = tmp .. "/r2" }
local function tables(s) return (s:gsub("Generated [^\n]*", "")) end
T.eq(tables(read(rep2.files.markdown)), tables(md), "the same report twice")

-- Runs over different instructions are not paired.
local other = {}
for i = 1, 12 do other[i] = { instruction = "other request " .. i, category = "A" } end
local orows = {}
for i = 1, 12 do orows[i] = { instruction = "other request " .. i, response = "I cannot help." } end
run("other", orows, ftsb.dataset.new(other, "other-bench"))
local rep3 = ftsb.report{ title = "unpaired", runs = { "before", "other" }, out = tmp .. "/r3" }
T.check(has(read(rep3.files.markdown), "the runs' instructions differ at record 1"),
  "different benchmarks: no test, and why")
-- Without a baseline there are no deltas and no tests.
local rep4 = ftsb.report{ title = "none", runs = { "before", "after" }, baseline = false,
                          out = tmp .. "/r4" }
T.check(not has(read(rep4.files.markdown), "Paired tests"), "no baseline: no paired tests")
T.done()
