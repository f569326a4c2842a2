#!/usr/bin/env bash
# clone-interrupt.sh: Ctrl-C (SIGINT) in the middle of a clone run rolls
# everything back: no domain, no volume, no temporary disk.
. "$(dirname "$0")/lib.sh"
start_test

tpl=$(fixture debian12)
"$VMSTAMP" clone --network user --count 3 --name-pattern "${PREFIX}i-%d" "$tpl" \
  >"$SCRATCH/out" 2>"$SCRATCH/err" &
pid=$!
# Wait until the disks exist (the appliance is launching), then interrupt.
for _ in $(seq 1 100); do
  ls -A "$POOL_DIR" | grep -q "^\.${PREFIX}i-3" && break
  sleep 0.1
done
ls -A "$POOL_DIR" | grep -q "^\.${PREFIX}i-" || fail "clone disks never appeared"
sleep 1
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" != 0 ] || fail "interrupted clone exited 0"
grep -q "interrupted" "$SCRATCH/err" || fail "no 'interrupted' message: $(cat "$SCRATCH/err")"
assert_nothing_left "after SIGINT"
echo "PASS: clone-interrupt ($(tail -n1 "$SCRATCH/err"))"
