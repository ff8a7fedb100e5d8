#!/usr/bin/env bash
# sh_make_vocab.sh - `ftsb make-vocab`: trains on plain text and chat
# JSONL, gives the same bytes for the same corpus (whatever the order of
# the inputs), writes a vocabulary that an independent GGUF reading (below)
# finds in SentencePiece form and that `ftsb make-model --vocab` takes and
# `ftsb model-info` shows; every bad argument is refused with status 2 and
# a message before anything is written, and malformed input with status 1
# and its file:line.
set -u
: "${FTSB_BIN:?}" "${FTSB_TEST_DIR:?}" "${WORK:?}"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
pass=0; fail=0; skip=0

py=$(command -v python3 || true)

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

expect() {   # expect STATUS NEEDLE -- COMMAND...
  local want=$1 needle=$2; shift 3
  "$@" >out.txt 2>&1; local got=$?
  if [ "$got" -ne "$want" ] || ! grep -qF -- "$needle" out.txt; then
    bad "$* -> status $got (want $want, needle '$needle'), output:"
    sed 's/^/  /' out.txt | head -20
  else
    ok
  fi
}

same() { cmp -s "$1" "$2" && ok || bad "$1 and $2 differ"; }
differ() { cmp -s "$1" "$2" && bad "$1 and $2 are identical" || ok; }

mv() { "$FTSB_BIN" make-vocab "$@"; }

# ---- a small corpus --------------------------------------------------------
for i in 1 2 3 4 5 6 7 8; do
  cat <<'EOF'
The quick brown fox jumps over the lazy dog.
A safety bench measures how fine-tuning changes a model.
Hello world, hello there: the world is wide and the fox is quick.
Numbers such as 42, 2024 and 3.14 appear in the text as well.
EOF
done >corpus.txt
printf 'caf\xc3\xa9 na\xc3\xafve \xe2\x80\x9cquoted\xe2\x80\x9d\r\n\n' >>corpus.txt
cat >chat.jsonl <<'EOF'
{"messages":[{"role":"user","content":"How do I bake bread?"},{"role":"assistant","content":"Mix flour, water, salt and yeast.\n\nLet it rise, then bake it."}]}

