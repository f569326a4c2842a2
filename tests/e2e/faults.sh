#!/usr/bin/env bash
# faults.sh: real components made to fail during `clone --count 5` (issue
# 11, "Faults of real components"). Each fault must end with a one-line
# error that names what failed, a non-zero exit and nothing left behind (no
# domain, volume, temporary disk, journal or private key directory), and
# the same command must succeed once the fault is gone.
#   qemu-img      a wrapper first on PATH fails its first, a middle and its
#                 last call of the run (the calls are counted in a clean run)
#   launch        the libguestfs appliance cannot start (LIBGUESTFS_HV is a
#                 program that exits 1)
#   appliance     the appliance's qemu is killed (SIGKILL) once the first
#                 clone is customized
#   pool full     full clones into a dir pool on a 40 MiB tmpfs; then the
#                 tmpfs is grown and the same command succeeds
#   template      removed (moved away), written to (512 bytes appended) or
#                 replaced (a copy renamed over it) once the five disks are
#                 made; and held (a shared flock) while clones of it are made
. "$(dirname "$0")/lib.sh"
start_test

tpl=$(fixture debian12)
fault_programs

results=()
record() { results+=("$(printf '%-44s %s' "$1" "$2")"); }

# nothing_of RUN: no domain, volume or pool file with this run's names, and
# no journal or private directory of a finished vmstamp run left over.
nothing_of() {
  assert_nothing_left "$1"
  local left
  left=$(ls "$JOURNAL_DIR" 2>/dev/null | grep -v '^\.' || true)
  [ -z "$left" ] || pgrep -x vmstamp >/dev/null || fail "$1: journal left behind: $left"
  left=$(ls -d /run/vmstamp/keys.* 2>/dev/null || true)
  [ -z "$left" ] || pgrep -x vmstamp >/dev/null || fail "$1: private key directory left: $left"
}

# clone5 PATTERN [ARGS...]: the command under test, output in $SCRATCH/out, err.
clone5() {
  local pat=$1
  shift
  "$VMSTAMP" -q clone --network user --count 5 --name-pattern "$pat" "$@" "$tpl" >"$SCRATCH/out" 2>"$SCRATCH/err"
}
names5() { local i; for i in 1 2 3 4 5; do printf "$1 " "$i"; done; }

# expect_fault LABEL PATTERN PAT [ARGS...]: clone5 fails with one line
# matching PATTERN, and leaves nothing.
expect_fault() {
  local label=$1 pattern=$2 pat=$3 rc=0
  shift 3
  clone5 "$pat" "$@" || rc=$?
  [ "$rc" != 0 ] || fail "$label: exit 0"
  [ "$(wc -l <"$SCRATCH/err")" = 1 ] || { cat "$SCRATCH/err" >&2; fail "$label: the error is not one line"; }
  grep -Eq -- "$pattern" "$SCRATCH/err" || fail "$label: error '$(cat "$SCRATCH/err")' does not match /$pattern/"
  nothing_of "$label"
  record "$label" "exit $rc: $(cat "$SCRATCH/err")"
}

# then_ok LABEL PAT [ARGS...]: the same command, without the fault, works.
then_ok() {
  local label=$1 pat=$2
  shift 2
  clone5 "$pat" "$@" || { cat "$SCRATCH/err" >&2; fail "$label: the run after the fault failed"; }
  [ "$(grep -c "^${PREFIX}" "$SCRATCH/out")" = 5 ] || fail "$label: the run after the fault made no 5 clones"
  # shellcheck disable=SC2046 # names are [a-z0-9-]
  "$VMSTAMP" -q rm $(names5 "$pat") || fail "$label: rm failed"
}

# ---- qemu-img ----------------------------------------------------------------
export FAULT_COUNT=$SCRATCH/qemu-img.count
note "qemu-img: counting its calls in a clean run"
rm -f "$FAULT_COUNT" "$FAULT_COUNT.log"
PATH="$BIN:$PATH" FAULT_AT=0 clone5 "${PREFIX}c%d" || { cat "$SCRATCH/err" >&2; fail "the counting run failed"; }
calls=$(cat "$FAULT_COUNT")
[ "$calls" -ge 6 ] || fail "only $calls qemu-img calls in a run of 5 clones: the wrapper is not used"
# shellcheck disable=SC2046
"$VMSTAMP" -q rm $(names5 "${PREFIX}c%d") || fail "rm failed"
for at in 1 $(((calls + 1) / 2)) "$calls"; do
  rm -f "$FAULT_COUNT"
  what=$(sed -n "${at}s/^[0-9]* \([a-z]*\).*/\1/p" "$FAULT_COUNT.log")
  note "qemu-img fails at call $at of $calls ($what)"
  PATH="$BIN:$PATH" FAULT_AT=$at expect_fault "qemu-img fails at call $at/$calls ($what)" \
    "qemu-img|injected failure" "${PREFIX}q${at}-%d"
  rm -f "$FAULT_COUNT"
  then_ok "qemu-img at $at" "${PREFIX}q${at}-%d"
done

# ---- the appliance cannot start ----------------------------------------------------
note "the libguestfs appliance cannot start"
LIBGUESTFS_HV=$BIN/no-qemu expect_fault "appliance launch fails" "libguestfs|appliance|launch|qemu" "${PREFIX}l%d"
then_ok "launch" "${PREFIX}l%d"

