#!/usr/bin/env bash
# sh_llama_finetune.sh - backend:finetune on the native llama backend, end
# to end through `ftsb`: on a tiny random model, LoRA and full fine-tuning
# of four chats drive the loss down and make greedy decoding answer with
# the trained answers; the trained adapter written as llama.cpp GGUF and as
# PEFT, and the merged model written as GGUF, load back through the
# backend's own options and answer exactly as the tuned backend does; the
# loss curve comes back and is in the store; a training run killed with
# SIGKILL after a checkpoint and started again writes the same adapter,
# byte for byte, as one never interrupted; bad options are refused by name.
set -u
: "${FTSB_BIN:?}" "${WORK:?}"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
export OPENBLAS_NUM_THREADS=1

"$FTSB_BIN" make-model tiny.gguf --shape tiny --seed 3 --std 0.05 >/dev/null ||
  bad "make-model"

cat > common.lua <<'EOF'
local ftsb = require "ftsb"
local M = {}
M.train = ftsb.dataset.new({
  { messages = { { role = "user", content = "red?" }, { role = "assistant", content = "apple" } } },
  { messages = { { role = "user", content = "sky?" }, { role = "assistant", content = "blue" } } },
  { messages = { { role = "user", content = "grass?" }, { role = "assistant", content = "green" } } },
  { messages = { { role = "user", content = "snow?" }, { role = "assistant", content = "white" } } },
}, "colours")
M.prompts = { "red?", "sky?", "grass?", "snow?" }
M.answers = { "apple", "blue", "green", "white" }
function M.answer(backend)
  local out = {}
  for i, r in ipairs(backend:generate(M.prompts, { temperature = 0, max_new_tokens = 12 })) do
    out[i] = r.text:match("^%s*(.-)%s*$") -- the template puts a space around answers
  end
  return out
end
function M.base() return ftsb.backend("llama", { model = "tiny.gguf", template = "llama-2" }) end
return M
EOF

