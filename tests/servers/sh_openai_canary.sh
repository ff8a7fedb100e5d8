#!/usr/bin/env bash
# sh_openai_canary.sh - the key never leaks (reliability.md §4.7): the
# fault matrix and the fine-tuning tests run again with a random canary
# key at the most verbose level (curl's trace included; 401 answers echo
# the Authorization header back), then an evaluation reads the key from a
# 0600 file, stores, judges and exports; every artifact (stdout, stderr,
# logs, the run stores and their WAL files, exports, the process's
# command line) is searched for the key, its 12-character prefix, its
# base64 and URL-encoded forms and "Bearer <key>".
set -u
. "$(dirname "$0")/lib.sh"
rm -rf "$WORK" && mkdir -p "$WORK"
ROOT=$WORK
CANARY="sk-canary-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export CANARY_KEY=$CANARY FTSB_FLAGS="-v -v" OPENAI_API_KEY=$CANARY

WORK=$ROOT/matrix bash "$SERVERS_DIR/sh_openai_matrix.sh" > "$ROOT/matrix.txt" 2>&1
check $? "the fault matrix passes with the canary key at -vv (see $ROOT/matrix.txt)"
WORK=$ROOT/finetune bash "$SERVERS_DIR/sh_openai_finetune.sh" > "$ROOT/finetune.txt" 2>&1
check $? "the fine-tuning tests pass with the canary key at -vv (see $ROOT/finetune.txt)"
WORK=$ROOT
has "$(cat "$ROOT"/matrix/*.err)" "curl: > Authorization: [REDACTED]" "curl's trace was on, with the header redacted"

# the key from a file; an evaluation, stored and exported
keyfile=$ROOT/secret/key
mkdir -p "$ROOT/secret"
(umask 077 && printf '%s\n' "$CANARY" > "$keyfile")
printf 'chat slow delay_ms=400\n' > "$ROOT/eval.scn"
start_mock "$ROOT/eval.scn"
( unset OPENAI_API_KEY
  KEY_FILE=$keyfile OUT=$ROOT/report "$FTSB_BIN" -v -v --store "$ROOT/eval.db" run \
    "$SERVERS_DIR/canary_eval.lua" > "$ROOT/eval.out" 2> "$ROOT/eval.err" ) &
runner=$!
for _ in $(seq 1 200); do
  pid=$(pgrep -n -f "canary_eval.lua" || true)
  [ -n "$pid" ] && [ "$(seen chat)" -ge 1 ] && break
  sleep 0.01
done
if [ -n "${pid:-}" ]; then tr '\0' ' ' < "/proc/$pid/cmdline" > "$ROOT/cmdline.txt" 2>/dev/null; fi
wait "$runner"
check $? "evaluation with the key from a file"
has "$(cat "$ROOT/eval.out")" "evaluated	canary" "evaluation ran"
check $([ -s "$ROOT/cmdline.txt" ] && echo 0 || echo 1) "command line captured"
eq "$(grep -c 'auth=ok' "$WORK/mock.log")" "$(seen chat)" "the file's key was sent"
stop_mock

# a key file others can read is refused, naming the file, not the key
chmod 644 "$keyfile"
start_mock ""
out=$(KEY_FILE=$keyfile "$FTSB_BIN" --store "$ROOT/perm.db" run "$SERVERS_DIR/chat.lua" 1 2>&1)
has "$out" "the API key file '$keyfile' is accessible to other users (mode 0644); run 'chmod 600 $keyfile'" "0644 key file refused"
eq "$(seen chat)" 0 "0644 key file: nothing sent"
stop_mock
rm -f "$keyfile"

# search everything
b64() { # the key's base64 at each alignment, minus the edges
  for pad in "" x xx; do
    printf '%s%s' "$pad" "$CANARY" | base64 -w0 | cut -c$(( ${#pad} ? 5 : 1 ))- | rev | cut -c5- | rev
  done
}
forms=$(printf '%s\n' "$CANARY" "${CANARY:0:12}" "Bearer $CANARY" \
  "$(printf '%s' "$CANARY" | od -An -tx1 | tr -d ' \n' | sed 's/../%&/g')"; b64)
n_files=$(find "$ROOT" -type f | wc -l)
check $([ "$n_files" -gt 50 ] && echo 0 || echo 1) "artifacts to search ($n_files files)"
while IFS= read -r form; do
  [ -n "$form" ] || continue
  hits=$(grep -rlaF -- "$form" "$ROOT" 2>/dev/null || true)
  eq "$hits" "" "no artifact holds the key form '${form:0:14}...'"
done <<< "$forms"
finish
