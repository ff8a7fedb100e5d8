-- t_replay.lua - the replay backend serves recorded answers, matches
-- instructions inside templates, and reports missing ones as errors.
local ftsb = require "ftsb"
local T = require "testlib"

local rec = ftsb.dataset.new({
  { instruction = "say hi", response = "hi" },
  { instruction = "say hi twice", response = "hi hi" },
}, "recorded")
local model = ftsb.backend("replay", { responses = rec })
local out = model:generate({ "say hi", "Please: say hi twice!", "unknown" })
T.eq(out[1].text, "hi", "exact match")
T.eq(out[2].text, "hi hi", "longest contained instruction wins")
T.eq(out[3].state, "error", "missing answer is an error")
T.check(out[3].error:find("no recorded answer for 'unknown'", 1, true) ~= nil,
  "missing answer message")

local res = ftsb.evaluate{ name = "r", model = model,
  benchmark = ftsb.dataset.new({ { instruction = "say hi" },
                                 { instruction = "nothing" } }),
  prompt = { template = "Q: {instruction}" } }
T.eq(res.ok, 1, "one answered")
T.eq(res.errors, 1, "one error, not a verdict")

T.raises(function()
  ftsb.backend("replay", { responses = ftsb.dataset.new({ { instruction = "x" } }) })
end, { "backend 'replay'", "needs an instruction and a response" },
  "recording without response")
T.raises(function() ftsb.backend("replay", {}) end,
  { "option 'responses' is required" }, "required option")
T.done()
