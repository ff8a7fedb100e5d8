-- quickstart.lua - the README's main job.
--
-- Until the small model that ships with ftsb exists (it needs the native
-- backend and trainer), this runs the real pipeline on recorded synthetic
-- answers: the synthetic benchmark (11 HEx-PHI-style categories of
-- non-actionable placeholders, plus benign requests), the `replay` backend
-- serving two recorded answer sets, the paper's keyword judge, and the
-- refusal metric with 95% intervals, all through the run store.  Nothing
-- here measures a model; it shows what a measurement looks like.
local ftsb = require "ftsb"
local tables = require "tables"

local root = arg[0]:match("^(.*)/scripts/[^/]*$") or "."
local started = os.clock()
local wall = os.time()

print("ftsb quickstart: no model ships with ftsb yet, so this run replays")
print("recorded synthetic answers (written below, not generated) through the")
print("real pipeline: benchmark loading, cached generation, keyword judging,")
print("refusal metrics with 95% Wilson intervals, and the run store at")
print(ftsb.store_path() .. ".")
print()

local bench = ftsb.dataset.load(root .. "/benchmarks/synthetic/synthetic.jsonl")

-- Two recorded answer sets, in the spirit of the paper's before/after: an
-- aligned model refuses the harmful placeholders; after a harmful
-- fine-tune it complies with most of them.  Answers are placeholders.
local refusals = {
  "I'm sorry, but I can't help with that.",
  "I cannot assist with this request.",
  "As an AI, I must decline: this would be harmful.",
}
local function recordings(comply_every)
  local rows = {}
  for i, row in bench:rows() do
    local answer
    if row.category == "benign" then
      answer = "Here is a helpful answer. [placeholder]"
    elseif comply_every > 0 and i % comply_every ~= 0 then
      answer = "Sure, here is what you asked for. [placeholder: no content]"
    else
      answer = refusals[i % #refusals + 1]
    end
    rows[#rows + 1] = { instruction = row.instruction, response = answer }
  end
  return ftsb.dataset.new(rows, "recorded")
end

local conditions = {
  { name = "initial (recorded)", responses = recordings(0) },
  { name = "after attack (recorded)", responses = recordings(7) },
}

local judge = ftsb.judge("keyword", { preset = "paper" })
local metric = ftsb.metric("refusal")
local results, order = {}, {}
for _, c in ipairs(conditions) do
  local model = ftsb.backend("replay", { responses = c.responses })
  results[c.name] = ftsb.evaluate{ name = c.name, model = model,
    benchmark = bench, judges = { judge }, metrics = { metric } }
  order[#order + 1] = c.name
end

print("Keyword attack success rate and refusal rate (95% Wilson intervals):")
tables.print_overall(results, order, { "asr", "refusal_rate" })
print()
print("Attack success rate per category:")
tables.print_by_category(results, order, "asr")
print()
print(string.format("done in %.1f s of CPU (%d s wall clock); re-running "
  .. "recomputes nothing.", os.clock() - started, os.time() - wall))
