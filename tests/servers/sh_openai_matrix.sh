#!/usr/bin/env bash
# sh_openai_matrix.sh - the HTTP fault matrix of reliability.md §4.6,
# through ftsb, the openai backend and the core's client, against the
# mock: for each scenario, the exact number of requests the mock saw, the
# number of attempts in the run store's ledger, and the result's state
# (an exhausted retry or a broken answer is an error, never a verdict).
set -u
. "$(dirname "$0")/lib.sh"
rm -rf "$WORK" && mkdir -p "$WORK"
export OPENAI_API_KEY=${CANARY_KEY:-sk-test-matrix-0123456789abcdef0123}

# case_run NAME WANT_REQUESTS WANT_LEDGER WANT_STATE NEEDLE, scenario in $SCEN
case_run() {
  local name=$1 want_req=$2 want_ledger=$3 want_state=$4 needle=$5 out first
  printf '%s\n' "$SCEN" > "$WORK/$name.scn"
  start_mock "$WORK/$name.scn"
  out=$("$FTSB_BIN" ${FTSB_FLAGS:-} --store "$WORK/$name.db" run "$SERVERS_DIR/chat.lua" "${N:-1}" 2>"$WORK/$name.err")
  printf '%s\n' "$out" > "$WORK/$name.out"
  first=$(printf '%s\n' "$out" | head -1)
  eq "$(seen chat)" "$want_req" "$name: requests at the mock"
  eq "$(ledger_rows "$WORK/$name.db")" "$want_ledger" "$name: attempts in the ledger"
  eq "$(printf '%s' "$first" | cut -f1)" "$want_state" "$name: state"
  if [ -n "$needle" ]; then has "$first" "$needle" "$name: message"; fi
  if [ -n "${NEEDLE2:-}" ]; then has "$first" "$NEEDLE2" "$name: message"; fi
  eq "$(grep -c 'auth=ok' "$WORK/mock.log")" "$(seen chat)" "$name: key sent on every request"
  stop_mock
}

SCEN=''                              case_run ok 1 1 ok "mock answer: Question number 1"
SCEN='chat status=429 x3'            case_run 429x3 4 4 ok ""
SCEN='chat status=429 x*'            case_run 429forever 6 6 error "still answered HTTP 429 (mock failure)"
for s in 500 502 503 504 408; do
  SCEN="chat status=$s"              case_run "$s-then-200" 2 2 ok ""
done
for s in 400 404 422; do
  SCEN="chat status=$s msg=bad thing $s" case_run "$s" 1 1 error "answered HTTP $s (bad thing $s)"
done
SCEN='chat reset'                    case_run reset 2 2 ok ""
has "$("$LEDGER_BIN" "$WORK/reset.db" | head -1)" "in doubt" "reset: first attempt in doubt in the ledger"
SCEN='chat stall'                    case_run stall 2 2 ok ""
SCEN='chat truncate'                 case_run truncate 2 2 ok ""
SCEN='chat badjson'                  case_run badjson 1 1 error "malformed chat completion: the body is not valid JSON"
has "$("$LEDGER_BIN" "$WORK/badjson.db")" "http 200 rejected" "badjson: ledger says rejected"
SCEN='chat nochoices'                case_run nochoices 1 1 error "missing 'choices'"
SCEN='chat null'                     case_run null 1 1 error "no content (content null"
SCEN='chat filter'                   case_run filter 1 1 filtered "content_filter"
SCEN='chat refusal'                  case_run refusal 1 1 refused "the provider refused: I'm sorry"
SCEN='chat empty'                    case_run empty 1 1 ok ""
SCEN='chat oversize bytes=200000'    case_run oversize 1 1 error "larger than 65536 bytes"
SCEN='chat oversize bytes=200000 chunked=1' case_run oversize-chunked 1 1 error "larger than 65536 bytes"
SCEN='chat redirect'                 case_run redirect 1 1 error "a redirect to 'http://localhost:"
eq "$(grep -c 'host=localhost' "$WORK/mock.log")" 0 "redirect: not followed to the other host"

