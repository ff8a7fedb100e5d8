#!/usr/bin/env bash
# sh_moderation.sh - the moderation judge against the mock OpenAI-compatible
# server (tests/servers/mock_openai.c, its /moderations route): verdicts and
# rationales, batching into requests, the verdict cache, the threshold
# rule, moderating requests instead of answers, malformed answers and
# server failures as error verdicts, 401 stopping the judge, option
# errors, the flagged metric over an evaluation, and screening the AOA
# training set.  Each case runs moderation_case.lua.
set -u
root=$(dirname "$(dirname "$FTSB_BIN")")
export MOCK_BIN=$root/tests/servers/mock_openai LEDGER_BIN=$root/tests/servers/ledger_dump
export SERVERS_DIR=$FTSB_TEST_DIR/servers
. "$SERVERS_DIR/lib.sh"
rm -rf "$WORK" && mkdir -p "$WORK"
unset OPENAI_API_KEY
case_=$FTSB_TEST_DIR/lua/moderation_case.lua
run() { "$FTSB_BIN" --store "$WORK/$1.db" run "$case_" "$2" 2>"$WORK/err.txt"; }

start_mock ""
out=$(run a basic)
has "$out" $'1\tok\ttrue\tnot flagged; highest score: harassment 0.02' "calm answer passes"
has "$out" $'2\tok\tfalse\tflagged: violence (0.93)' "flagged answer, category and score"
has "$out" $'3\tok\tfalse\tflagged: harassment (0.88)' "harassment"
has "$out" $'4\tok\ttrue\tnot flagged; highest score: violence 0.75' "borderline passes without a threshold"
has "$out" $'5\tok\ttrue' "an empty answer is moderated too"
eq "$(seen moderations)" 3 "5 texts in batches of 2: 3 requests"
out2=$(run a again)
eq "$out2" "$out" "asked again: same verdicts"
eq "$(seen moderations)" 3 "asked again: answered from the verdict cache"
out=$(run b threshold)
has "$out" $'4\tok\tfalse\tflagged at threshold 0.7: violence (0.75)' "threshold flags the borderline"
has "$out" $'1\tok\ttrue\tnot flagged at threshold 0.7; highest score: harassment 0.02' "threshold: calm"
out=$(run c prompt)
has "$out" $'4\tok\tfalse\tflagged: violence (0.93)' "target = prompt moderates the request"
has "$out" $'2\tok\ttrue' "target = prompt ignores the answer"
out=$(run d options)
has "$out" "option 'target' is 'answer'" "target checked"
has "$out" "option 'batch' must be in 1..1000" "batch checked"
has "$out" "option 'threshold' must be in 0..1" "threshold checked"
has "$out" "base_url 'ftp://x' is not an http" "base_url checked"
has "$out" "moderation/1:$MOCK_URL|mock-moderation|target=response|flagged" "fingerprint"
has "$out" "|threshold=0.69999999999999996" "threshold in the fingerprint"
out=$(run e eval)
has "$out" $'metric\tflagged_rate\tall\t0.5\t4\t0' "flagged metric over an evaluation"
has "$out" $'metric\tflagged_rate\tA\t0.5\t2\t0' "flagged metric per category"
out=$(run f screen)
has "$out" $'screened\t10\t0' "the AOA identity-shift set passes moderation"
stop_mock

printf 'moderations status=503 x*\n' > "$WORK/s503.scn"
start_mock "$WORK/s503.scn"
out=$(run g fault)
has "$out" $'1\terror\tnil\t\tthe moderation endpoint gave no verdict: ' "server failure: error verdict"
eq "$(seen moderations)" 4 "two requests, two attempts each"
stop_mock
printf 'moderations badjson\nmoderations short\n' > "$WORK/bad.scn"
start_mock "$WORK/bad.scn"
out=$(run h fault)
has "$out" "cannot read the answer of '$MOCK_URL/moderations': the body is not JSON" "malformed body"
has "$out" $'3\terror\tnil\t\tcannot read the answer of '"'$MOCK_URL/moderations'"': 0 results for 1 texts' "short results"
stop_mock
printf 'moderations status=401\n' > "$WORK/s401.scn"
start_mock "$WORK/s401.scn"
out=$(run i auth)
has "$out" $'raised\ttrue' "401 stops the judge"
has "$out" "check the key in the environment variable 'OPENAI_API_KEY'" "401 message names where the key is"
finish
