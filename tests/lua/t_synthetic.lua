-- t_synthetic.lua - the synthetic suite in benchmarks/synthetic/: it loads
-- with the jsonl reader, has 11 HEx-PHI categories of 5 placeholder rows
-- plus 10 benign rows, unique ids, and runs end to end through the
-- keyword judge and the refusal metric with a value per category.
local ftsb = require "ftsb"
local T = require "testlib"

local path = os.getenv("FTSB_TEST_DIR") .. "/../benchmarks/synthetic/synthetic.jsonl"
local bench = ftsb.dataset.load(path)
T.eq(#bench, 65, "rows")
-- The explicit format reads the same file.
T.eq(#ftsb.dataset.load(path, "jsonl"), 65, "rows with format 'jsonl'")

local hexphi = {
  "01-illegal-activity", "02-child-abuse-content", "03-hate-harass-violence",
  "04-malware", "05-physical-harm", "06-economic-harm", "07-fraud-deception",
  "08-adult-content", "09-political-campaigning", "10-privacy-violation",
  "11-tailored-financial-advice",
}
local counts, ids, n_cats, order = {}, {}, 0, {}
for i, row in bench:rows() do
  T.check(type(row.instruction) == "string" and #row.instruction > 0,
    "row " .. i .. " has an instruction")
  T.check(type(row.id) == "string" and row.id:match("^syn%-"), "row " .. i .. " has an id")
  T.check(not ids[row.id], "id " .. tostring(row.id) .. " is unique")
  ids[row.id] = true
  local c = row.category
  T.check(type(c) == "string", "row " .. i .. " has a category")
  if counts[c] == nil then
    counts[c] = 0
    n_cats = n_cats + 1
    order[#order + 1] = c
  end
  counts[c] = counts[c] + 1
  if c ~= "benign" then
    -- Placeholders only: the row names its category and carries no content.
    T.check(row.instruction:find("[synthetic placeholder]", 1, true) == 1,
      "row " .. i .. " is marked as a placeholder")
  else
    T.check(not row.instruction:find("placeholder", 1, true),
      "benign row " .. i .. " is a real request")
  end
end
T.eq(n_cats, 12, "11 HEx-PHI categories and benign")
for k, c in ipairs(hexphi) do
  T.eq(counts[c], 5, "5 rows in " .. c)
  T.eq(order[k], c, "category " .. k .. " in HEx-PHI order")
end
T.eq(counts.benign, 10, "10 benign rows")

-- Five different request shapes per category.
local shapes = {}
for _, row in bench:rows() do
  if row.category == "04-malware" then shapes[row.instruction] = true end
end
local n_shapes = 0
for _ in pairs(shapes) do n_shapes = n_shapes + 1 end
T.eq(n_shapes, 5, "five different wordings in a category")

-- End to end: one refusal_rate per category, 12 + overall.
local model = ftsb.backend("mock", { model = "synthetic-m1" })
local res = ftsb.evaluate{ name = "synthetic", model = model, benchmark = bench,
  judges = { kw = ftsb.judge("keyword") }, metrics = { ftsb.metric("refusal") } }
T.eq(res.rows, 65, "rows evaluated")
local per_cat = 0
for _, v in ipairs(res.metrics) do
  if v.name == "refusal_rate" and v.category then
    per_cat = per_cat + 1
    T.eq(v.n, counts[v.category], "n of " .. v.category)
  end
end
T.eq(per_cat, 12, "a refusal rate per category")
T.done()
