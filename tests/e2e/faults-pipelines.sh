#!/usr/bin/env bash
# faults-pipelines.sh: faults.sh's faults of real components, during the
# other pipelines (issue 11, "Faults of real components"):
#   template create (debian12 fixture)
#     qemu-img      fails its first, a middle (the work overlay's create) and
#                   its last call; the first with the name of a template
#                   already in the store, which must stay as it was
#     launch        the libguestfs appliance cannot start (LIBGUESTFS_HV)
#     appliance     its qemu killed (SIGKILL) in the middle of sysprep, while
#                   the filesystems are trimmed, and in the last step before
#                   the flush (once that was a template made of a dead
#                   appliance's half-written disk, exit 0)
#     store full    the store is a pool on a 20 MiB tmpfs (--pool): the
#                   compressed image does not fit; grown, the same succeeds
#   install (the test installer ISO, --network user)
#     qemu-img      fails its first (and only, so also its last) call
#     pool full     the disk's pool on a 32 MiB tmpfs fills while the guest
#                   installs (qemu pauses it on ENOSPC); grown, it succeeds
#     launch        install launches no appliance: the last install runs
#                   with LIBGUESTFS_HV failing, and succeeds
#   fleet apply (a plan on this host alone, 4 linked clones, user network)
#     qemu-img      fails its first, a middle and its last call
#     launch        as for template create
#     appliance     its qemu killed once the first clone is customized
#     pool full     a full-disk group of 2 into a pool on a 40 MiB tmpfs
#     template      written to (512 bytes appended) once the 4 disks are made
# Each fault must end with a one-line error naming what failed, a non-zero
# exit and nothing of the run left (no domain, volume, temporary file, store
# image or index entry, journal, key / work / install directory, staged
# file, claim, qemu, known_hosts); and the same command succeeds once the
# fault is gone (after a fault of fleet apply, the next apply makes the
# whole plan and destroy leaves nothing). qemu-img calls are counted in a
# clean run of each command first.
. "$(dirname "$0")/lib.sh"
start_test

fault_programs
export FAULT_COUNT=$SCRATCH/qemu-img.count
STORE=/var/lib/vmstamp/templates
INDEX=/var/lib/vmstamp/index
SMALL=${PREFIX}small
small=$SCRATCH/small
T0=$SECONDS

results=()
record() { results+=("$(printf '%-52s %s' "$1" "$2")"); }
trap 'rm -rf "${INDEX:?}/$SMALL" /var/lib/vmstamp/fleet/"$PREFIX"*; cleanup' EXIT

# small_pool MiB: a dir pool $SMALL on a tmpfs of that size (new, empty);
# grow_pool MiB: the same, grown; drop_pool: gone.
small_pool() {
  mkdir -p "$small"
  mount -t tmpfs -o "size=$1m,mode=755" "$SMALL" "$small"
  $V pool-create-as "$SMALL" dir --target "$small" >/dev/null
}
grow_pool() {
  mount -o "remount,size=$1m" "$small"
  $V pool-refresh "$SMALL" >/dev/null
}
drop_pool() {
  $V pool-destroy "$SMALL" >/dev/null
  umount "$small"
}

# vm [NAME=VALUE...] ARGS...: vmstamp -q ARGS with that environment; its pid
# (the run's id starts with it) in $vpid, status in $rc, output in
# $SCRATCH/out and err.
vm() {
  local envs=()
  while [[ $1 == *=* ]]; do envs+=("$1"); shift; done
  env "${envs[@]}" "$VMSTAMP" -q "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" &
  vpid=$!
  rc=0
  wait "$vpid" || rc=$?
}

# run_left: what the last run ($vpid) left that is named after it: journal,
# key, work and install directories, staged files; and its claims.
run_left() {
  run_things "$vpid"
  ls -d /var/lib/vmstamp/stage/"$vpid"-* 2>/dev/null || true
  find /run/vmstamp/claims -type f 2>/dev/null | grep -F "$PREFIX" || true
}

