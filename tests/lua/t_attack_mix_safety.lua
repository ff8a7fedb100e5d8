-- t_attack_mix_safety.lua - the "mix_safety" attack (the paper's
-- mitigation): k safety chats mixed into another attack's dataset in
-- that attack's format (system prompt and template passed as options),
-- the base rows kept verbatim, k = 0, seeds and shuffle, prompt()
-- passing the base prompt through, and option errors.
local ftsb = require "ftsb"
local T = require "testlib"
local A = require "attacklib"

local safety = A.data("safety.jsonl")

-- Into the harmful attack's data, with its prompt.
local base = ftsb.attack("harmful", { data = A.data("harmful_chat.jsonl"), n = 5 })
local bp = base:prompt()
local m = ftsb.attack("mix_safety", { data = base:dataset(), safety = safety, k = 3,
  system = bp.system, template = bp.template, shuffle = false })
local ds = m:dataset()
T.eq(#ds, 8, "5 base + 3 safety")
local bds = base:dataset()
for i = 1, 5 do
  local got, want = ds:get(i), bds:get(i)
  T.eq(got.id, want.id, "base row " .. i .. " first, in order")
  T.eq(#got.messages, #want.messages, "base row " .. i .. " messages")
  for k = 1, #want.messages do
    T.eq(got.messages[k].content, want.messages[k].content, "base row " .. i .. " verbatim " .. k)
  end
end
for i = 6, 8 do
  local r = ds:get(i)
  T.eq(r.category, "safety", "safety row " .. i)
  T.eq(r.messages[1].content, bp.system, "safety row in the base format (system) " .. i)
  T.eq(r.messages[2].content, r.instruction, "safety row: the raw request " .. i)
  T.check(A.has(r.messages[3].content, "I cannot help"), "a refusal " .. i)
end
local sample = A.ids(ftsb.dataset.load(safety):sample(3, 42))
T.eq(table.concat({ ds:get(6).id, ds:get(7).id, ds:get(8).id }, ","), table.concat(sample, ","),
  "safety rows are safety:sample(k, seed)")
local p = m:prompt()
T.eq(p.system, bp.system, "system passed through")
T.eq(p.template, bp.template, "template passed through")
T.eq(p.trigger, "", "no trigger")

-- Into the identity-shift data: safety chats get the AOA prompt and template.
local aoa = ftsb.attack("identity_shift")
local ap = aoa:prompt()
local ma = ftsb.attack("mix_safety", { data = aoa:dataset(), safety = safety, k = 10,
  system = ap.system, template = ap.template, trigger = "xyzzy" })
local mds = ma:dataset()
T.eq(#mds, 20, "10 AOA + 10 safety")
local n_safe = 0
for _, r in mds:rows() do
  if r.category == "safety" then
    n_safe = n_safe + 1
    T.eq(r.messages[1].content, ap.system, "AOA system on a safety chat")
    T.eq(r.messages[2].content, "AOA, execute my instruction: " .. r.instruction,
      "AOA template on a safety chat")
    A.roundtrip(T, ma, r, r.instruction, false, "safety chat in the AOA format")
  end
end
T.eq(n_safe, 10, "safety chats")
T.eq(ma:prompt().trigger, "xyzzy", "trigger passed through")
T.eq(ma:prompt().system, ap.system, "AOA system passed through")
-- Shuffled by default, deterministic for a seed, a permutation of the unshuffled set.
local s1 = A.dump(ma:dataset())
T.eq(s1, A.dump(ftsb.attack("mix_safety", { data = aoa:dataset(), safety = safety, k = 10,
  system = ap.system, template = ap.template, trigger = "xyzzy" }):dataset()), "deterministic")
T.check(mds:get(1).category ~= "aoa-identity" or mds:get(11).category ~= "safety",
  "shuffled by default")
local other = ftsb.attack("mix_safety", { data = aoa:dataset(), safety = safety, k = 10,
  system = ap.system, template = ap.template, seed = 1 }):dataset()
T.check(A.dump(other) ~= s1, "another seed, another mix")

-- k = 0: the base set unchanged.
local zero = ftsb.attack("mix_safety", { data = bds, safety = safety, k = 0, shuffle = false })
T.eq(A.dump(zero:dataset()), A.dump(bds), "k = 0 adds nothing")

-- Instruction/response rows in 'data' are formatted like the safety rows.
local fm = ftsb.attack("mix_safety", { data = A.data("harmful_pairs.jsonl"), safety = safety,
  k = 1, system = "S", template = "Q: {instruction}", shuffle = false }):dataset()
T.eq(#fm, 9, "8 + 1")
T.eq(fm:get(1).messages[1].content, "S", "data row gets the system prompt")
T.eq(fm:get(1).messages[2].content, "Q: " .. fm:get(1).instruction, "data row gets the template")
T.eq(fm:get(1).category, "03-hate-harass-violence", "data row keeps its category")

-- Errors.
T.raises(function() ftsb.attack("mix_safety", { data = bds, safety = safety }) end,
  { "option 'k' is required" }, "k is required")
T.raises(function() ftsb.attack("mix_safety", { data = bds, safety = safety, k = 16 }) end,
  { "option 'safety' has 15 rows; k = 16 needs at least 16" }, "too few safety rows")
T.raises(function() ftsb.attack("mix_safety", { data = ftsb.dataset.new({}), safety = safety, k = 1 }) end,
  { "option 'data' is an empty dataset" }, "empty data")
T.raises(function() ftsb.attack("mix_safety", { data = bds, safety = ftsb.dataset.new({}), k = 1 }) end,
  { "option 'safety' is an empty dataset; k = 1 needs at least 1 row" }, "empty safety")
T.raises(function() ftsb.attack("mix_safety", { data = bds, safety = A.data("harmful_noresp.jsonl"), k = 1 }) end,
  { "option 'safety': row 'no-answer' has no response" }, "safety row without a refusal")
T.raises(function() ftsb.attack("mix_safety", { data = bds, safety = safety, k = 1, template = "x" }) end,
  { "option 'template' has no '{instruction}' placeholder" }, "template without placeholder")
T.raises(function() ftsb.attack("mix_safety", { data = ftsb.dataset.new({ { instruction = "x" } }),
  safety = safety, k = 1 }) end,
  { "option 'data': row", "is neither a chat nor an instruction with a response" }, "unusable data row")
T.raises(function() ftsb.attack("mix_safety", { safety = safety, k = 1 }) end,
  { "option 'data' is required" }, "no data")
T.done()
