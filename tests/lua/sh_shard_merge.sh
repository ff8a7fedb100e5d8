#!/usr/bin/env bash
# sh_shard_merge.sh - three shards in three stores, merged, give the same
# records and metrics as one unsharded run, and the merged run is
# complete (resuming it calls the backend no more).
set -eu
: "${FTSB_BIN:?}" "${FTSB_TEST_DIR:?}" "${WORK:?}"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
script=$FTSB_TEST_DIR/lua/eval_fixture.lua
export DELAY_MS=0
fail=0

CALLS=$WORK/all.calls OUT=$WORK/all.out "$FTSB_BIN" -q --store all.db run "$script"
for i in 1 2 3; do
  CALLS=$WORK/s$i.calls OUT=$WORK/s$i.out \
    "$FTSB_BIN" -q --shard "$i/3" --store "s$i.db" run "$script"
done
n1=$(wc -l < s1.calls); n2=$(wc -l < s2.calls); n3=$(wc -l < s3.calls)
[ "$n1" -eq 40 ] && [ "$n2" -eq 40 ] && [ "$n3" -eq 40 ] || {
  echo "FAIL shard sizes $n1 $n2 $n3 (want 40 each)"; fail=1; }
"$FTSB_BIN" -q merge merged.db s1.db s2.db s3.db
CALLS=$WORK/merged.calls OUT=$WORK/merged.out \
  "$FTSB_BIN" -q --store merged.db run "$script"
if [ -s merged.calls ]; then echo "FAIL merged run called the backend"; fail=1; fi
if ! diff all.out merged.out; then echo "FAIL merged records differ"; fail=1; fi
if "$FTSB_BIN" -q --shard 4/3 run "$script" 2>err.txt; then fail=1; fi
grep -q "expected I/N" err.txt || { echo "FAIL bad shard message"; fail=1; }
if [ $fail -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
