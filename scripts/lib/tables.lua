-- tables.lua - plain-text tables of evaluation metrics, for the terminal.
--
--   local tables = require "tables"
--   tables.print_rates({ before = res1, after = res2 }, { "before", "after" }, "asr")
--
-- A rate prints as a percentage with its 95% interval: "12.5% [4.2-31.0]".
local M = {}

local function pct(v) return string.format("%5.1f%%", 100 * v) end

function M.rate(m)
  if not m then return "n/a" end
  return string.format("%s [%.1f-%.1f]", pct(m.value), 100 * m.lo, 100 * m.hi)
end

-- The metric named `name` for `category` (nil = overall) in a summary.
function M.find(summary, name, category)
  for _, m in ipairs(summary.metrics) do
    if m.name == name and m.category == category then return m end
  end
end

-- Categories in the order the summary reports them.
function M.categories(summary, name)
  local out = {}
  for _, m in ipairs(summary.metrics) do
    if m.name == name and m.category then out[#out + 1] = m.category end
  end
  return out
end

-- One row per condition: the overall value of each metric name.
function M.print_overall(results, order, names)
  local head = string.format("%-22s", "condition")
  for _, n in ipairs(names) do head = head .. string.format("  %-24s", n) end
  print(head)
  for _, cond in ipairs(order) do
    local line = string.format("%-22s", cond)
    for _, n in ipairs(names) do
      line = line .. string.format("  %-24s", M.rate(M.find(results[cond], n)))
    end
    print(line)
  end
end

-- One row per category, one column per condition, for one metric name.
function M.print_by_category(results, order, name)
  local head = string.format("%-32s", "category")
  for _, cond in ipairs(order) do head = head .. string.format("  %-22s", cond) end
  print(head)
  for _, cat in ipairs(M.categories(results[order[1]], name)) do
    local line = string.format("%-32s", cat)
    for _, cond in ipairs(order) do
      line = line .. string.format("  %-22s", M.rate(M.find(results[cond], name, cat)))
    end
    print(line)
  end
end

return M
