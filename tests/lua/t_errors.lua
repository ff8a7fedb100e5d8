-- t_errors.lua - what a script author sees when something is wrong.
local ftsb = require "ftsb"
local T = require "testlib"

T.raises(function() ftsb.backend("mock", { modle = "x" }) end,
  { "backend 'mock'", "no option 'modle'", "did you mean 'model'" },
  "misspelt key")
T.raises(function() ftsb.backend("mock", { zzzzzzzzzz = 1 }) end,
  { "no option 'zzzzzzzzzz'", "options are: model, calls_file" },
  "unknown key lists options")
T.raises(function() ftsb.backend("mock", { delay_ms = "slow" }) end,
  { "option 'delay_ms' must be an integer" }, "wrong type")
T.raises(function() ftsb.backend("mock", { delay_ms = 1.5 }) end,
  { "must be an integer", "fraction" }, "fraction for an integer")
T.raises(function() ftsb.backend("mock", { fail_create = true }) end,
  { "backend 'mock'", "cannot open model 'mock-1': told to fail" },
  "plugin error message")
T.raises(function() ftsb.backend("nosuch") end,
  { "no backend plugin 'nosuch'", "ftsb plugins" }, "unknown plugin")
T.raises(function() ftsb.judge("mock", { x = 1 }) end,
  { "judge 'mock' has no option 'x'; it takes no options" }, "no options")
T.raises(function() ftsb.dataset.load("/nonexistent/file.jsonl") end,
  { "/nonexistent/file.jsonl" }, "missing dataset file")
T.raises(function()
  ftsb.evaluate{ model = ftsb.backend("mock"), benchmark = ftsb.dataset.new({}),
    prompt = { template = "no placeholder" } }
end, { "has no '{instruction}' placeholder" }, "template without placeholder")
T.raises(function()
  ftsb.evaluate{ benchmark = ftsb.dataset.new({}) }
end, { "'model'", "required" }, "evaluate without model")
T.raises(function()
  ftsb.backend("mock"):generate({ { { role = "robot", content = "x" } } })
end, { "role 'robot'" }, "bad role")
T.raises(function()
  ftsb.backend("mock"):generate({ "x" }, { temprature = 0 })
end, { "unknown decoding parameter 'temprature'" }, "misspelt parameter")
T.raises(function()
  local b <close> = ftsb.backend("mock")
  b:close()
  b:generate({ "x" })
end, { "closed backend" }, "closed handle")
T.done()