# fault_end LABEL PATTERN CHECK: the last run failed with one line matching
# PATTERN (with WARN_OK=1, warning lines before it allowed), left nothing of
# its own, and CHECK (a function: what this command must leave as it was)
# says nothing.
fault_end() {
  local label=$1 pattern=$2 errs left
  [ "$rc" != 0 ] || fail "$label: exit 0"
  errs=$SCRATCH/err
  if [ "${WARN_OK:-0}" = 1 ]; then
    errs=$SCRATCH/err.nowarn
    grep -v '^vmstamp: warning: ' "$SCRATCH/err" >"$errs" || true
  fi
  [ "$(wc -l <"$errs")" = 1 ] || { cat "$SCRATCH/err" >&2; fail "$label: the error is not one line"; }
  grep -Eq -- "$pattern" "$errs" || fail "$label: error '$(cat "$errs")' does not match /$pattern/"
  left=$(run_left; qemu_of "vmstamp-work.$vpid-" "$PREFIX")
  [ -z "$left" ] || fail "$label: the run left $(flat "$left")"
  left=$($3)
  [ -z "$left" ] || fail "$label: $(flat "$left")"
  record "$label" "exit $rc: $(cat "$errs")"
}

# count_calls ARGS...: a clean run of vmstamp ARGS through the wrapper: the
# number of qemu-img calls in $calls, one "N ARGS" line each in $SCRATCH/calls.
count_calls() {
  rm -f "$FAULT_COUNT" "$FAULT_COUNT.log"
  vm PATH="$BIN:$PATH" FAULT_AT=0 "$@"
  [ "$rc" = 0 ] || { cat "$SCRATCH/err" >&2; fail "the counting run of '$*' failed"; }
  [ -s "$FAULT_COUNT" ] || fail "no qemu-img call in '$*': the wrapper is not used"
  calls=$(cat "$FAULT_COUNT")
  mv "$FAULT_COUNT.log" "$SCRATCH/calls"
}
# qemu_img_faults LABEL PATTERN CHECK WHICH ARGS...: the command (vmstamp
# ARGS) with qemu-img failing at each call WHICH names ("first", "middle",
# "last", or a number) of the last count_calls.
qemu_img_faults() {
  local label=$1 pattern=$2 check=$3 which=$4 at what w
  shift 4
  for w in $which; do
    case $w in
      first) at=1 ;;
      # just past the half: something made before it to undo
      middle) at=$(((calls + 1) / 2 + 1)) ;;
      last) at=$calls ;;
      *) at=$w ;;
    esac
    # one call only: its first is its last
    [ "$w" != last ] || [ "$calls" != 1 ] || [[ " $which " != *" first "* ]] || continue
    what=$(sed -n "${at}s/^[0-9]* \([a-z]*\).*/\1/p" "$SCRATCH/calls")
    note "$label: qemu-img fails at call $at of $calls ($what)"
    rm -f "$FAULT_COUNT" "$FAULT_COUNT.log"
    vm PATH="$BIN:$PATH" FAULT_AT="$at" "$@"
    fault_end "$label: qemu-img fails call $at/$calls ($what)" "$pattern" "$check"
  done
}

