-- t_benchmark_files.lua - ftsb.benchmark with the single-file loaders:
-- advbench (header or not, the goal column), harmbench (contextual rows
-- skipped, included or alone; ids and categories), jsonl, synthetic (the
-- suite shipped in benchmarks/synthetic/), and the errors common to all:
-- an unknown benchmark, options that are not a table, missing and empty
-- files.  Files are generated in a temporary folder, placeholder text only.
local ftsb = require "ftsb"
local T = require "testlib"

local root = (os.getenv("TMPDIR") or "/tmp") .. "/t_benchmark_files"
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
os.execute("rm -rf " .. q(root) .. " && mkdir -p " .. q(root))
local function write(name, text)
  local path = root .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

-- The module has the function beside the others.
T.eq(type(ftsb.benchmark), "function", "ftsb.benchmark exists")

-- ---- advbench ----------------------------------------------------------
local adv = write("harmful_behaviors.csv",
  "goal,target\n" ..
  "placeholder goal one,Sure here is placeholder one\n" ..
  "\"placeholder goal two, with a comma\",Sure here is placeholder two\n" ..
  "placeholder goal three,Sure here is placeholder three\n")
local b = ftsb.benchmark("advbench", { path = adv })
T.eq(#b, 3, "advbench rows")
T.eq(b:name(), "advbench", "advbench name")
T.eq(b:get(1).id, "advbench-001", "advbench id")
T.eq(b:get(1).instruction, "placeholder goal one", "goal column")
T.eq(b:get(2).instruction, "placeholder goal two, with a comma", "quoted goal")
T.eq(b:get(3).id, "advbench-003", "advbench last id")
T.eq(b:get(1).category, nil, "advbench has no categories")
-- Another column.
b = ftsb.benchmark("advbench", { path = adv, column = "target" })
T.eq(b:get(1).instruction, "Sure here is placeholder one", "column option")
-- The paper repository's copy: no header.
local bare = write("bare.csv", "placeholder goal one\nplaceholder goal two\n")
b = ftsb.benchmark("advbench", { path = bare, header = false })
T.eq(#b, 2, "headerless rows, the first line kept")
T.eq(b:get(1).instruction, "placeholder goal one", "headerless first row")
T.raises(function() ftsb.benchmark("advbench", { path = bare }) end,
  { "benchmark 'advbench':", "bare.csv:1:", "no column \"goal\"", "pass header = false" },
  "a headerless file read with a header")
T.raises(function() ftsb.benchmark("advbench", { path = adv, header = false }) end,
  { "harmful_behaviors.csv:1:", "\"goal\", a header", "leave 'header' at true" },
  "a header read as a prompt")
T.raises(function() ftsb.benchmark("advbench", { path = adv, column = "" }) end,
  { "option 'column' is empty" }, "empty column")
T.raises(function() ftsb.benchmark("advbench", { path = write("hdr_only.csv", "goal,target\n") }) end,
  { "benchmark 'advbench':", "hdr_only.csv' has no prompts" }, "header only")
T.raises(function() ftsb.benchmark("advbench", { path = write("empty.csv", "") }) end,
  { "empty.csv' has no prompts" }, "empty advbench")
T.raises(function() ftsb.benchmark("advbench", { path = root .. "/missing.csv" }) end,
  { "benchmark 'advbench': cannot open", "missing.csv", "No such file or directory", "option 'path'" },
  "missing file")
T.raises(function() ftsb.benchmark("advbench", { path = root }) end,
  { "is not a file" }, "a folder for a file")
T.raises(function() ftsb.benchmark("advbench", { path = adv, header = "yes" }) end,
  { "option 'header' must be a boolean, not a string" }, "header type")
T.raises(function() ftsb.benchmark("advbench", { file = adv }) end,
  { "unknown option 'file'", "path, column, header" }, "misspelt path")

-- ---- harmbench ---------------------------------------------------------
local hb = write("behaviors.csv",
  "Behavior,FunctionalCategory,SemanticCategory,Tags,ContextString,BehaviorID\n" ..
  "placeholder behaviour one,standard,chemical_biological,,,placeholder_one\n" ..
  "placeholder behaviour two,contextual,misinformation_disinformation,context,\"placeholder context\nwith two lines\",placeholder_two\n" ..
  "placeholder behaviour three,standard,illegal,,,placeholder_three\n" ..
  "placeholder behaviour four,copyright,copyright,,,\n")
b = ftsb.benchmark("harmbench", { path = hb })
T.eq(#b, 3, "contextual rows skipped by default")
T.eq(b:name(), "harmbench", "harmbench name")
T.eq(b:get(1).id, "harmbench-placeholder_one", "id from BehaviorID")
T.eq(b:get(1).category, "chemical_biological", "category from SemanticCategory")
T.eq(b:get(2).instruction, "placeholder behaviour three", "row order kept")
T.eq(b:get(3).id, "harmbench-004", "a row without BehaviorID is numbered by its place")
b = ftsb.benchmark("harmbench", { path = hb, context = "include" })
T.eq(#b, 4, "contextual rows included")
T.eq(b:get(2).instruction, "placeholder context\nwith two lines\n\n---\n\nplaceholder behaviour two",
  "context, a rule, the behaviour")
T.eq(b:get(2).id, "harmbench-placeholder_two", "contextual id")
b = ftsb.benchmark("harmbench", { path = hb, context = "only" })
T.eq(#b, 1, "only contextual rows")
T.eq(b:get(1).category, "misinformation_disinformation", "contextual category")
-- A file without ContextString or BehaviorID columns.
local plain = write("plain_behaviors.csv",
  "Behavior,SemanticCategory\nplaceholder a,harassment_bullying\nplaceholder b,illegal\n")
b = ftsb.benchmark("harmbench", { path = plain })
T.eq(#b, 2, "no ContextString column: every row")
T.eq(b:get(2).id, "harmbench-002", "numbered ids")
T.eq(b:get(1).category, "harassment_bullying", "category")
T.raises(function() ftsb.benchmark("harmbench", { path = plain, context = "only" }) end,
  { "no behaviours to load" }, "nothing contextual")
T.raises(function() ftsb.benchmark("harmbench", { path = hb, context = "maybe" }) end,
  { "option 'context' is 'maybe'", "skip", "include", "only" }, "bad context mode")
T.raises(function() ftsb.benchmark("harmbench", { path = adv }) end,
  { "benchmark 'harmbench':", "no column \"Behavior\"", "HarmBench's behaviours CSV" },
  "not a HarmBench file")
T.raises(function() ftsb.benchmark("harmbench", {
  path = write("ragged.csv", "Behavior,SemanticCategory\nplaceholder a\n") }) end,
  { "ragged.csv:2:", "record has 1 field; the header has 2" }, "ragged record")
T.raises(function() ftsb.benchmark("harmbench", {}) end,
  { "option 'path' is required", "HarmBench" }, "no path")

-- ---- jsonl ---------------------------------------------------------------
local jl = write("prompts.jsonl",
  '{"id":"p1","instruction":"placeholder prompt one","category":"a"}\n' ..
  '{"instruction":"placeholder prompt two","category":"b"}\n')
b = ftsb.benchmark("jsonl", { path = jl })
T.eq(#b, 2, "jsonl rows")
T.eq(b:name(), jl, "jsonl is named by its file")
T.eq(b:get(1).id, "p1", "id kept")
T.eq(b:get(2).id, "prompts.jsonl:2", "file:line id")
T.eq(b:get(2).category, "b", "category kept")
T.raises(function() ftsb.benchmark("jsonl", { path = write("none.jsonl", "\n") }) end,
  { "benchmark 'jsonl':", "none.jsonl' has no prompts" }, "empty jsonl")
T.raises(function() ftsb.benchmark("jsonl", { path = write("bad.jsonl", '{"category":"x"}\n') }) end,
  { "benchmark 'jsonl':", "bad.jsonl:1:" }, "row without instruction")

-- ---- synthetic -----------------------------------------------------------
b = ftsb.benchmark("synthetic")
T.eq(#b, 65, "synthetic rows")
T.eq(b:name(), "synthetic", "synthetic name")
T.eq(b:get(1).id, "syn-01-1", "synthetic first id")
b = ftsb.benchmark("synthetic", { benign = false })
T.eq(#b, 55, "without benign rows")
for _, row in b:rows() do T.check(row.category ~= "benign", "no benign row") end
local src = os.getenv("FTSB_TEST_DIR") .. "/../benchmarks/synthetic/synthetic.jsonl"
T.eq(#ftsb.benchmark("synthetic", { path = src }), 65, "explicit path")
T.raises(function() ftsb.benchmark("synthetic", { path = root .. "/no.jsonl" }) end,
  { "benchmark 'synthetic': cannot open", "no.jsonl" }, "bad synthetic path")
local benign_only = write("benign_only.jsonl", '{"instruction":"Say hi.","category":"benign"}\n')
T.raises(function() ftsb.benchmark("synthetic", { path = benign_only, benign = false }) end,
  { "has no harmful prompts" }, "nothing left without benign rows")

-- The handle is a dataset like any other: evaluate with it.
local res = ftsb.evaluate{ name = "bench", model = ftsb.backend("mock"),
  benchmark = ftsb.benchmark("advbench", { path = adv }), judges = { ftsb.judge("mock") } }
T.eq(res.rows, 3, "evaluated rows")

-- ---- common errors -------------------------------------------------------
T.raises(function() ftsb.benchmark("hexphy", { dir = root }) end,
  { "unknown benchmark 'hexphy'", "hexphi, advbench, harmbench, jsonl, synthetic" },
  "unknown benchmark")
T.raises(function() ftsb.benchmark("advbench", adv) end,
  { "options must be a table, not a string" }, "options not a table")
T.raises(function() ftsb.benchmark("advbench", { path = adv, [1] = "x" }) end,
  { "options must have string keys" }, "a list entry")
T.raises(function() ftsb.benchmark() end, { "bad argument #1" }, "no name")
T.raises(function() ftsb.benchmark("synthetic", { nope = true }) end,
  { "benchmark 'synthetic': unknown option 'nope'", "path, benign" }, "synthetic option")
T.raises(function() ftsb.benchmark("jsonl", { path = jl, x = 1 }) end,
  { "unknown option 'x'; its options are path" }, "jsonl option")
-- The error names the script line.
local ok, err = pcall(ftsb.benchmark, "nothing")
T.check(not ok and tostring(err):find("t_benchmark_files.lua:%d+:") ~= nil,
  "error names the script line: " .. tostring(err))
T.done()
