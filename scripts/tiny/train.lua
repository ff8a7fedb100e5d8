-- train.lua - the training step of the tiny chat model's recipe
-- (scripts/train_tiny_chat.sh): every weight of a randomly initialised
-- Llama trained with ftsb's own trainer on the aligned-assistant corpus,
-- loss on the assistant's answers only, rendered with the llama-2
-- template the quickstart evaluates with; the result is written as GGUF.
--
--   ftsb --threads 2 run scripts/tiny/train.lua INIT.gguf PRETRAIN.jsonl OUT.gguf
--
-- Deterministic: the same files and thread count give the same bytes.
-- A checkpoint (OUT.ckpt) is written every 100 steps; if the run is
-- stopped, running the same command again continues from it.
local ftsb = require "ftsb"

local init, data, out = arg[1], arg[2], arg[3]
if not (init and data and out) then
  error("usage: ftsb run scripts/tiny/train.lua INIT.gguf PRETRAIN.jsonl OUT.gguf", 0)
end

local model = ftsb.backend("llama", { model = init, template = "llama-2" })
local train = ftsb.dataset.load(data, "chat")
local started = os.time()
local _, log = model:finetune(train, {
  method = "full", epochs = 3, batch = 16, lr = 1e-3,
  schedule = "cosine", warmup_steps = 50, min_lr = 1e-4, max_grad_norm = 1,
  seed = 1, max_len = 256,
  checkpoint = out .. ".ckpt", checkpoint_every = 100,
  save_model = out, save_dtype = "f32" })
print(string.format("trained %d steps in %d s: loss %.3f -> %.3f; wrote %s",
  #log.loss, os.time() - started, log.loss[1], log.loss[#log.loss], out))