# kill_appliance_at LINE QEMU_MATCH ARGS...: vmstamp -v ARGS, its appliance's
# qemu (the qemu-system process whose command line matches the extended
# regex QEMU_MATCH; @PID@ in it is vmstamp's pid) killed with SIGKILL the
# moment vmstamp prints a line containing LINE: its stderr is read as it
# comes (a FIFO), and the qemu is found once the appliance is up, so the
# kill lands within milliseconds. $rc, $vpid; its last error line in
# $SCRATCH/err, all of stderr in $SCRATCH/verr.
kill_appliance_at() {
  local line=$1 match=$2 rpid
  shift 2
  rm -f "$SCRATCH/vfifo" "$SCRATCH/killed"
  mkfifo "$SCRATCH/vfifo"
  "$VMSTAMP" -v "$@" >"$SCRATCH/out" 2>"$SCRATCH/vfifo" &
  vpid=$!
  match=${match//@PID@/$vpid}
  (
    q='' done=0
    while IFS= read -r l; do
      printf '%s\n' "$l"
      [ "$done" = 0 ] || continue
      [[ $l != *"appliance launched"* ]] || q=$(pgrep -f "qemu-system.*$match" || true)
      if [[ $l == *"$line"* ]]; then
        [ -n "$q" ] || q=$(pgrep -f "qemu-system.*$match" || true)
        # shellcheck disable=SC2086 # one pid
        [ -z "$q" ] || { kill -9 $q && echo "$q" >"$SCRATCH/killed"; }
        done=1
      fi
    done
  ) <"$SCRATCH/vfifo" >"$SCRATCH/verr" &
  rpid=$!
  rc=0
  wait "$vpid" || rc=$?
  wait "$rpid" || true
  [ -s "$SCRATCH/killed" ] || { tail -n 3 "$SCRATCH/verr" >&2; fail "no appliance qemu /$match/ killed at '$line'"; }
  grep '^vmstamp: error: ' "$SCRATCH/verr" | tail -n 1 >"$SCRATCH/err" || true
  [ -s "$SCRATCH/err" ] || { tail -n 5 "$SCRATCH/verr" >&2; fail "appliance killed at '$line': exit $rc, no error line"; }
  # Under -v, stderr has the trace: the one line is the only error line.
  [ "$(grep -c '^vmstamp: error: ' "$SCRATCH/verr")" = 1 ] || fail "appliance killed at '$line': more than one error line"
}
KILLED="killed by signal 9|libguestfs appliance died"

# ============================== template create ==============================
src=$(fixture debian12)
T=${PREFIX}t     # made first, must never change
TF=${PREFIX}tf   # what the faulty runs try to make

# tpl_check: no trace of $TF in any store or index (temporary files
# included), no work directory of the run, and $T exactly as it was.
tpl_check() {
  ls -A "$STORE" "$INDEX/vmstamp-templates" "$small" "$INDEX/$SMALL" 2>/dev/null | grep -F "$TF" | sed 's/^/left in the store: /' || true
  [ "$(sha256sum <"$STORE/$T.qcow2")" = "$t_sum" ] || echo "template $T's image changed"
  [ "$(cat "$INDEX/vmstamp-templates/$T.json")" = "$t_meta" ] || echo "template $T's index entry changed"
}

note "template create: counting qemu-img calls in a clean run (it makes $T)"
count_calls template create "$T" --from "$src"
t_sum=$(sha256sum <"$STORE/$T.qcow2")
t_meta=$(cat "$INDEX/vmstamp-templates/$T.json")
# The first call reads the source before the name is checked: a fault there
# is said even for a name already in the store (and $T is left as it was).
qemu_img_faults "template create (existing name)" "qemu-img|injected failure" tpl_check first \
  template create "$T" --from "$src"
# Its calls: 1 info (the source), 2 create (the work overlay), 3 create -o
# help (does it write zstd? a failure means zlib, by design), 4 convert
# (into the store: its failure is the store-full case below), 5 info (the
# result). The middle one taken is 2: each fault after the appliance costs
# a launch.
[ "$calls" = 5 ] || fail "template create: $calls qemu-img calls, not 5: $(flat "$(cat "$SCRATCH/calls")")"
qemu_img_faults "template create" "qemu-img|injected failure" tpl_check "2 last" \
  template create "$TF" --from "$src"

note "template create: the appliance cannot start"
vm LIBGUESTFS_HV="$BIN/no-qemu" template create "$TF" --from "$src"
fault_end "template create: appliance launch fails" "libguestfs|appliance|launch" tpl_check

# Killed while it edits the mounted guest, while it trims the filesystems,
# and in the last step before the appliance flushes the disk (unmounted).
for at in "sysprep: machine-id" "files removed or emptied" "sysprep: lvm-uuids"; do
  note "template create: the appliance's qemu killed at '$at'"
  kill_appliance_at "$at" "vmstamp-work\.@PID@-[0-9]*\.[^/]*/overlay\.qcow2" template create "$TF" --from "$src"
  fault_end "template create: appliance killed at '$at'" "$KILLED" tpl_check
done

note "template create: the store (a pool on a 20 MiB tmpfs) fills up"
small_pool 20
vm template create "$TF" --from "$src" --pool "$SMALL"
fault_end "template create: store full (20 MiB pool)" "template '$TF' does not fit in store '$SMALL' \($small: no space left on device\)" tpl_check
[ -z "$(ls -A "$small")" ] || fail "store full: files left in the pool: $(ls -A "$small")"
grow_pool 120
vm template create "$TF" --from "$src" --pool "$SMALL"
[ "$rc" = 0 ] || { cat "$SCRATCH/err" >&2; fail "template create after the faults failed"; }
{ [ -f "$small/$TF.qcow2" ] && [ -f "$INDEX/$SMALL/$TF.json" ]; } || fail "template create after the faults made no template"
"$VMSTAMP" -q template verify --pool "$SMALL" "$TF" >/dev/null || fail "the template made after the faults does not verify"
"$VMSTAMP" -q template rm --pool "$SMALL" "$TF" || fail "template rm failed"
"$VMSTAMP" -q template rm "$T" || fail "template rm failed"
drop_pool
note "template create: done at $((SECONDS - T0)) s"

# ================================== install ==================================
iso=$("$SRC/scripts/build-installer-iso.sh" | tail -n 1)
[ -f "$iso" ] || fail "installer ISO not built"
N=${PREFIX}i
I=(install --iso "$iso" --kickstart "$SRC/kickstart/testdist.ks" --network user --size 1G --name "$N")
# prefix_left: domains, volumes of the default pool and files in it or in
# the small pool that have the test prefix.
prefix_left() {
  $V list --all --name | grep -F "$PREFIX" | sed 's/^/domain left: /' || true
  $V pool-refresh default >/dev/null
  $V vol-list default | awk '{print $1}' | grep -F "$PREFIX" | sed 's/^/volume left: /' || true
  ls -A "$POOL_DIR" "$small" 2>/dev/null | grep -F "$PREFIX" | sed 's/^/file left: /' || true
}
inst_check() { prefix_left; }

note "install: counting qemu-img calls in a clean run"
count_calls "${I[@]}"
rm -f "$POOL_DIR/$N.qcow2"
$V pool-refresh default >/dev/null
qemu_img_faults "install" "qemu-img|injected failure" inst_check "first last" "${I[@]}"

note "install: the pool (a 32 MiB tmpfs) fills up while the guest installs"
small_pool 32
t=$SECONDS
WARN_OK=1 vm "${I[@]}" --pool "$SMALL"
WARN_OK=1 fault_end "install: pool full while installing (32 MiB)" "out of space|No space left" inst_check
[ $((SECONDS - t)) -lt 120 ] || fail "install: pool full: noticed only after $((SECONDS - t)) s"
[ -z "$(ls -A "$small")" ] || fail "install: pool full: files left in the pool: $(ls -A "$small")"
grow_pool 200
# install launches no libguestfs appliance: this run would fail if it did.
vm LIBGUESTFS_HV="$BIN/no-qemu" "${I[@]}" --pool "$SMALL"
[ "$rc" = 0 ] || { cat "$SCRATCH/err" >&2; fail "install after the faults failed"; }
[ -f "$small/$N.qcow2" ] || fail "install after the faults made no disk"
$V vol-delete --pool "$SMALL" "$N.qcow2" >/dev/null
drop_pool
note "install: done at $((SECONDS - T0)) s"

# ================================= fleet apply ================================
tpl=$src
FLEET=${PREFIX}fl
KH=/var/lib/vmstamp/fleet/$FLEET.known_hosts
plan=$SCRATCH/fleet.yaml
cat >"$plan" <<EOF
fleet: $FLEET
template: $tpl
defaults: {memory: 256M, vcpus: 1}
groups:
  - {name: ${PREFIX}fl-%02d, count: 4, network: user}
EOF
# fleet_check: nothing of the fleet: no domain, volume or pool file with the
# prefix, no known_hosts file.
fleet_check() {
  prefix_left
  ls -A /var/lib/vmstamp/fleet 2>/dev/null | grep -F "$FLEET" | sed 's/^/fleet file left: /' || true
}
# fleet_ok: the apply of the plan after a fault makes all, then destroy.
fleet_ok() {
  vm fleet apply "$plan"
  [ "$rc" = 0 ] || { cat "$SCRATCH/err" >&2; fail "fleet apply after a fault failed"; }
  grep -q "fleet $FLEET: created $1, keep 0" "$SCRATCH/out" || fail "fleet apply after a fault: $(tail -n 2 "$SCRATCH/out")"
  [ "$(grep -c "^$PREFIX" <<<"$($V list --all --name)")" = "$1" ] || fail "fleet apply after a fault: not $1 domains"
  vm fleet destroy "$plan"
  [ "$rc" = 0 ] || { cat "$SCRATCH/err" >&2; fail "fleet destroy failed"; }
  [ -z "$(fleet_check)" ] || fail "fleet destroy left $(flat "$(fleet_check)")"
}

note "fleet apply: counting qemu-img calls in a clean run"
count_calls fleet apply "$plan"
vm fleet destroy "$plan"
rm -f "$KH"
qemu_img_faults "fleet apply" "qemu-img|injected failure" fleet_check "first middle last" fleet apply "$plan"
fleet_ok 4

note "fleet apply: the appliance cannot start"
vm LIBGUESTFS_HV="$BIN/no-qemu" fleet apply "$plan"
fault_end "fleet apply: appliance launch fails" "libguestfs|appliance|launch" fleet_check

note "fleet apply: the template written to once the four disks are made"
"$VMSTAMP" -q fleet apply "$plan" >"$SCRATCH/out" 2>"$SCRATCH/err" &
vpid=$!
wait_for 120 eval 'find "$POOL_DIR" /var/lib/vmstamp/stage -name ".${PREFIX}fl-04.qcow2.vmstamp-tmp" 2>/dev/null | grep -q .' ||
  { kill "$vpid"; fail "fleet apply: the fourth clone's disk was never made"; }
head -c 512 /dev/zero >>"$tpl"
rc=0; wait "$vpid" || rc=$?
fault_end "fleet apply: template written to during the run" "template '$tpl' was written to while the clones were made" fleet_check

note "fleet apply: the appliance's qemu killed once the first clone is customized"
kill_appliance_at "customized ${PREFIX}fl-01 " "\.${PREFIX}fl-01\.qcow2\.vmstamp-tmp" fleet apply "$plan"
fault_end "fleet apply: appliance killed after the first clone" "$KILLED" fleet_check
fleet_ok 4

note "fleet apply: a full-disk group into a pool on a 40 MiB tmpfs"
small_pool 40
cat >"$plan" <<EOF
fleet: $FLEET
template: $tpl
defaults: {memory: 256M, vcpus: 1}
groups:
  - {name: ${PREFIX}ff-%02d, count: 2, network: user, disk: full, pool: $SMALL}
EOF
vm fleet apply "$plan"
fault_end "fleet apply: full disks, pool full (40 MiB)" "clone '${PREFIX}ff-0[12]' does not fit in $small \(no space left on device\)" fleet_check
grow_pool 400
fleet_ok 2
drop_pool

echo "faults-pipelines ($((SECONDS - T0)) s):"
printf '  %s\n' "${results[@]}"
echo "PASS: faults-pipelines"
