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
  ls -A "$POOL_DIR" | grep -e "^\.${PREFIX}i-3" >/dev/null && break
  sleep 0.1
done
ls -A "$POOL_DIR" | grep -e "^\.${PREFIX}i-" >/dev/null || fail "clone disks never appeared"
sleep 1
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" != 0 ] || fail "interrupted clone exited 0"
grep -q "interrupted" "$SCRATCH/err" || fail "no 'interrupted' message: $(cat "$SCRATCH/err")"
assert_nothing_left "after SIGINT"
first=$(tail -n1 "$SCRATCH/err")

# Again, this time while the libguestfs appliance is working on the disks.
"$VMSTAMP" clone --network user --count 2 --name-pattern "${PREFIX}j-%d" "$tpl" \
  >"$SCRATCH/out" 2>"$SCRATCH/err" &
pid=$!
for _ in $(seq 1 600); do
  pgrep -f "qemu-system.*\.${PREFIX}j-2\.qcow2\.vmstamp-tmp" >/dev/null && break
  sleep 0.1
done
pgrep -f "qemu-system.*\.${PREFIX}j-2\.qcow2\.vmstamp-tmp" >/dev/null || fail "appliance never started"
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" != 0 ] || fail "clone interrupted during the appliance exited 0"
grep -q "interrupted" "$SCRATCH/err" || fail "no 'interrupted' message: $(cat "$SCRATCH/err")"
pgrep -f "\.${PREFIX}j-" >/dev/null && fail "appliance still running after the interrupt"
assert_nothing_left "after SIGINT during the appliance"
echo "PASS: clone-interrupt (before: $first; during appliance: $(tail -n1 "$SCRATCH/err"))"
