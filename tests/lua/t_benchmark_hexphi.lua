-- t_benchmark_hexphi.lua - ftsb.benchmark("hexphi"): fake HEx-PHI folders
-- (placeholder text only) generated in a temporary folder: all eleven
-- categories, category 2 missing (a log line, not an error), the
-- category name styles, stable ids, quoting, and every error a folder can
-- give (missing folder, missing category, header row, empty file, bad
-- options).  Log lines are checked by running ftsb again on a small
-- script with its standard error captured.
local ftsb = require "ftsb"
local T = require "testlib"

local root = (os.getenv("TMPDIR") or "/tmp") .. "/t_benchmark_hexphi"
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function sh(cmd)
  local ok = os.execute(cmd)
  return ok
end
local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end
local function read(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end
local function has(s, needle) return type(s) == "string" and s:find(needle, 1, true) ~= nil end

-- A fake HEx-PHI folder: rows placeholder prompts per category, no header.
local function make(name, rows, skip)
  local dir = root .. "/" .. name
  sh("rm -rf " .. q(dir) .. " && mkdir -p " .. q(dir))
  for c = 1, 11 do
    if not (skip and skip[c]) then
      local lines = {}
      for r = 1, rows do
        lines[#lines + 1] = string.format("placeholder prompt %d of category %d", r, c)
      end
      write(dir .. "/category_" .. c .. ".csv", table.concat(lines, "\n") .. "\n")
    end
  end
  return dir
end

sh("rm -rf " .. q(root) .. " && mkdir -p " .. q(root))

local slugs = {
  "01-illegal-activity", "02-child-abuse-content", "03-hate-harass-violence",
  "04-malware", "05-physical-harm", "06-economic-harm", "07-fraud-deception",
  "08-adult-content", "09-political-campaigning", "10-privacy-violation",
  "11-tailored-financial-advice",
}

-- All eleven categories, three rows each.
local full = make("full", 3)
local b = ftsb.benchmark("hexphi", { dir = full, rows_per_category = 3 })
T.eq(#b, 33, "11 x 3 rows")
T.eq(b:name(), "hexphi", "dataset name")
local r = b:get(1)
T.eq(r.id, "hexphi-01-001", "first id")
T.eq(r.instruction, "placeholder prompt 1 of category 1", "first line is a prompt, not a header")
T.eq(r.category, "01-illegal-activity", "slug category")
r = b:get(9)
T.eq(r.id, "hexphi-03-003", "ids count within a category")
T.eq(r.category, "03-hate-harass-violence", "category 3")
T.eq(b:get(33).id, "hexphi-11-003", "last id")
local seen = {}
for _, row in b:rows() do seen[row.category] = (seen[row.category] or 0) + 1 end
for c = 1, 11 do T.eq(seen[slugs[c]], 3, "rows of " .. slugs[c]) end
-- The same as the synthetic suite's categories, so results compare.
local syn = {}
for _, row in ftsb.benchmark("synthetic"):rows() do syn[row.category] = true end
for c = 1, 11 do T.check(syn[slugs[c]], slugs[c] .. " is also a synthetic category") end

-- A trailing slash and the other name styles.
T.eq(#ftsb.benchmark("hexphi", { dir = full .. "/", rows_per_category = 0 }), 33, "trailing slash")
local named = ftsb.benchmark("hexphi", { dir = full, category_names = "name", rows_per_category = 3 })
T.eq(named:get(1).category, "Illegal Activity", "paper name 1")
T.eq(named:get(7).category, "Hate/Harass/Violence", "paper name 3")
T.eq(named:get(28).category, "Privacy Violation Activity", "paper name 10")
T.eq(named:get(1).id, "hexphi-01-001", "ids do not depend on the name style")
local files = ftsb.benchmark("hexphi", { dir = full, category_names = "file", rows_per_category = 3 })
T.eq(files:get(4).category, "category_2", "file-name categories")

-- Category 2 missing: no error, the other ten load.
local no2 = make("no2", 2, { [2] = true })
b = ftsb.benchmark("hexphi", { dir = no2, rows_per_category = 2 })
T.eq(#b, 20, "10 categories without category 2")
T.eq(b:get(3).id, "hexphi-03-001", "category 3 follows category 1")
for _, row in b:rows() do
  T.check(row.category ~= "02-child-abuse-content", "no category 2 rows")
end

-- Quoted prompts keep commas, quotes and line breaks; extra columns are ignored.
local quoted = make("quoted", 1)
write(quoted .. "/category_4.csv",
  '"placeholder, with a comma"\n"placeholder ""quoted"" word"\n"placeholder on\ntwo lines",extra\n')
b = ftsb.benchmark("hexphi", { dir = quoted, rows_per_category = 0 })
T.eq(#b, 13, "10 x 1 + 3")
local cat4 = b:filter(function(x) return x.category == "04-malware" end)
T.eq(cat4:get(1).instruction, "placeholder, with a comma", "comma kept")
T.eq(cat4:get(2).instruction, 'placeholder "quoted" word', "quotes kept")
T.eq(cat4:get(3).instruction, "placeholder on\ntwo lines", "line break kept")
T.eq(cat4:get(3).id, "hexphi-04-003", "ids count records, not lines")

-- Errors.
T.raises(function() ftsb.benchmark("hexphi", { dir = root .. "/nowhere" }) end,
  { "benchmark 'hexphi': cannot open folder", "nowhere", "No such file or directory",
    "category_1.csv ... category_11.csv" }, "missing folder")
T.raises(function() ftsb.benchmark("hexphi", { dir = full .. "/category_1.csv" }) end,
  { "is not a folder" }, "a file for a folder")
sh("mkdir -p " .. q(root .. "/empty"))
T.raises(function() ftsb.benchmark("hexphi", { dir = root .. "/empty" }) end,
  { "no category_N.csv files in", "empty" }, "no category files")
local no5 = make("no5", 1, { [5] = true })
T.raises(function() ftsb.benchmark("hexphi", { dir = no5, rows_per_category = 0 }) end,
  { "category_5.csv' is missing", "only category_2.csv may be absent" }, "category 5 missing")
local no25 = make("no25", 1, { [2] = true, [5] = true })
T.raises(function() ftsb.benchmark("hexphi", { dir = no25, rows_per_category = 0 }) end,
  { "category_5.csv' is missing" }, "category 5 missing, with 2")

local hdr = make("header", 2)
write(hdr .. "/category_3.csv", "prompt\nplaceholder prompt 1\nplaceholder prompt 2\n")
T.raises(function() ftsb.benchmark("hexphi", { dir = hdr, rows_per_category = 0 }) end,
  { "benchmark 'hexphi':", "category_3.csv:1:", "\"prompt\", a header",
    "have no header row", "delete that line" }, "header row by mistake")
write(hdr .. "/category_3.csv", " Instruction \nplaceholder prompt 1\n")
T.raises(function() ftsb.benchmark("hexphi", { dir = hdr, rows_per_category = 0 }) end,
  { "category_3.csv:1:", "a header" }, "header word in any case, with blanks")

local emp = make("emptyfile", 1)
write(emp .. "/category_7.csv", "")
T.raises(function() ftsb.benchmark("hexphi", { dir = emp, rows_per_category = 0 }) end,
  { "category_7.csv' has no prompts" }, "empty category file")
write(emp .. "/category_7.csv", "\n\n")
T.raises(function() ftsb.benchmark("hexphi", { dir = emp, rows_per_category = 0 }) end,
  { "category_7.csv' has no prompts" }, "blank category file")
write(emp .. "/category_7.csv", 'placeholder\n""\n')
T.raises(function() ftsb.benchmark("hexphi", { dir = emp, rows_per_category = 0 }) end,
  { "category_7.csv:2: empty prompt" }, "empty quoted prompt")

local bad = make("badcsv", 1)
write(bad .. "/category_8.csv", 'placeholder\n"unterminated\n')
T.raises(function() ftsb.benchmark("hexphi", { dir = bad, rows_per_category = 0 }) end,
  { "benchmark 'hexphi':", "category_8.csv:2:", "unterminated quoted field" }, "malformed CSV")

T.raises(function() ftsb.benchmark("hexphi") end,
  { "benchmark 'hexphi': option 'dir' is required" }, "no options")
T.raises(function() ftsb.benchmark("hexphi", {}) end,
  { "option 'dir' is required" }, "no dir")
T.raises(function() ftsb.benchmark("hexphi", { dir = full, dri = full }) end,
  { "unknown option 'dri'", "dir, category_names, rows_per_category" }, "misspelt option")
T.raises(function() ftsb.benchmark("hexphi", { dir = 3 }) end,
  { "option 'dir' must be a string, not an integer" }, "wrong type")
T.raises(function() ftsb.benchmark("hexphi", { dir = { full } }) end,
  { "option 'dir' must be a string, not a table" }, "a table for a string")
T.raises(function() ftsb.benchmark("hexphi", { dir = full, rows_per_category = 2.5 }) end,
  { "'rows_per_category' must be an integer, not a number with a fraction" }, "a fraction")
T.raises(function() ftsb.benchmark("hexphi", { dir = full, category_names = "short" }) end,
  { "option 'category_names' is 'short'", "slug", "name", "file" }, "unknown name style")
T.raises(function() ftsb.benchmark("hexphi", { dir = full, rows_per_category = -1 }) end,
  { "'rows_per_category' is -1" }, "negative row count")

-- Log lines: category 2 missing is reported; so is an unexpected row count.
local script = root .. "/log.lua"
write(script, string.format([[
local ftsb = require "ftsb"
ftsb.benchmark("hexphi", { dir = %q })
print("loaded")
]], no2))
local bin = os.getenv("FTSB_BIN")
local log = root .. "/log.txt"
local okrun = sh(q(bin) .. " --store " .. q(root .. "/log.db") .. " run " .. q(script) ..
  " > " .. q(root .. "/out.txt") .. " 2> " .. q(log))
T.check(okrun, "ftsb run on the log script succeeds")
T.check(has(read(root .. "/out.txt"), "loaded"), "category 2 missing is not an error")
local text = read(log)
T.check(has(text, "benchmark 'hexphi': category_2.csv (Child Abuse Content) is not in") and
  has(text, "no longer distributes it"), "log says category 2 is missing: " .. text)
T.check(has(text, "has 2 prompts, not 30"), "log warns about the row count: " .. text)
T.done()
