#!/usr/bin/env bash
# sh_cli.sh - the command line's answers to mistakes: each case checks the
# exit status and the message.
set -u
: "${FTSB_BIN:?}" "${WORK:?}"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
pass=0; fail=0

expect() {   # expect STATUS NEEDLE -- COMMAND...
  local want=$1 needle=$2; shift 3
  "$@" >out.txt 2>&1; local got=$?
  if [ "$got" -ne "$want" ] || ! grep -qF -- "$needle" out.txt; then
    echo "FAIL: $* -> status $got (want $want), output:"; sed 's/^/  /' out.txt
    fail=$((fail + 1))
  else
    pass=$((pass + 1))
  fi
}

printf 'local x = \n' > syntax.lua
printf 'local ftsb = require "ftsb"\nlocal function f() error("boom") end\nf()\n' > runtime.lua
printf 'local ftsb = require "ftsb"\nftsb.backend("mock", { modle = 1 })\n' > badkey.lua
printf 'print(arg[1], ...)\n' > args.lua

expect 1 "cannot open missing.lua" -- "$FTSB_BIN" --store s.db run missing.lua
expect 1 "syntax.lua:2:" -- "$FTSB_BIN" --store s.db run syntax.lua
expect 1 "runtime.lua:2: boom" -- "$FTSB_BIN" --store s.db run runtime.lua
expect 1 "stack traceback" -- "$FTSB_BIN" --store s.db run runtime.lua
expect 1 "badkey.lua:2: backend 'mock' has no option 'modle'; did you mean 'model'?" -- \
  "$FTSB_BIN" --store s.db run badkey.lua
expect 0 "a1	a1	b2" -- "$FTSB_BIN" --store s.db run args.lua a1 b2
expect 2 "unknown command 'frobnicate'" -- "$FTSB_BIN" frobnicate
expect 2 "unknown option '--nope'" -- "$FTSB_BIN" --nope run x.lua
expect 2 "--shard '0/2'" -- "$FTSB_BIN" --shard 0/2 run x.lua
expect 2 "run: which script?" -- "$FTSB_BIN" run
expect 0 "usage: ftsb" -- "$FTSB_BIN" --help
expect 0 "backend  mock" -- "$FTSB_BIN" plugins
expect 0 "fail_every" -- "$FTSB_BIN" plugins --help backend/mock
expect 1 "no plugin 'nope'" -- "$FTSB_BIN" plugins --help nope
printf 'not a database at all, just text\n%.0s' $(seq 1 200) > junk.db
expect 1 "junk.db" -- "$FTSB_BIN" --store junk.db runs

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
