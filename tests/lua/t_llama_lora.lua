-- t_llama_lora.lua - the llama backend's lora and lora_scale options end
-- to end: the reference model spm-f32 with its reference LoRA adapter
-- (llama.cpp GGUF) generates llama.cpp's greedy text of the manifest's
-- adapter cases at scales 1 and 0.5; the fingerprint is the base's plus
-- the adapter's hash and scale; a PEFT folder written here is recognised
-- (zero B: the base's text; nonzero B: another text; both of its files in
-- the fingerprint); an adapter for another model, a missing path and
-- lora_scale without lora are refused with messages that say which file.
-- Skips (0 checks) when the shared data is absent.
local ftsb = require "ftsb"
local T = require "testlib"

local shared = os.getenv("FTSB_SHARED_DIR")
if not shared or shared == "" then
  shared = (os.getenv("FTSB_TEST_DIR") or ".") .. "/../../shared"
end
local data = shared .. "/testdata/"
local model_path = data .. "reference/models/spm-f32.gguf"
local lora_path = data .. "reference/adapters/spm-f32.lora-r8.gguf"
local other_lora = data .. "reference/adapters/gqa-f16.lora-r4.gguf"
local mf = io.open(data .. "manifest.json", "r")
local probe = io.open(lora_path, "rb")
if not mf or not probe then
  print("skipped: no shared test data (" .. lora_path .. ")")
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
local function one(backend, prompt)
  return backend:generate({ prompt }, greedy)[1]
end

local base = ftsb.backend("llama", { model = model_path, template = "raw" })
local fp0 = base:fingerprint()

-- the GGUF adapter at the manifest's scales: llama.cpp's greedy texts
local full = ftsb.backend("llama", { model = model_path, template = "raw",
                                     lora = lora_path })
local r = one(full, "The quick brown fox jumps over the lazy dog.")
T.eq(r.state, "ok", "fox with the adapter generated")
T.eq(r.text, greedy_text("spm-f32-lora-fox"), "fox + lora: llama.cpp's greedy text")
local half = ftsb.backend("llama", { model = model_path, template = "raw",
                                     lora = lora_path, lora_scale = 0.5 })
r = one(half, "Hello world")
T.eq(r.text, greedy_text("spm-f32-lora-hello-s0.5"),
  "hello + lora at 0.5: llama.cpp's greedy text")
T.check(one(base, "Hello world").text == greedy_text("spm-f32-hello"),
  "the base instance is unchanged by the adapter instances")

-- fingerprints: the base's, then the adapter's hash and the scale
local f1, fh = full:fingerprint(), half:fingerprint()
T.check(f1:find(fp0, 1, true) == 1 and f1:match(":lora%x+%*1$") ~= nil,
  "fingerprint with an adapter extends the base's: " .. f1)
T.check(fh:match(":lora%x+%*0%.5$") ~= nil, "scale in the fingerprint: " .. fh)
T.eq(f1:match(":lora(%x+)"), fh:match(":lora(%x+)"), "same adapter, same hash")

-- a PEFT folder, written here: v_proj of layer 0, rank 2, alpha 2
local tmp = os.getenv("TMPDIR") .. "/t_llama_lora"
os.execute("rm -rf '" .. tmp .. "' && mkdir -p '" .. tmp .. "/zero' '"
  .. tmp .. "/live'")
local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end
local function peft(dir, alpha, b_of)
  local pfx = "base_model.model.model.layers.0.self_attn.v_proj."
  local a, b = {}, {}
  for k = 0, 1 do
    for i = 0, 63 do a[#a + 1] = string.pack("<f", ((k * 64 + i) % 7 - 3) * 0.1) end
  end
  for o = 0, 63 do
    for k = 0, 1 do b[#b + 1] = string.pack("<f", b_of(o, k)) end
  end
  local header = string.format('{"%slora_A.weight":{"dtype":"F32","shape":[2,64],'
    .. '"data_offsets":[0,512]},"%slora_B.weight":{"dtype":"F32","shape":[64,2],'
    .. '"data_offsets":[512,1024]}}', pfx, pfx)
  header = header .. string.rep(" ", (8 - #header % 8) % 8)
  write(dir .. "/adapter_model.safetensors", string.pack("<I8", #header) .. header
    .. table.concat(a) .. table.concat(b))
  write(dir .. "/adapter_config.json", string.format('{"peft_type": "LORA", "r": 2, '
    .. '"lora_alpha": %d, "target_modules": ["v_proj"]}', alpha))
end
peft(tmp .. "/zero", 2, function() return 0 end)
peft(tmp .. "/live", 2, function(o, k) return ((o * 2 + k) % 5 - 2) * 0.3 end)
local zero = ftsb.backend("llama", { model = model_path, template = "raw",
                                     lora = tmp .. "/zero" })
T.eq(one(zero, "Hello world").text, greedy_text("spm-f32-hello"),
  "PEFT folder with zero B: the base model's text")
T.check(zero:fingerprint():find(":lora", 1, true) ~= nil, "PEFT adapter in the fingerprint")
local live = ftsb.backend("llama", { model = model_path, template = "raw",
                                     lora = tmp .. "/live" })
T.check(one(live, "Hello world").text ~= greedy_text("spm-f32-hello"),
  "PEFT folder with nonzero B changes the text")
local fz = zero:fingerprint()
T.check(live:fingerprint() ~= fz, "other safetensors, other fingerprint")
peft(tmp .. "/zero", 4, function() return 0 end) -- only the config's alpha differs
T.check(ftsb.backend("llama", { model = model_path, template = "raw",
                                lora = tmp .. "/zero" }):fingerprint() ~= fz,
  "other adapter_config.json, other fingerprint")

-- refusals name the file
T.raises(function() ftsb.backend("llama", { model = model_path, lora = other_lora }) end,
  { "gqa-f16.lora-r4.gguf", "does not fit model", "blk.2.attn_q.weight.lora_a",
    "has 2 layers" },
  "an adapter for another model")
T.raises(function() ftsb.backend("llama", { model = data .. "reference/models/mqa-bf16.gguf",
                                            lora = lora_path }) end,
  { "spm-f32.lora-r8.gguf", "does not fit model", "mqa-bf16.gguf", "blk.0.attn_k.weight" },
  "an adapter whose shapes are not the model's")
T.raises(function() ftsb.backend("llama", { model = model_path, lora = tmp .. "/none.gguf" }) end,
  { "none.gguf", "cannot read lora" }, "a missing adapter")
T.raises(function() ftsb.backend("llama", { model = model_path,
                                            lora = tmp .. "/live/adapter_model.safetensors" }) end,
  { "adapter_model.safetensors", "give the folder" }, "a PEFT file instead of its folder")
os.execute("mkdir -p '" .. tmp .. "/empty'")
T.raises(function() ftsb.backend("llama", { model = model_path, lora = tmp .. "/empty" }) end,
  { "empty", "without adapter_config.json" }, "a folder that is not a PEFT adapter")
T.raises(function() ftsb.backend("llama", { model = model_path, lora_scale = 2 }) end,
  { "lora_scale is given but lora is not" }, "lora_scale alone")
os.execute("rm -rf '" .. tmp .. "'")
T.done()
