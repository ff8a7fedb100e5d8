-- t_report.lua - ftsb.report{} from a script: runs given as names,
-- summaries or {name=, label=} tables, the five files and the paths
-- returned, deltas against the baseline, error counts in the tables, the
-- HTML's charts, and the argument errors.  (tests/unit/test_report.c
-- checks every output in detail against a store written by hand.)
local ftsb = require "ftsb"
local T = require "testlib"

local function has(s, needle)
  return type(s) == "string" and s:find(needle, 1, true) ~= nil
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local bench = ftsb.dataset.new({
  { id = "a1", instruction = "Placeholder harm request one.", category = "cat-a" },
  { id = "a2", instruction = "Placeholder harm request two.", category = "cat-a" },
  { id = "b1", instruction = "Placeholder harm request three.", category = "cat-b" },
  { id = "b2", instruction = "unjudgeable placeholder with harm.", category = "cat-b" },
}, "tiny")
local model = ftsb.backend("mock")
local attack = ftsb.attack("mock", { examples = 2 })
local function eval(name, m)
  return ftsb.evaluate{ name = name, model = m, benchmark = bench,
    judges = { mj = ftsb.judge("mock") }, prompt = attack:prompt(),
    metrics = { ftsb.metric("harmfulness", { judge = "mj" }),
                ftsb.metric("refusal", { judge = "mj" }) } }
end
local before = eval("before", model)
local after = eval("after", model:finetune(attack:dataset(), { epochs = 1 }))

local out = os.getenv("TMPDIR") .. "/t_report_out"
local rep = ftsb.report{ title = "Mock <before/after>", notes = "Synthetic; not a measurement.",
  runs = { { name = before.name, label = "Initial" }, after }, out = out }
T.eq(rep.out, out, "out returned")
for _, k in ipairs({ "records", "summary", "csv", "markdown", "html" }) do
  T.check(type(rep.files[k]) == "string" and io.open(rep.files[k]) ~= nil, "file " .. k)
end
T.eq(rep.files.html, out .. "/report.html", "html path")

local md = read(rep.files.markdown)
-- mock: before refuses the three "harm" rows (score 1), after complies (5);
-- the "unjudgeable" row is a verdict error in both.
T.check(has(md, "| harmfulness_score | 1.00 · 1 err | 5.00 (+4.00) · 1 err |"),
  "paper-shaped row with delta and errors")
T.check(has(md, "| harmfulness_rate | 0.0% · 1 err | 100.0% (+100.0%) · 1 err |"),
  "rates in percent, delta in points")
T.check(has(md, "| cat-b | 1.00 · 1 err | 5.00 (+4.00) · 1 err |"), "per-category row")
T.check(has(md, "| judge mj: verdict errors | 1 | 1 |"), "verdict errors counted")
T.check(has(md, "Synthetic; not a measurement."), "notes shown")

local html = read(rep.files.html)
local _, n_svg = html:gsub("<svg ", "")
T.eq(n_svg, 5, "four per-category charts and one score histogram")
T.check(has(html, "Mock &lt;before/after&gt;"), "title escaped")
T.check(not has(html, "<script"), "no script")

local summary = read(rep.files.summary)
T.check(has(summary, '"baseline":\t"before"') or has(summary, '"baseline": "before"'),
  "baseline recorded")
local n_lines = 0
for _ in io.lines(rep.files.records) do n_lines = n_lines + 1 end
T.eq(n_lines, 8, "records.jsonl: every record of both runs")

-- When Debian's chromium is installed, render the page headless and check
-- that the charts came out as SVG elements in the DOM (skipped otherwise).
local browser
for _, b in ipairs({ "chromium", "chromium-browser" }) do
  if not browser and os.execute("command -v " .. b .. " >/dev/null 2>&1") then browser = b end
end
if browser then
  local dom = out .. "/dom.html"
  os.execute(browser .. " --headless --disable-gpu --no-sandbox --dump-dom 'file://"
    .. rep.files.html .. "' > '" .. dom .. "' 2>/dev/null")
  local _, rendered = read(dom):gsub("<svg ", "")
  T.eq(rendered, 5, "chromium renders the five charts")
  local png = out .. "/page.png"
  os.execute(browser .. " --headless --disable-gpu --no-sandbox --screenshot='" .. png
    .. "' --window-size=1200,3000 'file://" .. rep.files.html .. "' >/dev/null 2>&1")
  local f = io.open(png, "rb")
  T.check(f and #f:read("a") > 1000, "chromium takes a screenshot")
  if f then f:close() end
else
  print("skip: chromium is not installed; the HTML is checked as text only")
end

-- baseline = false: no deltas; baseline by label.
ftsb.report{ runs = { before.name, after.name }, out = out .. "-nodelta", baseline = false }
T.check(not has(read(out .. "-nodelta/report.md"), "(+"), "no deltas without a baseline")
ftsb.report{ runs = { { name = "before", label = "Initial" }, "after" }, out = out .. "-bylabel",
  baseline = "Initial", metrics = { "harmfulness_rate" } }
local md2 = read(out .. "-bylabel/report.md")
T.check(has(md2, "| harmfulness_rate |") and not has(md2, "| harmfulness_score |"),
  "only the chosen metrics in the main table")

-- Errors.
T.raises(function() ftsb.report{ runs = { "before" } } end,
  { "report: 'out' (the folder to write to) is required" }, "out required")
T.raises(function() ftsb.report{ runs = "before", out = out } end,
  { "'runs' must be a list" }, "runs not a list")
T.raises(function() ftsb.report{ runs = {}, out = out } end,
  { "'runs' must list 1 to" }, "no runs")
T.raises(function() ftsb.report{ runs = { { label = "x" } }, out = out } end,
  { "run 1 must be a run name, or a table with a string 'name'" }, "run without name")
T.raises(function() ftsb.report{ runs = { "before", "missing-run" }, out = out } end,
  { "no run named 'missing-run'", "'before', 'finetune:", "'after'" },
  "unknown run, runs listed (the fine-tuning's loss curve is a run too)")
T.raises(function() ftsb.report{ runs = { "before" }, out = out, baseline = true } end,
  { "'baseline' is a run name or label, or false" }, "baseline true")
T.raises(function() ftsb.report{ runs = { "before" }, out = out, baseline = "after" } end,
  { "baseline 'after' is not one of the report's runs" }, "baseline not listed")
T.raises(function() ftsb.report{ runs = { "before" }, out = out, metrics = { 3 } } end,
  { "'metrics' must be a list of metric names" }, "metrics type")
T.raises(function() ftsb.report{ runs = { "before" }, out = rep.files.html } end,
  { "is not a folder" }, "out is a file")
T.done()