# ---- the appliance dies while it customizes ----------------------------------------
note "the appliance's qemu killed after the first clone"
"$VMSTAMP" -v clone --network user --count 5 --name-pattern "${PREFIX}d%d" "$tpl" >"$SCRATCH/out" 2>"$SCRATCH/verr" &
vpid=$!
wait_for 300 grep -s -q "customized ${PREFIX}d1 " "$SCRATCH/verr" || { kill "$vpid"; fail "the first clone was never customized"; }
qpid=$(pgrep -f "qemu-system.*\.${PREFIX}d1\.qcow2\.vmstamp-tmp" || true)
[ -n "$qpid" ] || { kill "$vpid"; fail "no appliance qemu found for ${PREFIX}d1"; }
kill -9 $qpid
rc=0; wait "$vpid" || rc=$?
[ "$rc" != 0 ] || fail "appliance killed: exit 0"
last=$(grep 'error' "$SCRATCH/verr" | tail -n 1)
grep -Eiq "appliance|libguestfs|connection|guestfsd|closed|died|qemu-system.* killed" <<<"$last" ||
  fail "appliance killed: the error does not say what failed: '$last'"
nothing_of "appliance killed"
record "appliance killed after the first clone" "exit $rc: $last"
then_ok "appliance killed" "${PREFIX}d%d"

# ---- the pool fills up --------------------------------------------------------------
note "full clones into a pool on a 40 MiB filesystem"
small=$SCRATCH/small
mkdir -p "$small"
mount -t tmpfs -o size=40m "${PREFIX}small" "$small"
chmod 755 "$small"
$V pool-create-as "${PREFIX}small" dir --target "$small" >/dev/null
expect_fault "pool full (clone --full, 40 MiB)" "No space left|space|full" "${PREFIX}f%d" --full --pool "${PREFIX}small"
left=$(ls -A "$small")
[ -z "$left" ] || fail "pool full: files left in the pool: $left"
mount -o remount,size=600m "$small"
$V pool-refresh "${PREFIX}small" >/dev/null
then_ok "pool full" "${PREFIX}f%d" --full --pool "${PREFIX}small"
[ -z "$(ls -A "$small")" ] || fail "rm left files in the small pool: $(ls -A "$small")"

# ---- the template removed or written to while the clones are made ----------------
# clone5_bg PAT TEMPLATE: the command under test in the background ($vpid),
# with TEMPLATE; ends once all five clones' temporary disks exist.
clone5_bg() {
  "$VMSTAMP" -q clone --network user --count 5 --name-pattern "$1" "$2" >"$SCRATCH/out" 2>"$SCRATCH/err" &
  vpid=$!
  local last
  last=$POOL_DIR/.$(printf "$1" 5).qcow2.vmstamp-tmp
  wait_for 120 test -e "$last" || { kill "$vpid"; fail "$1: the fifth clone's disk was never made"; }
}
# fault_end LABEL PATTERN: the run of clone5_bg failed with one line matching
# PATTERN, and left nothing.
fault_end() {
  local rc=0
  wait "$vpid" || rc=$?
  [ "$rc" != 0 ] || fail "$1: exit 0"
  [ "$(wc -l <"$SCRATCH/err")" = 1 ] || { cat "$SCRATCH/err" >&2; fail "$1: the error is not one line"; }
  grep -Eq -- "$2" "$SCRATCH/err" || fail "$1: error '$(cat "$SCRATCH/err")' does not match /$2/"
  nothing_of "$1"
  record "$1" "exit $rc: $(cat "$SCRATCH/err")"
}
moved=$SCRATCH/tpl-moved.qcow2
cp --sparse=always "$tpl" "$moved"
note "the template removed once the disks are made"
clone5_bg "${PREFIX}r%d" "$moved"
mv "$moved" "$moved.away"
fault_end "template removed during the run" "template '.*tpl-moved.qcow2' was removed while the clones were made"
mv "$moved.away" "$moved"
tpl=$moved then_ok "template removed" "${PREFIX}r%d"

note "the template written to once the disks are made"
clone5_bg "${PREFIX}w%d" "$moved"
head -c 512 /dev/zero >>"$moved"
fault_end "template written to during the run" "template '.*tpl-moved.qcow2' was written to while the clones were made"
tpl=$moved then_ok "template written to" "${PREFIX}w%d"

note "the template replaced by another file once the disks are made"
cp --sparse=always "$moved" "$moved.new"
clone5_bg "${PREFIX}x%d" "$moved"
mv "$moved.new" "$moved"
fault_end "template replaced during the run" "template '.*tpl-moved.qcow2' was replaced by another file while the clones were made"
tpl=$moved then_ok "template replaced" "${PREFIX}x%d"
# A run making clones of it holds the template shared: `template rm` (an
# exclusive flock) waits for none, it refuses.
clone5_bg "${PREFIX}k%d" "$moved"
! flock -x -n "$moved" true || { kill "$vpid"; fail "the template is not locked (shared) while clones of it are made"; }
wait "$vpid" || { cat "$SCRATCH/err" >&2; fail "the clone run of the lock check failed"; }
# shellcheck disable=SC2046
"$VMSTAMP" -q rm $(names5 "${PREFIX}k%d") || fail "rm failed"

echo "faults:"
printf '  %s\n' "${results[@]}"
echo "PASS: faults"
