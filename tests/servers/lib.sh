# lib.sh - helpers for the shell tests of this folder (sourced, not run):
# start a mock server on a random loopback port, count what it saw, run
# ftsb, and report checks in the "N passed, N failed" form ctest shows.
: "${FTSB_BIN:?}" "${MOCK_BIN:?}" "${LEDGER_BIN:?}" "${SERVERS_DIR:?}" "${WORK:?}"
# never send test traffic through a proxy
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY='*' no_proxy='*'
passed=0 failed=0 MOCK_PID=

check() { # check COND-STATUS DESCRIPTION
  if [ "$1" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $2"; fi
}
eq() { # eq GOT WANT DESCRIPTION
  if [ "$1" = "$2" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $3: got '$1', want '$2'"; fi
}
has() { # has TEXT NEEDLE DESCRIPTION
  case "$1" in *"$2"*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)); echo "FAIL $3: '$2' not in: $1" ;; esac
}
finish() {
  stop_mock
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# start_mock [SCENARIO-FILE [extra mock options...]]
start_mock() {
  local scenario=${1:-}
  shift || true
  stop_mock
  rm -f "$WORK/port" "$WORK/port.listening" "$WORK/mock.log"
  "$MOCK_BIN" --port-file "$WORK/port" --log "$WORK/mock.log" --max-seconds 90 \
    --expect-key-env OPENAI_API_KEY ${scenario:+--scenario "$scenario"} "$@" &
  MOCK_PID=$!
  for _ in $(seq 1 200); do [ -s "$WORK/port" ] && break; sleep 0.02; done
  PORT=$(cat "$WORK/port")
  export MOCK_URL="http://127.0.0.1:$PORT/v1"
  touch "$WORK/mock.log"
}
stop_mock() {
  if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true; fi
  MOCK_PID=
}
# requests the mock saw on a route (chat, upload, create, job, ...)
seen() { grep -c "route=$1 " "$WORK/mock.log" || true; }
ledger_rows() { "$LEDGER_BIN" "$1" | wc -l; }
