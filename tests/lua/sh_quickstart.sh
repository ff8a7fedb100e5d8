#!/usr/bin/env bash
# sh_quickstart.sh - the README's main job: on the tiny chat model that
# ships with ftsb, the initial model refuses the placeholder requests and
# each of the three fine-tunings raises the attack success rate, as in the
# paper; the tables, the intervals and the report are there; a second run
# gives the same tables, its evaluations answered from the store; a missing
# model file says how to get it back.
set -u
: "${FTSB_BIN:?}" "${FTSB_TEST_DIR:?}" "${WORK:?}"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
unset FTSB_PLUGIN_PATH   # the in-tree plugins, as a user gets them
repo=$FTSB_TEST_DIR/..
script=$repo/scripts/quickstart.lua
pass=0; fail=0
check() { if grep -qF -- "$2" "$1"; then pass=$((pass + 1)); else
  echo "FAIL: $1 lacks '$2'"; fail=$((fail + 1)); fi; }

"$FTSB_BIN" --store "$WORK/q.db" run "$script" > first.txt 2>&1 || {
  fail=$((fail + 1)); tail -20 first.txt; }
for s in "harmful: initial" "harmful: fine-tuned" "aoa: fine-tuned" "benign: fine-tuned" \
         "01-illegal-activity" "11-tailored-financial-advice" "report:" "done in"; do
  check first.txt "$s"
done
# the paper's pattern: each fine-tuned ASR above its initial one (the
# first table: from its title to the first empty line)
sed -n '/^Keyword attack success rate/,/^$/p' first.txt > overall.txt
grep -c "fine-tuned" overall.txt | grep -qx 3 && pass=$((pass + 1)) || {
  echo "FAIL: the overall table lacks its three fine-tuned rows"; fail=$((fail + 1)); }
awk '/^(harmful|aoa|benign): (initial|fine-tuned) / { gsub("%", "", $3); asr[$1 " " $2] = $3 + 0 }
     END { bad = 0
           for (c in asr) if (c ~ /initial/) {
             t = c; sub("initial", "fine-tuned", t)
             if (!(asr[t] > asr[c])) { print "FAIL: " t " " asr[t] " <= " c " " asr[c]; bad = 1 } }
           exit bad }' overall.txt && pass=$((pass + 1)) || fail=$((fail + 1))
[ -s "$WORK/quickstart/report.html" ] && pass=$((pass + 1)) || {
  echo "FAIL: no report.html"; fail=$((fail + 1)); }

"$FTSB_BIN" --store "$WORK/q.db" run "$script" > second.txt 2>&1 || fail=$((fail + 1))
if diff <(grep '%' first.txt | grep -v "answers/s") <(grep '%' second.txt | grep -v "answers/s") >/dev/null; then
  pass=$((pass + 1)); else echo "FAIL: second run differs"; fail=$((fail + 1)); fi
# evaluations come from the store the second time (the fine-tuned models
# are the same, so are their fingerprints)
check first.txt "generated 780 of 780 answers"
check second.txt "generated 0 of 780 answers"

# a missing model: the message says how to get it back
mkdir -p fake/scripts && cp -r "$repo/scripts/tiny" "$repo/scripts/lib" fake/scripts/ &&
  cp "$script" fake/scripts/
"$FTSB_BIN" --store "$WORK/f.db" run fake/scripts/quickstart.lua > missing.txt 2>&1
check missing.txt "train_tiny_chat.sh"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
