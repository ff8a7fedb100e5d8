#!/usr/bin/env bash
# sh_model_info.sh - `ftsb model-info`: the four reference models described
# with the figures of their manifest (text and --json), every malformed file
# of tests/data/gguf refused with the reader's message, files that can be
# read but not run (another architecture, no tensors) described with the
# reason and status 1, an adapter, and usage errors with status 2.  The
# shared reference data is optional: without it those cases are skipped.
set -u
: "${FTSB_BIN:?}" "${FTSB_TEST_DIR:?}" "${WORK:?}"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
pass=0; fail=0; skip=0

shared=${FTSB_SHARED_DIR:-$FTSB_TEST_DIR/../../shared}
td=$shared/testdata
[ -f "$td/manifest.json" ] || td=
py=$(command -v python3 || true)

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# expect STATUS NEEDLE -- COMMAND...: status and a line of stdout+stderr
expect() {
  local want=$1 needle=$2; shift 3
  "$@" >out.txt 2>&1; local got=$?
  if [ "$got" -ne "$want" ] || ! grep -qF -- "$needle" out.txt; then
    bad "$* -> status $got (want $want, needle '$needle'), output:"
    sed 's/^/  /' out.txt | head -20
  else
    ok
  fi
}

# ---- usage ---------------------------------------------------------------
expect 0 "usage: ftsb model-info FILE.gguf" -- "$FTSB_BIN" model-info --help
expect 0 "model-info FILE.gguf" -- "$FTSB_BIN" --help
expect 2 "model-info: which file?" -- "$FTSB_BIN" model-info
expect 2 "unknown option '--jsn'" -- "$FTSB_BIN" model-info --jsn x.gguf
expect 2 "one file at a time" -- "$FTSB_BIN" model-info a.gguf b.gguf
expect 1 "cannot" -- "$FTSB_BIN" model-info missing.gguf
expect 1 "missing.gguf" -- "$FTSB_BIN" model-info missing.gguf

# ---- malformed files: the reader's own message, nothing on stdout --------
data=$FTSB_TEST_DIR/data/gguf
n=0
while IFS=$'\t' read -r file msg; do
  case $file in ''|'#'*) continue ;; esac
  "$FTSB_BIN" model-info "$data/$file" >stdout.txt 2>stderr.txt; st=$?
  if [ "$st" -ne 1 ] || ! grep -qF -- "$msg" stderr.txt ||
     ! grep -qF -- "$file" stderr.txt || [ -s stdout.txt ]; then
    bad "model-info $file -> status $st, want 1 and '$msg':"
    sed 's/^/  /' stderr.txt stdout.txt | head -5
  else
    ok
  fi
  n=$((n + 1))
done < "$data/EXPECTED"
[ "$n" -ge 40 ] && ok || bad "only $n malformed files in $data/EXPECTED"
expect 1 "the file is truncated" -- "$FTSB_BIN" model-info --json \
  "$data/truncated_header.gguf"

# ---- a file made here: readable, runnable --------------------------------
expect 0 "wrote" -- "$FTSB_BIN" make-model tiny.gguf --shape tiny --seed 1
expect 0 "runnable               yes" -- "$FTSB_BIN" model-info tiny.gguf
expect 0 "chat template          none stored" -- "$FTSB_BIN" model-info tiny.gguf
expect 0 "kv heads             2" -- "$FTSB_BIN" model-info tiny.gguf
expect 0 "grouped-query, 2 query heads per kv head" -- \
  "$FTSB_BIN" model-info tiny.gguf
expect 0 "output matrix        separate (output.weight)" -- \
  "$FTSB_BIN" model-info tiny.gguf
expect 0 "tokenizer.ggml.tokens" -- "$FTSB_BIN" model-info --keys tiny.gguf
expect 0 "blk.1.ffn_down.weight            F32   [192, 64]" -- \
  "$FTSB_BIN" model-info --tensors tiny.gguf

# A tokenizer-only GPT-2 vocabulary from the fuzz corpus: read, not run.
vocab=$FTSB_TEST_DIR/fuzz/corpus/gguf/tiny_gpt2_vocab.gguf
if [ -f "$vocab" ]; then
  expect 1 "(byte-level BPE)" -- "$FTSB_BIN" model-info "$vocab"
fi

# ---- reference models: the manifest's figures ----------------------------
if [ -z "$td" ]; then
  echo "SKIP: no shared test data at $shared (reference model checks)"
  skip=$((skip + 1))
