#!/usr/bin/env bash
# sh_openai_finetune.sh - fine-tuning jobs through the openai backend
# against the mock: the happy path (one upload, one job, a backend bound
# to the fine-tuned model), reuse by a second run, a job refused at
# creation, a local validation failure, a failed and a cancelled job, a
# creation whose answer was lost (reconciled, not sent again), and SIGKILL
# while polling followed by a resume (exactly one upload and one job).
set -u
. "$(dirname "$0")/lib.sh"
rm -rf "$WORK" && mkdir -p "$WORK"
export OPENAI_API_KEY=${CANARY_KEY:-sk-test-finetune-0123456789abcdef0123}
FT=$SERVERS_DIR/finetune.lua
run_ft() { "$FTSB_BIN" ${FTSB_FLAGS:-} --store "$1" run "$FT" 2>>"$WORK/stderr.log" | tee -a "$WORK/stdout.log"; }

# happy path
printf 'plan succeed polls=3\n' > "$WORK/happy.scn"
start_mock "$WORK/happy.scn"
out=$(run_ft "$WORK/happy.db")
has "$out" "tuned	backend:openai@1.0.0:openai:$MOCK_URL|ft:mock-gpt:mock:aoa:mock1|" "happy: bound to the fine-tuned model"
has "$out" "answer	ok	mock answer: hello" "happy: the tuned model answers"
eq "$(seen upload)" 1 "happy: one upload"
eq "$(seen create)" 1 "happy: one job"
eq "$(seen job)" 3 "happy: polled until it succeeded"
eq "$(seen chat)" 1 "happy: one chat"
has "$(grep 'Step 30/30' "$WORK/stderr.log")" "job 'ftjob-mock1': Step 30/30: training loss=" "happy: events reported"
has "$("$LEDGER_BIN" "$WORK/happy.db" | cut -f2,4 | tr '\n' ' ')" "upload	http 200 finetune	http 200 chat	http 200" "happy: ledger"
# the same inputs again: no upload, no new job
out=$(run_ft "$WORK/happy.db")
has "$out" "tuned	backend:openai@1.0.0:openai:$MOCK_URL|ft:mock-gpt:mock:aoa:mock1|" "rerun: same model"
eq "$(seen upload)" 1 "rerun: no second upload"
eq "$(seen create)" 1 "rerun: no second job"
# another tag: a new job, but the same file
out=$(TAG=again run_ft "$WORK/happy.db")
has "$out" "tuned" "new tag: tuned"
eq "$(seen upload)" 1 "new tag: file reused"
eq "$(seen create)" 2 "new tag: a second job"
stop_mock

# the provider refuses the job (validation)
printf 'create status=400 msg=Training file has 5 examples, but must have at least 10\n' > "$WORK/refuse.scn"
start_mock "$WORK/refuse.scn"
out=$(run_ft "$WORK/refuse.db")
has "$out" "fine-tuning failed: the provider refused to create the fine-tuning job: '$MOCK_URL/fine_tuning/jobs' answered HTTP 400 (Training file has 5 examples, but must have at least 10)" "refused: message"
eq "$(seen create)" 1 "refused: one attempt"
stop_mock

# rows without an assistant answer: refused before any request
start_mock ""
out=$(ROWS=bad run_ft "$WORK/bad.db")
has "$out" "training row 1 has no assistant answer to learn from" "local validation: message"
eq "$(wc -l < "$WORK/mock.log")" 0 "local validation: nothing sent"
stop_mock

# a job that fails, and one cancelled
printf 'plan fail polls=2 msg=The job failed due to an invalid training file.\n' > "$WORK/fail.scn"
start_mock "$WORK/fail.scn"
out=$(run_ft "$WORK/fail.db")
has "$out" "fine-tuning job 'ftjob-mock1' failed: The job failed due to an invalid training file. (invalid_training_file)" "failed job: provider's message"
eq "$(seen job)" 2 "failed job: polls"
stop_mock
printf 'plan cancel polls=1\n' > "$WORK/cancel.scn"
start_mock "$WORK/cancel.scn"
out=$(run_ft "$WORK/cancel.db")
has "$out" "fine-tuning job 'ftjob-mock1' was cancelled at the provider" "cancelled job: message"
stop_mock

# the creation's answer is lost: the run fails "in doubt"; the next run
# finds the job by its metadata and does not create another
printf 'create lost\nplan succeed polls=1\n' > "$WORK/lost.scn"
start_mock "$WORK/lost.scn"
out=$(run_ft "$WORK/lost.db")
has "$out" "may have been carried out, so it is not sent again" "lost answer: in doubt"
out=$(run_ft "$WORK/lost.db")
has "$out" "tuned	" "lost answer: resumed"
eq "$(seen create)" 1 "lost answer: one creation"
eq "$(seen jobs)" 1 "lost answer: looked the job up"
eq "$(seen upload)" 1 "lost answer: one upload"
stop_mock

# SIGKILL while polling, then resume: one upload, one job
printf 'plan succeed polls=25\n' > "$WORK/kill.scn"
start_mock "$WORK/kill.scn"
POLL=0.05 "$FTSB_BIN" ${FTSB_FLAGS:-} --store "$WORK/kill.db" run "$FT" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 300); do [ "$(seen job)" -ge 3 ] && break; sleep 0.01; done
kill -9 "$pid"; wait "$pid" 2>/dev/null
polls_before=$(seen job)
check $(( polls_before >= 3 && polls_before < 25 ? 0 : 1 )) "kill: killed while polling (after $polls_before polls)"
out=$(POLL=0.01 run_ft "$WORK/kill.db")
has "$out" "tuned	backend:openai@1.0.0:openai:$MOCK_URL|ft:mock-gpt:mock:aoa:mock1|" "kill: resumed to the same job"
eq "$(seen upload)" 1 "kill: exactly one upload"
eq "$(seen create)" 1 "kill: exactly one job created"
eq "$(seen job)" 25 "kill: polling went on where it stopped"
finish
