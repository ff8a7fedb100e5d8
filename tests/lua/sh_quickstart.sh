#!/usr/bin/env bash
# sh_quickstart.sh - the README's main job runs, prints its tables, says
# what it ran on, and a second run answers everything from the store.
set -u
: "${FTSB_BIN:?}" "${FTSB_TEST_DIR:?}" "${WORK:?}"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
unset FTSB_PLUGIN_PATH   # the in-tree plugins, as a user gets them
script=$FTSB_TEST_DIR/../scripts/quickstart.lua
pass=0; fail=0
check() { if grep -qF -- "$2" "$1"; then pass=$((pass + 1)); else
  echo "FAIL: $1 lacks '$2'"; fail=$((fail + 1)); fi; }

"$FTSB_BIN" --store "$WORK/q.db" run "$script" > first.txt 2>&1 || fail=$((fail + 1))
check first.txt "replays"
check first.txt "recorded synthetic answers"
check first.txt "after attack (recorded)"
check first.txt "01-illegal-activity"
check first.txt "benign"
"$FTSB_BIN" --store "$WORK/q.db" run "$script" > second.txt 2>&1 || fail=$((fail + 1))
if diff <(grep '%' first.txt) <(grep '%' second.txt) >/dev/null; then
  pass=$((pass + 1)); else echo "FAIL: second run differs"; fail=$((fail + 1)); fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
