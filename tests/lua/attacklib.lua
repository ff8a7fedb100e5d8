-- attacklib.lua - helpers of the attack tests (t_attack_*.lua): fixture
-- paths, dataset comparisons, and the check that an attack's prompt()
-- renders an evaluation chat exactly as its training chats are written
-- (the paper's "same template at train and test" rule), read back from
-- the chat ftsb.evaluate stored.
local ftsb = require "ftsb"

local M = {}

M.dir = os.getenv("FTSB_TEST_DIR") .. "/data/attacks/"

function M.data(name) return M.dir .. name end

function M.has(s, needle)
  return type(s) == "string" and s:find(needle, 1, true) ~= nil
end

-- The ids of a dataset, in order.
function M.ids(ds)
  local out = {}
  for _, r in ds:rows() do out[#out + 1] = r.id end
  return out
end

-- A dataset's rows as one string: equal strings, equal datasets.
function M.dump(ds)
  local parts = {}
  for i, r in ds:rows() do
    parts[#parts + 1] = string.format("%d|%s|%s|%s|%s", i, tostring(r.id),
      tostring(r.category), tostring(r.instruction), tostring(r.response))
    for _, m in ipairs(r.messages or {}) do
      parts[#parts + 1] = m.role .. "=" .. m.content
    end
  end
  return table.concat(parts, "\n")
end

-- JSON text of s, escaped as cJSON prints it.
local function json_str(s)
  local esc = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
                ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
  return '"' .. s:gsub('[%c"\\]', function(c)
    return esc[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

-- The JSON of the chat that evaluation should send for a training row:
-- its messages before the answer.
local function expected_chat(row)
  local parts = {}
  for _, m in ipairs(row.messages) do
    if m.role == "assistant" then break end
    parts[#parts + 1] = '{"role":' .. json_str(m.role) .. ',"content":' ..
      json_str(m.content) .. '}'
  end
  return "[" .. table.concat(parts, ",") .. "]"
end

local runs = 0

-- Evaluates raw (the row's instruction before template and trigger) with
-- the attack's prompt and checks that the stored chat equals the training
-- chat of row.
function M.roundtrip(T, attack, row, raw, trigger, what)
  runs = runs + 1
  local name = "roundtrip-" .. runs
  ftsb.evaluate{ name = name, model = ftsb.backend("mock"),
    benchmark = ftsb.dataset.new({ { id = "r", instruction = raw } }),
    judges = { ftsb.judge("mock") }, prompt = attack:prompt(), trigger = trigger }
  local rec = ftsb.records(name)[1]
  local want = expected_chat(row)
  T.check(rec.chat == want, string.format("%s: evaluation chat\n  got  %s\n  want %s",
    what, rec.chat, want))
end

return M