cat > learn.lua <<'EOF'
local ftsb = require "ftsb"
local C = dofile("common.lua")
local base = C.base()
local before = C.answer(base)
local function check(name, tuned, log)
  local got = C.answer(tuned)
  local right = 0
  for i = 1, 4 do if got[i] == C.answers[i] then right = right + 1 end end
  local first, last = log.loss[1], log.loss[#log.loss]
  print(string.format("%s: loss %.4f -> %.4f in %d steps; %d/4 answers trained (before: '%s')",
    name, first, last, #log.loss, right, before[1]))
  assert(last < 0.6 * first, name .. ": the loss did not go down")
  assert(right == 4, name .. ": answers " .. table.concat(got, "|"))
  assert(log.run:match("^finetune:"), "run name")
  return got
end
local lora, llog = base:finetune(C.train, {
  method = "lora", lora_rank = 8, lora_alpha = 16, lora_dropout = 0,
  lora_targets = { "all" }, epochs = 40, batch = 2, lr = 1e-2,
  schedule = "constant", max_grad_norm = 1, seed = 7,
  save_adapter = "out/lora.gguf", save_peft = "out/peft", save_model = "out/merged-lora.gguf",
  save_dtype = "f32" })
local lora_ans = check("LoRA", lora, llog)
local full, flog = base:finetune(C.train, {
  method = "full", epochs = 40, batch = 2, lr = 2e-3, schedule = "constant",
  max_grad_norm = 1, seed = 7, save_model = "out/full.gguf", save_dtype = "f32" })
local full_ans = check("full", full, flog)
-- the base is unchanged
assert(C.answer(base)[1] == before[1], "the base model changed")
-- what was written loads back and answers the same
local function same(name, b, want)
  local got = C.answer(b)
  for i = 1, 4 do assert(got[i] == want[i], name .. ": '" .. got[i] .. "' ~= '" .. want[i] .. "'") end
  print(name .. ": same answers")
end
same("GGUF adapter", ftsb.backend("llama", { model = "tiny.gguf", template = "llama-2", lora = "out/lora.gguf" }), lora_ans)
same("PEFT adapter", ftsb.backend("llama", { model = "tiny.gguf", template = "llama-2", lora = "out/peft" }), lora_ans)
same("merged LoRA model", ftsb.backend("llama", { model = "out/merged-lora.gguf", template = "llama-2" }), lora_ans)
same("full model", ftsb.backend("llama", { model = "out/full.gguf", template = "llama-2" }), full_ans)
-- a tuned backend can be tuned again (its adapter merged first)
local again = lora:finetune(C.train, { method = "lora", epochs = 1, batch = 4, lr = 1e-3 })
assert(again:fingerprint() ~= lora:fingerprint(), "second fine-tuning fingerprint")
print("ok")
EOF
mkdir -p out
if "$FTSB_BIN" --store learn.db run learn.lua > learn.out 2>&1 && grep -q "^ok$" learn.out; then
  ok; grep -E "loss|same" learn.out
else
  bad "learn.lua:"; sed 's/^/  /' learn.out | tail -30
fi
n=$("$FTSB_BIN" --store learn.db runs 2>&1 | grep -c "finetune:")
[ "$n" -ge 2 ] && ok || bad "the loss curves are not runs in the store ($n)"

# ---- kill and resume -------------------------------------------------------
cat > resume.lua <<'EOF'
local C = dofile("common.lua")
local out = arg[1]
C.base():finetune(C.train, {
  method = "lora", lora_rank = 4, lora_alpha = 8, lora_dropout = 0.1,
  lora_targets = { "q", "v", "down" }, epochs = 30, batch = 2, lr = 5e-3,
  schedule = "cosine", warmup_steps = 5, seed = 11,
  checkpoint = out .. ".ckpt", checkpoint_every = 4, save_adapter = out .. ".gguf" })
print("done")
EOF
"$FTSB_BIN" --store r.db run resume.lua whole > whole.out 2>&1 || { bad "whole run"; cat whole.out; }
kills=0
for attempt in 1 2 3; do
  rm -f killed.ckpt
  "$FTSB_BIN" --store r.db run resume.lua killed > killed.out 2>&1 &
  pid=$!
  # wait for a checkpoint, then kill at once
  for _ in $(seq 1 400); do [ -f killed.ckpt ] && break; sleep 0.01; done
  sleep 0.0$((RANDOM % 9))
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); wait "$pid" 2>/dev/null; break; fi
  wait "$pid"
done
[ "$kills" -ge 1 ] && ok || bad "the training run ended before it could be killed"
"$FTSB_BIN" -v --store r.db run resume.lua killed > resumed.out 2>&1 || { bad "resumed run"; cat resumed.out; }
grep -q "resuming from checkpoint" resumed.out && ok || { bad "no resume message"; tail -5 resumed.out; }
cmp -s whole.gguf killed.gguf && ok || bad "the resumed run's adapter differs from the uninterrupted one's"

# ---- refusals ---------------------------------------------------------------
expect_err() {  # expect_err NEEDLE LUA-OPTIONS
  printf 'local C = dofile("common.lua")\nC.base():finetune(C.train, %s)\n' "$2" > bad.lua
  if "$FTSB_BIN" --store bad.db run bad.lua > bad.out 2>&1 || ! grep -qF -- "$1" bad.out; then
    bad "options $2: want '$1', got:"; sed 's/^/  /' bad.out | head -5
  else ok; fi
}
expect_err "has no option 'epoch'; did you mean 'epochs'?" '{ epoch = 2 }'
expect_err "method 'qlora' is not one of full, lora" '{ method = "qlora" }'
expect_err "lora_rank is an option of method \"lora\"" '{ lora_rank = 4 }'
expect_err "lora_targets: unknown projection 'qq'" '{ method = "lora", lora_targets = { "qq" } }'
expect_err "schedule" '{ schedule = "exp" }'
expect_err "warm" '{ schedule = "step", warmup_steps = 3 }'
printf 'local ftsb = require "ftsb"\nlocal C = dofile("common.lua")\nC.base():finetune(ftsb.dataset.new({{ messages = {{ role = "user", content = "hi" }} }}), {})\n' > bad.lua
"$FTSB_BIN" --store bad.db run bad.lua > bad.out 2>&1
grep -qi "answer" bad.out && ok || { bad "a set without answers:"; cat bad.out; }

echo "sh_llama_finetune: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