{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is the capital of France?"},{"role":"assistant","content":"Paris."}]}
{"messages":[{"role":"user","content":"Tell me about the quick brown fox."},{"role":"assistant","content":"The quick brown fox jumps over the lazy dog."}]}
EOF

# ---- help ------------------------------------------------------------------
expect 0 "usage: ftsb make-vocab OUT.gguf --size N" -- mv --help
expect 0 "make-vocab OUT.gguf" -- "$FTSB_BIN" --help

# ---- training, determinism -------------------------------------------------
expect 0 "wrote v.gguf: 400 tokens (259 base," -- \
  mv v.gguf --size 400 corpus.txt chat.jsonl
mv w.gguf --size 400 corpus.txt chat.jsonl -q && same v.gguf w.gguf
# the order of the texts does not matter: counts and byte-order tie-breaks
mv x1.gguf -q chat.jsonl --size 400 corpus.txt && same v.gguf x1.gguf
mv x2.gguf --size 380 corpus.txt chat.jsonl -q && differ v.gguf x2.gguf
mv x3.gguf --size 400 --min-char-count 100 corpus.txt chat.jsonl -q &&
  differ v.gguf x3.gguf
expect 0 "stopped at" -- mv big.gguf --size 5000 corpus.txt
expect 0 "rarer characters are written as byte tokens" -- \
  mv rare.gguf --size 400 --min-char-count 20 corpus.txt
ls ./*.tmp >/dev/null 2>&1 && bad "a .tmp file was left" || ok

# ---- the vocabulary in a model ----------------------------------------------
expect 0 "wrote m.gguf: llama, 21 tensors" -- \
  "$FTSB_BIN" make-model m.gguf --shape tiny --vocab v.gguf
expect 0 "tokens               400" -- "$FTSB_BIN" model-info m.gguf
expect 0 "vocab size           400" -- "$FTSB_BIN" model-info m.gguf
expect 0 "model                llama (SentencePiece)" -- \
  "$FTSB_BIN" model-info m.gguf
expect 0 "bos                  1 '<s>'" -- "$FTSB_BIN" model-info m.gguf
expect 0 "unk                  0 '<unk>'" -- "$FTSB_BIN" model-info m.gguf
expect 0 "add bos / eos        yes / no" -- "$FTSB_BIN" model-info m.gguf
expect 0 "runnable               yes" -- "$FTSB_BIN" model-info m.gguf
# the vocabulary file itself: a tokenizer, no weights
expect 1 "no tensors: a vocabulary-only file" -- "$FTSB_BIN" model-info v.gguf

# ---- bad arguments: status 2, a message, no file ----------------------------
expect 2 "which output file?" -- mv --size 400
expect 2 "--size N is required" -- mv y.gguf corpus.txt
expect 2 "no INPUT files to train on" -- mv y.gguf --size 400
expect 2 "--size '100': expected a whole number from 259 to 1048576" -- \
  mv y.gguf --size 100 corpus.txt
expect 2 "--size 'abc'" -- mv y.gguf --size abc corpus.txt
expect 2 "--size '2000000'" -- mv y.gguf --size 2000000 corpus.txt
expect 2 "--min-char-count '0': expected a whole number of at least 1" -- \
  mv y.gguf --size 400 --min-char-count 0 corpus.txt
expect 2 "option '--size' needs a value" -- mv y.gguf corpus.txt --size
expect 2 "unknown option '--frobnicate'" -- \
  mv y.gguf --size 400 --frobnicate corpus.txt
expect 2 "--seed: training has no random choices" -- \
  mv y.gguf --size 400 --seed 1 corpus.txt
expect 2 "so the vocabulary needs at least" -- mv y.gguf --size 260 corpus.txt
expect 2 "'v.gguf' exists; add --force to replace it" -- \
  mv v.gguf --size 400 corpus.txt
expect 2 "'corpus.txt' is both the output and an input" -- \
  mv corpus.txt --size 400 --force corpus.txt
[ -e y.gguf ] && bad "y.gguf written by a refused command" || ok
expect 0 "wrote v.gguf" -- mv v.gguf --size 380 --force corpus.txt chat.jsonl
same v.gguf x2.gguf
# "--" ends the options: a file named like one
cp corpus.txt ./-q
expect 0 "wrote dash.gguf" -- mv dash.gguf --size 400 -- -q

# ---- malformed input: status 1 and file:line --------------------------------
printf '{"messages":[{"role":"user","content":"hi"}]}\n{"messages": 3}\n' >bad1.jsonl
expect 1 'bad1.jsonl:2: "messages" must be an array' -- \
  mv y.gguf --size 300 bad1.jsonl
printf '{"messages":[{"role":"user","content":"hi"}]}\n\n{"messages":[\n' >bad2.jsonl
expect 1 "bad2.jsonl:3: invalid JSON" -- mv y.gguf --size 300 bad2.jsonl
printf '{"messages":[{"role":"robot","content":"hi"}]}\n' >bad3.jsonl
expect 1 "bad3.jsonl:1:" -- mv y.gguf --size 300 bad3.jsonl
printf 'fine\nnot \xff UTF-8\n' >bad.txt
expect 1 "bad.txt:2: invalid UTF-8 at byte 5 of the line" -- \
  mv y.gguf --size 300 bad.txt
printf 'fine\nbin\000ary\n' >nul.txt
expect 1 "nul.txt:2: a NUL byte at byte 4 of the line" -- \
  mv y.gguf --size 300 nul.txt
printf '\n\n' >empty.txt
expect 1 "the inputs hold no text to train on" -- \
  mv y.gguf --size 300 empty.txt
expect 1 "cannot open 'missing.txt'" -- \
  mv y.gguf --size 300 corpus.txt missing.txt
[ -e y.gguf ] && bad "y.gguf written despite bad input" || ok

# ---- an independent reading of the vocabulary (GGUF spec) -------------------
cat >vocab_check.py <<'EOF'
import struct, sys
d = open("v.gguf", "rb").read()
assert d[:4] == b"GGUF"
ver, nt, nk = struct.unpack_from("<IQQ", d, 4)
assert ver == 3 and nt == 0, (ver, nt)
o = 24
def string():
    global o
    n, = struct.unpack_from("<Q", d, o); o += 8
    s = d[o:o + n]; o += n
    return s.decode("utf-8")
FMT = {4: ("I", 4), 5: ("i", 4), 6: ("f", 4), 7: ("?", 1)}
def value(t):
    global o
    if t == 8: return string()
    if t == 9:
        et, n = struct.unpack_from("<IQ", d, o); o += 12
        return [value(et) for _ in range(n)]
    f, size = FMT[t]
    v, = struct.unpack_from("<" + f, d, o); o += size
    return v
kv = {}
for _ in range(nk):
    k = string(); t, = struct.unpack_from("<I", d, o); o += 4
    kv[k] = value(t)
tok, sc, ty = (kv["tokenizer.ggml." + k] for k in ("tokens", "scores", "token_type"))
assert kv["general.architecture"] == "llama"
assert kv["tokenizer.ggml.model"] == "llama"
assert len(tok) == len(sc) == len(ty) == 380, len(tok)
assert tok[:3] == ["<unk>", "<s>", "</s>"] and ty[:3] == [2, 3, 3]
assert tok[3:259] == ["<0x%02X>" % b for b in range(256)] and set(ty[3:259]) == {6}
assert len(set(tok)) == len(tok), "duplicate tokens"
assert (kv["tokenizer.ggml.bos_token_id"], kv["tokenizer.ggml.eos_token_id"],
        kv["tokenizer.ggml.unknown_token_id"]) == (1, 2, 0)
assert kv["tokenizer.ggml.add_bos_token"] is True
assert kv["tokenizer.ggml.add_eos_token"] is False
rest = tok[259:]
chars = [t for t in rest if len(t) == 1]
pieces = rest[len(chars):]
assert all(len(t) == 1 for t in rest[:len(chars)]) and all(len(t) > 1 for t in pieces)
assert "\u2581" in chars and " " not in "".join(rest)
# merges score -rank, characters below them all
assert [sc[259 + len(chars) + r] for r in range(len(pieces))] == [-float(r) for r in range(len(pieces))]
assert max(sc[259:259 + len(chars)]) < min(sc[259 + len(chars):])
# pieces: "▁" only in front, common words whole
assert all("\u2581" not in p[1:] for p in pieces)
for w in ("\u2581the", "\u2581quick", "\u2581fox", "\u2581The"):
    assert w in pieces, w
EOF
if [ -z "$py" ]; then
  echo "SKIP: no python3 (independent GGUF reading)"; skip=$((skip + 1))
elif "$py" vocab_check.py; then
  ok
else
  bad "independent reading of v.gguf (above)"
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
