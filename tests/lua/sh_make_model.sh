#!/usr/bin/env bash
# sh_make_model.sh - `ftsb make-model`: the same arguments give the same
# bytes (and equivalent spellings of a shape too), every type reads back
# through our reader with the shape asked for, an independent GGUF parser
# (below, from the spec) agrees on the layout and finds weights of the
# asked scale and norms of 1, a vocabulary file's tokenizer is copied, and
# every bad argument is refused with status 2 and a message, before any
# file is written.
set -u
: "${FTSB_BIN:?}" "${FTSB_TEST_DIR:?}" "${WORK:?}"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
pass=0; fail=0; skip=0

shared=${FTSB_SHARED_DIR:-$FTSB_TEST_DIR/../../shared}
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

mm() { "$FTSB_BIN" make-model "$@"; }

# ---- determinism ---------------------------------------------------------
expect 0 "usage: ftsb make-model OUT.gguf" -- mm --help
expect 0 "make-model OUT.gguf" -- "$FTSB_BIN" --help
expect 0 "wrote a.gguf: llama, 21 tensors, 164160 parameters, f32" -- \
  mm a.gguf --shape tiny --seed 5
mm b.gguf --seed 5 --shape tiny -q && same a.gguf b.gguf
mm c.gguf --shape tiny --seed 6 -q && differ a.gguf c.gguf
# the same shape spelled three ways gives the same bytes
mm d.gguf --dims 64,2,4,2,192,512,256 --seed 5 -q && same a.gguf d.gguf
mm e.gguf --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 192 \
  --vocab 512 --ctx 256 --seed 5 --type f32 -q && same a.gguf e.gguf
