-- t_llama.lua - the native llama backend end to end: loads the reference
-- model spm-f32.gguf from the shared test data, generates greedily with
-- template raw (the reference prompts are raw text) and with llama-2 (the
-- reference chat case is a rendered Llama-2 chat), compares with the text
-- llama.cpp produced (manifest.json), and runs an evaluation through it.
-- Skips (0 checks) when the shared data is absent.
local ftsb = require "ftsb"
local T = require "testlib"

local shared = os.getenv("FTSB_SHARED_DIR")
if not shared or shared == "" then
  shared = (os.getenv("FTSB_TEST_DIR") or ".") .. "/../../shared"
end
local model_path = shared .. "/testdata/reference/models/spm-f32.gguf"
local mf = io.open(shared .. "/testdata/manifest.json", "r")
local probe = io.open(model_path, "rb")
if not mf or not probe then
  print("skipped: no shared test data (" .. model_path .. ")")
  if mf then mf:close() end
  if probe then probe:close() end
  T.done()
  return
end
probe:close()
local manifest = mf:read("a")
mf:close()

-- The greedy text of a case: its greedy_text_hex, decoded.
local function greedy_text(case_id)
  local at = assert(manifest:find('"id": "' .. case_id .. '"', 1, true),
    "case " .. case_id)
  local hex = assert(manifest:match('"greedy_text_hex": "(%x*)"', at))
  return (hex:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

local greedy = { max_new_tokens = 24, temperature = 0 }

-- raw: the prompt text as llama.cpp tokenized it, BOS first
local raw = ftsb.backend("llama", { model = model_path, template = "raw" })
T.check(raw:fingerprint():find("llama:%x+:raw%+bos:ctx2048") ~= nil,
  "fingerprint has the hash, template and context: " .. raw:fingerprint())
local out = raw:generate({ "Hello world", "The quick brown fox jumps over the lazy dog." },
  greedy)
T.eq(out[1].state, "ok", "hello generated")
T.eq(out[1].text, greedy_text("spm-f32-hello"), "hello: llama.cpp's greedy text")
T.eq(out[1].finish, "length", "hello ran to max_new_tokens")
T.eq(out[1].prompt_tokens, 3, "hello prompt tokens (BOS + 2)")
T.eq(out[1].completion_tokens, 24, "hello completion tokens")
T.eq(out[2].state, "ok", "fox generated (its bytes are not UTF-8: replaced)")
T.eq(out[2].completion_tokens, 24, "fox completion tokens")

-- a stop string inside the known continuation cuts the text before it
local want = greedy_text("spm-f32-hello")
local stop = want:sub(10, 14)
local cut = raw:generate({ "Hello world" }, { max_new_tokens = 24, temperature = 0,
  stop = { stop } })[1]
T.eq(cut.finish, "stop_string", "stop string ends generation")
T.eq(cut.text, want:sub(1, want:find(stop, 1, true) - 1), "text ends before the stop string")

-- sampling is deterministic per seed and chat
local s1 = raw:generate({ "Hello world" }, { max_new_tokens = 8, temperature = 0.8,
  top_p = 0.9, seed = 7 })[1]
local s2 = ftsb.backend("llama", { model = model_path, template = "raw", batch = 2 })
  :generate({ "Once upon a time", "Hello world" }, { max_new_tokens = 8,
    temperature = 0.8, top_p = 0.9, seed = 7 })[2]
T.eq(s2.text, s1.text, "same seed and chat, other batch: same sample")

-- llama-2: the chat case of the reference, rendered by the named template;
-- the reply's leading word-start space is dropped, as HF's decode does
local chat = ftsb.backend("llama", { model = model_path, template = "llama-2" })
local r = chat:generate({ {
  { role = "system", content = "You are a helpful, respectful and honest assistant." },
  { role = "user", content = "Name three primary colors and one fruit of each color." },
} }, greedy)[1]
T.eq(r.prompt_tokens, 43, "llama-2 chat prompt tokens")
T.eq(r.text, greedy_text("spm-f32-chat"):sub(2), "llama-2 chat: llama.cpp's greedy text")
T.check(chat:fingerprint() ~= raw:fingerprint(), "the template is in the fingerprint")

-- the template guessed from the model's tokenizer.chat_template (Llama-2)
local guessed = ftsb.backend("llama", { model = model_path })
T.check(guessed:fingerprint():find(":llama%-2:") ~= nil, "template guessed: llama-2")

-- a prompt longer than the context fails alone
local short = ftsb.backend("llama", { model = model_path, template = "raw", context = 8 })
local o2 = short:generate({ "Hello world", "The quick brown fox jumps over the lazy dog." },
  { max_new_tokens = 4, temperature = 0 })
T.eq(o2[1].state, "ok", "short prompt fits")
T.eq(o2[2].state, "error", "long prompt is an error")
T.check((o2[2].error or ""):find("context holds 8", 1, true) ~= nil,
  "error says why: " .. tostring(o2[2].error))

T.raises(function() ftsb.backend("llama", { model = model_path, template = "alpaca" }) end,
  { "unknown template 'alpaca'", "llama-2, chatml, llama-3, plain, raw" }, "unknown template")
T.raises(function() ftsb.backend("llama", { model = shared .. "/testdata/manifest.json" }) end,
  { "manifest.json" }, "not a GGUF file")

-- an evaluation through the backend
local res = ftsb.evaluate{ name = "llama-eval", model = raw,
  benchmark = ftsb.dataset.new({ { instruction = "Hello world" },
                                 { instruction = "Once upon a time" } }),
  params = greedy, batch = 2 }
T.eq(res.ok, 2, "evaluation generated both rows")
T.eq(res.errors, 0, "no errors")
local recs = ftsb.records("llama-eval")
T.eq(recs[1].response, greedy_text("spm-f32-hello"), "evaluation record holds the answer")
T.done()
