#!/usr/bin/env bash
# sh_kill_resume.sh - SIGKILL an evaluation at random moments, resume it,
# and check the final records equal an uninterrupted run's: none lost,
# none duplicated, and no backend call repeated beyond those in flight
# (at most one batch of 4) at each kill.
set -eu
: "${FTSB_BIN:?}" "${FTSB_TEST_DIR:?}" "${WORK:?}"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
script=$FTSB_TEST_DIR/lua/eval_fixture.lua

CALLS=$WORK/ref.calls OUT=$WORK/ref.out \
  "$FTSB_BIN" -q --store ref.db run "$script"

kills=0
for i in $(seq 1 12); do
  CALLS=$WORK/kill.calls OUT=$WORK/kill.out \
    "$FTSB_BIN" -q --store kill.db run "$script" &
  pid=$!
  sleep "0.$(( RANDOM % 5 + 1 ))$(( RANDOM % 10 ))"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
done
CALLS=$WORK/kill.calls OUT=$WORK/kill.out \
  "$FTSB_BIN" -q --store kill.db run "$script"

fail=0
if ! diff ref.out kill.out >/dev/null; then
  echo "FAIL records differ from the uninterrupted run:"; diff ref.out kill.out | head
  fail=1
fi
ref=$(wc -l < ref.calls)
got=$(wc -l < kill.calls)
allowed=$((ref + 4 * kills))
echo "kills: $kills, calls: $got (uninterrupted: $ref, allowed: $allowed)"
if [ "$got" -gt "$allowed" ]; then echo "FAIL too many repeated calls"; fail=1; fi
dups=$(cut -f1 kill.out | sort | uniq -d | wc -l)
if [ "$dups" -ne 0 ]; then echo "FAIL duplicated records"; fail=1; fi
if command -v sqlite3 >/dev/null; then
  ic=$(sqlite3 kill.db "PRAGMA integrity_check;")
  [ "$ic" = ok ] || { echo "FAIL integrity_check: $ic"; fail=1; }
fi
if [ $fail -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