# Retry-After: 7 s, on a clock shortened 100 times: the second request
# comes at least 70 ms after the first (and well before 7 s).
SCEN='chat status=429 retry_after=7' FTSB_TEST_TIME_SCALE=0.01 case_run retry-after 2 2 ok ""
t1=$(grep route=chat "$WORK/mock.log" | sed -n 1p | sed 's/.* t=\([0-9]*\).*/\1/')
t2=$(grep route=chat "$WORK/mock.log" | sed -n 2p | sed 's/.* t=\([0-9]*\).*/\1/')
check $(( t2 - t1 >= 70 && t2 - t1 < 3000 ? 0 : 1 )) "retry-after: gap $((t2 - t1)) ms, want >= 70 (7 s scaled by 0.01)"

# 401/403: the backend stops; with one request at a time nothing more is
# sent, and a second call fails at once without a request.
for s in 401 403; do
  SCEN="chat status=$s echo_auth=1 msg=Incorrect API key provided" N=3 CONC=1 ROUNDS=2 NEEDLE2="check the key in the environment variable 'OPENAI_API_KEY'" case_run "$s" 1 1 raised "HTTP $s (Incorrect API key provided; you sent: Bearer [REDACTED])"
done

# Connection refused twice, then the server listens: 3 attempts in the
# ledger, 1 request at the mock.  A watcher lets the mock listen once the
# ledger shows two refused attempts (backoff 300 ms leaves it time).
printf 'chat ok\n' > "$WORK/refused.scn"
start_mock "$WORK/refused.scn" --hold-listen
(
  for _ in $(seq 1 400); do
    n=$("$LEDGER_BIN" "$WORK/refused.db" 2>/dev/null | grep -c 'not sent')
    if [ "${n:-0}" -ge 2 ]; then kill -USR1 "$MOCK_PID"; break; fi
    sleep 0.01
  done
) &
watcher=$!
out=$(BACKOFF_MS=300 "$FTSB_BIN" ${FTSB_FLAGS:-} --store "$WORK/refused.db" run "$SERVERS_DIR/chat.lua" 1 2>"$WORK/refused.err")
wait "$watcher"
eq "$(printf '%s' "$out" | cut -f1)" ok "refused x2: state"
eq "$(seen chat)" 1 "refused x2: requests at the mock"
eq "$(ledger_rows "$WORK/refused.db")" 3 "refused x2: attempts in the ledger"
eq "$("$LEDGER_BIN" "$WORK/refused.db" | grep -c 'not sent')" 2 "refused x2: refused attempts marked not sent"
stop_mock

# Nothing listening at all: 6 attempts, all refused, an error.
start_mock ""
stop_mock
out=$("$FTSB_BIN" ${FTSB_FLAGS:-} --store "$WORK/down.db" run "$SERVERS_DIR/chat.lua" 1 2>"$WORK/down.err")
eq "$(printf '%s' "$out" | cut -f1)" error "server down: state"
has "$out" "gave up after 6 attempts" "server down: message"
eq "$(ledger_rows "$WORK/down.db")" 6 "server down: attempts in the ledger"

# Concurrency and the cache: 20 chats, 4 at a time; a second run against
# the same server sends nothing (the generation cache answers).
start_mock ""
out=$(CONC=4 "$FTSB_BIN" ${FTSB_FLAGS:-} --store "$WORK/concurrent.db" run "$SERVERS_DIR/chat.lua" 20 2>/dev/null)
eq "$(printf '%s\n' "$out" | grep -c '^ok')" 20 "concurrent: 20 answers"
eq "$(seen chat)" 20 "concurrent: requests at the mock"
out=$(CONC=4 "$FTSB_BIN" ${FTSB_FLAGS:-} --store "$WORK/concurrent.db" run "$SERVERS_DIR/chat.lua" 20 2>/dev/null)
eq "$(printf '%s\n' "$out" | grep -c '^ok')" 20 "cache: 20 answers"
eq "$(seen chat)" 20 "cache: nothing sent again"
eq "$(ledger_rows "$WORK/concurrent.db")" 20 "cache: no attempt added"
stop_mock

# A token budget: each answer uses 30+ tokens; with 50 allowed and one
# request at a time, the batch stops after the second answer.
SCEN='' N=5 CONC=1 MAX_TOKENS=50 case_run budget 2 2 raised "the token budget is spent"

finish