ls ./*.part ./*.tmp >/dev/null 2>&1 && bad "a .part or .tmp file was left" || ok

# ---- every type reads back -----------------------------------------------
for t in f32 f16 bf16 q8_0; do
  mm "t-$t.gguf" --shape tiny --type "$t" --seed 9 -q || bad "make-model --type $t"
  mm "u-$t.gguf" --shape tiny --type "$t" --seed 9 -q && same "t-$t.gguf" "u-$t.gguf"
  expect 0 "runnable               yes" -- "$FTSB_BIN" model-info "t-$t.gguf"
done
expect 0 "file type              1 (mostly F16)" -- "$FTSB_BIN" model-info t-f16.gguf
expect 0 "BF16                 16 tensors" -- "$FTSB_BIN" model-info t-bf16.gguf
expect 0 "Q8_0                 16 tensors" -- "$FTSB_BIN" model-info t-q8_0.gguf
expect 0 "F32                  5 tensors" -- "$FTSB_BIN" model-info t-q8_0.gguf

# a custom shape, tied, with multi-query attention and a bigger vocabulary
mm g.gguf --dim 96 --layers 3 --heads 6 --kv-heads 1 --hidden 160 \
  --vocab 1000 --ctx 128 --tied --rope-base 500000 --eps 1e-6 --seed 2 -q ||
  bad "custom shape"
expect 0 "multi-query, 6 query heads per kv head" -- "$FTSB_BIN" model-info g.gguf
expect 0 "tied to token_embd.weight" -- "$FTSB_BIN" model-info g.gguf
expect 0 "rope base            500000" -- "$FTSB_BIN" model-info g.gguf
expect 0 "rms eps              1e-06" -- "$FTSB_BIN" model-info g.gguf
expect 0 "head dim             16" -- "$FTSB_BIN" model-info g.gguf
expect 0 "tokens               1000" -- "$FTSB_BIN" model-info g.gguf
expect 0 "bos                  1 '<s>'" -- "$FTSB_BIN" model-info g.gguf
expect 0 "add bos / eos        yes / no" -- "$FTSB_BIN" model-info g.gguf
# a named shape with one size changed
expect 0 "30 tensors" -- mm h.gguf --shape tiny --layers 3 --untied
expect 0 "layers               3" -- "$FTSB_BIN" model-info h.gguf

# ---- vocabulary files ----------------------------------------------------
gv=$FTSB_TEST_DIR/fuzz/corpus/gguf/tiny_gpt2_vocab.gguf
if [ -f "$gv" ]; then
  expect 0 "wrote" -- mm v.gguf --shape tiny --vocab "$gv"
  expect 0 "gpt2 (byte-level BPE)" -- "$FTSB_BIN" model-info v.gguf
  expect 0 "runnable               yes" -- "$FTSB_BIN" model-info v.gguf
fi
spm=$shared/testdata/vocab/ggml-vocab-llama-spm.gguf
if [ -f "$spm" ]; then
  expect 0 "wrote" -- mm s.gguf --shape tiny --type f16 --vocab "$spm"
  expect 0 "vocab size           32000" -- "$FTSB_BIN" model-info s.gguf
  expect 0 "runnable               yes" -- "$FTSB_BIN" model-info s.gguf
  expect 0 "unk                  0 '<unk>'" -- "$FTSB_BIN" model-info s.gguf
else
  echo "SKIP: no shared vocabulary at $spm"; skip=$((skip + 1))
fi
expect 1 "bad magic" -- mm w.gguf --shape tiny \
  --vocab "$FTSB_TEST_DIR/data/gguf/bad_magic.gguf"
[ -e w.gguf ] && bad "w.gguf written despite a bad vocabulary" || ok

# ---- bad arguments: status 2, a message, no file -------------------------
expect 2 "which output file?" -- mm --shape tiny
expect 2 "give --shape tiny|110m|1.1b, --dims, or the sizes (--dim is missing)" -- mm x.gguf
expect 2 "(--hidden is missing)" -- mm x.gguf --dim 64 --layers 2 --heads 4
expect 2 "unknown shape 'huge'; the named shapes are tiny, 110m and 1.1b" -- \
  mm x.gguf --shape huge
expect 2 "--type 'q4_0': expected f32, f16, bf16 or q8_0" -- \
  mm x.gguf --shape tiny --type q4_0
expect 2 "--seed '-1'" -- mm x.gguf --shape tiny --seed -1
expect 2 "--seed 'abc'" -- mm x.gguf --shape tiny --seed abc
expect 2 "--seed '18446744073709551616'" -- \
  mm x.gguf --shape tiny --seed 18446744073709551616
expect 2 "--layers '0': expected a whole number from 1 to 1024" -- \
  mm x.gguf --shape tiny --layers 0
expect 2 "--dim '6x4'" -- mm x.gguf --shape tiny --dim 6x4
expect 2 "the embedding length 66 is not a multiple of the head count 4" -- \
  mm x.gguf --shape tiny --dim 66
expect 2 "the head count 4 is not a multiple of the kv head count 3" -- \
  mm x.gguf --shape tiny --kv-heads 3
expect 2 "the kv head count is 8; it must be between 1 and 4" -- \
  mm x.gguf --shape tiny --kv-heads 8
expect 2 "the head dimension 3 (embedding / heads) is odd" -- \
  mm x.gguf --dim 12 --layers 1 --heads 4 --hidden 8
expect 2 "q8_0 stores rows in blocks of 32" -- \
  mm x.gguf --shape tiny --type q8_0 --dim 48
expect 2 "the vocabulary size is 100" -- mm x.gguf --shape tiny --vocab 100
expect 2 "--dims '64,2,4'" -- mm x.gguf --dims 64,2,4
expect 2 "--dims '64,,4,2,192'" -- mm x.gguf --dims 64,,4,2,192
expect 2 "--std '-1'" -- mm x.gguf --shape tiny --std -1
expect 2 "--eps 'nan'" -- mm x.gguf --shape tiny --eps nan
expect 2 "unknown option '--frobnicate'" -- mm x.gguf --shape tiny --frobnicate 1
expect 2 "option '--shape' needs a value" -- mm x.gguf --shape
expect 2 "one output file ('y.gguf' is a second)" -- mm x.gguf y.gguf --shape tiny
[ -e x.gguf ] && bad "x.gguf written by a refused command" || ok
expect 2 "'a.gguf' exists; add --force to replace it" -- mm a.gguf --shape tiny
expect 0 "wrote a.gguf" -- mm a.gguf --shape tiny --seed 6 --force
same a.gguf c.gguf

# ---- an independent reading of the file (GGUF spec, section 1) -----------
cat >gguf_check.py <<'EOF'
import math, struct, sys
SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
FMT = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?",
       10: "Q", 11: "q", 12: "d"}
TYPES = {0: (1, 4), 1: (1, 2), 8: (32, 34), 30: (1, 2)}  # block, bytes
def parse(path):
    d = open(path, "rb").read()
    assert d[:4] == b"GGUF", "magic"
    ver, nt, nk = struct.unpack_from("<IQQ", d, 4)
    assert ver == 3, "version"
    o = 24
    def string():
        nonlocal o
        n, = struct.unpack_from("<Q", d, o); o += 8
        s = d[o:o + n]; o += n
        return s.decode("utf-8")
    def value(t):
        nonlocal o
        if t == 8: return string()
        if t == 9:
            et, n = struct.unpack_from("<IQ", d, o); o += 12
            return [value(et) for _ in range(n)]
        v, = struct.unpack_from("<" + FMT[t], d, o); o += SIZES[t]
        return v
    kv = {}
    for _ in range(nk):
        k = string(); t, = struct.unpack_from("<I", d, o); o += 4
        assert k not in kv, "duplicate key " + k
        kv[k] = value(t)
    ts = []
    for _ in range(nt):
        name = string(); nd, = struct.unpack_from("<I", d, o); o += 4
        ne = struct.unpack_from("<%dQ" % nd, d, o); o += 8 * nd
        ty, off = struct.unpack_from("<IQ", d, o); o += 12
        ts.append((name, ne, ty, off))
    align = kv.get("general.alignment", 32)
    start = (o + align - 1) // align * align
    assert all(b == 0 for b in d[o:start]), "padding not zero"
    pos = 0
    for name, ne, ty, off in ts:
        block, size = TYPES[ty]
        assert ne[0] % block == 0, name
        n = math.prod(ne)
        nbytes = n // block * size
        assert off == pos, f"{name}: offset {off}, expected {pos} (contiguous)"
        pos += (nbytes + align - 1) // align * align
    assert start + pos == len(d), f"size {len(d)}, expected {start + pos}"
    return d, kv, ts, start
def f16(h):
    return struct.unpack("<e", struct.pack("<H", h))[0]
def values(d, start, name, ne, ty, off, limit=4096):
    n = min(math.prod(ne), limit)
    p = start + off
    if ty == 0: return list(struct.unpack_from("<%df" % n, d, p))
    if ty == 1: return list(struct.unpack_from("<%de" % n, d, p))
    if ty == 30:
        return [struct.unpack("<f", struct.pack("<I", h << 16))[0]
                for h in struct.unpack_from("<%dH" % n, d, p)]
    out = []
    for b in range(n // 32):
        s, = struct.unpack_from("<H", d, p + 34 * b)
        out += [f16(s) * q for q in struct.unpack_from("<32b", d, p + 34 * b + 2)]
    return out
bad = 0
for path, std, n_tensors, n_vocab in [("t-f32.gguf", 0.02, 21, 512),
                                      ("t-f16.gguf", 0.02, 21, 512),
                                      ("t-bf16.gguf", 0.02, 21, 512),
                                      ("t-q8_0.gguf", 0.02, 21, 512),
                                      ("g.gguf", 0.02, 29, 1000)]:
    try:
        d, kv, ts, start = parse(path)
        assert len(ts) == n_tensors, "tensor count"
        assert kv["general.architecture"] == "llama"
        assert kv["llama.vocab_size"] == n_vocab == len(kv["tokenizer.ggml.tokens"])
        toks = kv["tokenizer.ggml.tokens"]
        assert toks[:3] == ["<unk>", "<s>", "</s>"] and toks[3] == "<0x00>"
        assert toks[258] == "<0xFF>" and toks[259] == "\u2581"
        assert len(set(toks)) == len(toks), "duplicate tokens"
        for name, ne, ty, off in ts:
            v = values(d, start, name, ne, ty, off)
            if name.endswith("norm.weight"):
                assert ty == 0 and all(x == 1.0 for x in v), name + " not 1"
                continue
            m = sum(v) / len(v)
            s = math.sqrt(sum((x - m) ** 2 for x in v) / len(v))
            assert abs(m) < 0.2 * std and abs(s - std) < 0.1 * std, \
                f"{name}: mean {m}, std {s}"
    except (AssertionError, KeyError, ValueError, struct.error) as e:
        print(f"  {path}: {e!r}")
        bad += 1
sys.exit(1 if bad else 0)
EOF
if [ -z "$py" ]; then
  echo "SKIP: no python3 (independent GGUF reading)"; skip=$((skip + 1))
elif "$py" gguf_check.py; then
  ok
else
  bad "independent GGUF reading (above)"
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
