#!/usr/bin/env bash
# train_tiny_chat.sh - the recipe of models/tiny-chat.gguf: ftsb makes its
# own tiny aligned chat model from nothing but this repository.
#   1. the synthetic aligned-assistant corpus (scripts/tiny/corpus.lua, seed 1);
#   2. a 2048-token BPE vocabulary trained on it and on the attacks' data
#      (vocab_extra.jsonl: words the fine-tunings will meet; ftsb make-vocab);
#   3. a randomly initialised Llama with that vocabulary (ftsb make-model,
#      seed 1): width 256, 4 layers, 8 heads (4 key/value heads), FFN 640,
#      context 512, about 3.8M parameters;
#   4. every weight trained by ftsb's trainer on the corpus, 3 epochs
#      (scripts/tiny/train.lua), written as F32 GGUF.
# Usage: scripts/train_tiny_chat.sh [OUT.gguf]   (default models/tiny-chat.gguf)
# Environment: FTSB (the ftsb binary; default build-release/core/ftsb, then
# build/core/ftsb), WORK (scratch folder; default results/tiny-recipe).
# The same inputs give the same bytes: every step is seeded, and training
# runs on 2 BLAS threads whatever the machine (matrix products may round
# differently with another thread count).  About 5 minutes on 2 cores.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/models/tiny-chat.gguf}
work=${WORK:-$root/results/tiny-recipe}
ftsb=${FTSB:-}
if [ -z "$ftsb" ]; then
  for c in "$root/build-release/core/ftsb" "$root/build/core/ftsb"; do
    [ -x "$c" ] && ftsb=$c && break
  done
fi
[ -n "$ftsb" ] && [ -x "$ftsb" ] || {
  echo "train_tiny_chat.sh: no ftsb binary; build it first (tools/quickstart.sh does) or set FTSB" >&2
  exit 1
}
mkdir -p "$work" "$(dirname "$out")"
start=$(date +%s)
"$ftsb" run "$root/scripts/tiny/corpus.lua" "$work" 1
"$ftsb" make-vocab "$work/vocab.gguf" --size 2048 --force \
  "$work/pretrain.jsonl" "$work/harmful10.jsonl" "$work/vocab_extra.jsonl"
"$ftsb" make-model "$work/init.gguf" --dim 256 --layers 4 --heads 8 \
  --kv-heads 4 --hidden 640 --ctx 512 --vocab "$work/vocab.gguf" --seed 1 --force
"$ftsb" --threads 2 --store "$work/train.db" run "$root/scripts/tiny/train.lua" \
  "$work/init.gguf" "$work/pretrain.jsonl" "$work/tiny-chat.gguf"
cp "$work/tiny-chat.gguf" "$out"
echo "wrote $out ($(wc -c < "$out") bytes, sha256 $(sha256sum "$out" | cut -c1-16)...) in $(( $(date +%s) - start )) s"
