-- eval_fixture.lua - the evaluation the kill/resume and shard tests run:
-- 120 rows through the mock backend (slow enough to be killed mid-way),
-- then every record written to $OUT for comparison.
local ftsb = require "ftsb"

local rows = {}
for i = 1, 120 do
  rows[i] = { instruction = (i % 3 == 0 and "harm " or "task ") .. i,
              category = tostring(i % 11 + 1) }
end
local model = ftsb.backend("mock", { calls_file = os.getenv("CALLS"),
  delay_ms = tonumber(os.getenv("DELAY_MS") or "5") })
local res = ftsb.evaluate{ name = "e", model = model,
  benchmark = ftsb.dataset.new(rows, "fixture"),
  judges = { kw = ftsb.judge("mock") }, metrics = { ftsb.metric("mock") },
  batch = 4 }

local out = assert(io.open(os.getenv("OUT"), "w"))
for _, r in ipairs(ftsb.records(res.name)) do
  out:write(r.idx, "\t", r.state, "\t", r.response, "\t",
    tostring(r.verdicts.kw and r.verdicts.kw.refused), "\n")
end
for _, m in ipairs(res.metrics) do
  out:write(m.name, " ", string.format("%.6f", m.value), " ", m.n, "\n")
end
out:close()
