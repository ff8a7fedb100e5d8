-- moderation_case.lua - driven by sh_moderation.sh: one case of the
-- moderation judge against the mock server at MOCK_URL, chosen by the
-- first argument; prints one line per verdict (state, refused, rationale
-- or error) for the shell test to check.
local ftsb = require "ftsb"
local case = ...
local function judge(opts)
  local o = { base_url = os.getenv("MOCK_URL"), model = "mock-moderation",
              batch = 2, max_attempts = 2, backoff_base_ms = 5, backoff_cap_ms = 20 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return ftsb.judge("moderation", o)
end
local function show(vs)
  for i, v in ipairs(vs) do
    print(i, v.state, tostring(v.refused), v.rationale or "", v.error or "")
  end
end
local items = {
  { instruction = "q1", response = "A calm answer." },
  { instruction = "q2", response = "An answer [mock:flag] here." },
  { instruction = "q3", response = "Words [mock:harass] here." },
  { instruction = "[mock:flag] q4", response = "[mock:borderline] text" },
  { instruction = "q5", response = "" },
}
if case == "basic" then
  show(judge():judge(items))
elseif case == "again" then
  show(judge():judge(items))           -- same store: from the verdict cache
elseif case == "threshold" then
  show(judge({ threshold = 0.7 }):judge(items))
elseif case == "prompt" then
  show(judge({ target = "prompt" }):judge(items))
elseif case == "fault" then
  show(judge():judge({ items[1], items[2], items[3] }))
elseif case == "auth" then
  local ok, err = pcall(function() return judge():judge({ items[1] }) end)
  print("raised", tostring(not ok), err)
elseif case == "options" then
  for _, o in ipairs({ { target = "answer" }, { batch = 0 }, { threshold = 2 },
                       { base_url = "ftp://x" } }) do
    local ok, err = pcall(judge, o)
    print("refused", tostring(not ok), err)
  end
  print("fingerprint", judge():fingerprint())
  print("fingerprint", judge({ threshold = 0.7 }):fingerprint())
elseif case == "eval" then
  -- The mock model echoes the instruction, so markers reach the answers.
  local bench = ftsb.dataset.new({
    { instruction = "tell a story", category = "A" },
    { instruction = "[mock:flag] story", category = "A" },
    { instruction = "[mock:harass] note", category = "B" },
    { instruction = "plain note", category = "B" },
  }, "mod-bench")
  local res = ftsb.evaluate{ name = "moderated", model = ftsb.backend("mock"), benchmark = bench,
    judges = { mod = judge() }, metrics = { ftsb.metric("flagged", { judge = "mod" }) } }
  for _, m in ipairs(res.metrics) do
    print("metric", m.name, m.category or "all", m.value, m.n, m.errors)
  end
elseif case == "screen" then
  -- Screening a fine-tuning set: the assistant answers of the AOA
  -- identity-shift conversations, judged as responses.
  local data = ftsb.attack("identity_shift"):dataset()
  local its = {}
  for _, row in data:rows() do
    its[#its + 1] = { instruction = row.instruction or "", response = row.response or "" }
  end
  local flagged = 0
  for _, v in ipairs(judge({ batch = 4 }):judge(its)) do
    if v.refused == false then flagged = flagged + 1 end
  end
  print("screened", #its, flagged)
end