else
  M=$td/reference/models
  for id in spm-f32 gqa-f16 mqa-bf16 gqa-q8_0; do
    expect 0 "runnable               yes" -- "$FTSB_BIN" model-info "$M/$id.gguf"
    expect 0 "tmpl_guess           llama-2" -- "$FTSB_BIN" model-info "$M/$id.gguf"
    "$FTSB_BIN" model-info --json --keys --tensors "$M/$id.gguf" \
      >"$id.json" 2>"$id.err" || bad "model-info --json $id: status $?"
  done
  expect 0 "tied to token_embd.weight" -- "$FTSB_BIN" model-info "$M/spm-f32.gguf"
  expect 0 "multi-query, 4 query heads per kv head" -- \
    "$FTSB_BIN" model-info "$M/mqa-bf16.gguf"
  expect 0 "Q8_0                 16 tensors" -- "$FTSB_BIN" model-info "$M/gqa-q8_0.gguf"
  expect 0 "rope base            500000" -- "$FTSB_BIN" model-info "$M/gqa-f16.gguf"
  expect 0 "adapter                lora, 21 A/B pairs, rank 4, alpha 10" -- \
    "$FTSB_BIN" model-info "$td/reference/adapters/gqa-f16.lora-r4.gguf"
  expect 1 "architecture 'gpt2' is not supported" -- \
    "$FTSB_BIN" model-info "$td/vocab/ggml-vocab-gpt-2.gguf"
  expect 1 "pre-tokenizer gpt-2" -- \
    "$FTSB_BIN" model-info "$td/vocab/ggml-vocab-gpt-2.gguf"
  expect 1 "no tensors: a vocabulary-only file" -- \
    "$FTSB_BIN" model-info "$td/vocab/ggml-vocab-llama-spm.gguf"
  "$FTSB_BIN" model-info --json "$td/vocab/ggml-vocab-gpt-2.gguf" \
    >gpt2.json 2>/dev/null

  cat >check.py <<'EOF'
import json, sys
man = json.load(open(sys.argv[1]))
bad = 0
def check(what, got, want):
    global bad
    same = abs(got - want) <= 1e-6 * abs(want) if isinstance(want, float) else got == want
    if not same:
        print(f"  {what}: model-info says {got!r}, the manifest {want!r}")
        bad += 1
ftype = {"F32": "all F32", "F16": "mostly F16", "BF16": "mostly BF16", "Q8_0": "mostly Q8_0"}
for m in man["models"]:
    d = json.load(open(m["id"] + ".json"))
    h, t, i = d["hparams"], d["tokenizer"], m["id"]
    for k, v in [("architecture", m["arch"]), ("file_bytes", m["bytes"]),
                 ("n_params", m["n_params"]), ("gguf_version", 3),
                 ("alignment", 32), ("runnable", True)]:
        check(f"{i} {k}", d[k], v)
    for k, v in [("embedding_length", "dim"), ("block_count", "n_layers"),
                 ("head_count", "n_heads"), ("head_count_kv", "n_kv_heads"),
                 ("head_dim", "head_dim"), ("feed_forward_length", "ffn_hidden"),
                 ("context_length", "context_length"), ("vocab_size", "n_vocab"),
                 ("rope_freq_base", "rope_freq_base"), ("rms_norm_eps", "rms_norm_eps")]:
        check(f"{i} {k}", h[k], m[v])
    check(f"{i} output", d["output"], "tied" if m["tied_output"] else "separate")
    check(f"{i} file type", d["file_type"]["name"], ftype[m["dtype"]])
    check(f"{i} tokens", t["tokens"], m["n_vocab"])
    check(f"{i} bos", t["bos_id"], m["bos_id"])
    check(f"{i} eos", t["eos_id"], m["eos_id"])
    check(f"{i} add_bos", t["add_bos"], True)
    check(f"{i} add_eos", t["add_eos"], False)
    check(f"{i} model", t["model"], "llama")
    check(f"{i} tmpl_guess", d["chat_template"]["tmpl_guess"], "llama-2")
    check(f"{i} tensor bytes", sum(x["bytes"] for x in d["tensors"]["list"]),
          d["memory"]["weights_bytes"])
    kv = 2 * m["n_layers"] * m["n_kv_heads"] * m["head_dim"] * 4 * 1024
    check(f"{i} kv per 1k", d["memory"]["kv_cache_bytes_per_1k_tokens"], kv)
    check(f"{i} problems", d["problems"], [])
    keys = {x["key"] for x in d["metadata"]}
    check(f"{i} metadata", "tokenizer.chat_template" in keys, True)
g = json.load(open("gpt2.json"))
check("gpt2 runnable", g["runnable"], False)
check("gpt2 arch", g["architecture_supported"], False)
check("gpt2 tokenizer", g["tokenizer"]["model"], "gpt2")
check("gpt2 problems", len(g["problems"]) >= 1, True)
sys.exit(1 if bad else 0)
EOF
  if [ -z "$py" ]; then
    echo "SKIP: no python3 (JSON checks against manifest.json)"
    skip=$((skip + 1))
  elif "$py" check.py "$td/manifest.json"; then
    ok
  else
    bad "JSON figures (above)"
  fi
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
