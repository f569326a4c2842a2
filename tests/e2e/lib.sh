# lib.sh: shared helpers for vmstamp's end-to-end tests (sourced).
# Real libvirtd on qemu:///system, real libguestfs, real qemu guests under
# TCG: no mocks. Guests get user-mode networking only.
set -euo pipefail

VMSTAMP=${VMSTAMP:?set VMSTAMP to the vmstamp binary}
SRC=${SRC:?set SRC to the source tree}
URI=qemu:///system
V="virsh -q -c $URI"
PREFIX="vmst$$-"                 # every name a test makes starts with this
SCRATCH=/var/tmp/vmstamp-test-$$  # libvirt-qemu must be able to read templates here
POOL_DIR=/var/lib/libvirt/images

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "--- $*" >&2; }

skip_unless_ready() {
  [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
  $V version >/dev/null 2>&1 || { echo "SKIP: libvirtd not reachable (run scripts/setup.sh)"; exit 77; }
}

# Remove whatever this run made: domains, volumes, scratch files.
cleanup() {
  local d
  for d in $($V list --all --name 2>/dev/null | grep "^$PREFIX" || true); do
    $V destroy "$d" >/dev/null 2>&1 || true
    $V undefine "$d" >/dev/null 2>&1 || true
  done
  # Pools this run made (transient), and filesystems it mounted for them.
  for d in $($V pool-list --all --name 2>/dev/null | grep "^$PREFIX" || true); do
    $V pool-destroy "$d" >/dev/null 2>&1 || true
    $V pool-undefine "$d" >/dev/null 2>&1 || true
  done
  for d in $(awk -v s="$SCRATCH/" 'index($2, s) == 1 {print $2}' /proc/mounts); do
    umount "$d" 2>/dev/null || umount -l "$d" 2>/dev/null || true
  done
  # Templates this run put in the store.
  chmod u+w /var/lib/vmstamp/templates/"$PREFIX"* 2>/dev/null || true
  rm -f /var/lib/vmstamp/templates/"$PREFIX"* /var/lib/vmstamp/templates/."$PREFIX"* \
        /var/lib/vmstamp/index/*/"$PREFIX"* /var/lib/vmstamp/index/*/."$PREFIX"*
  $V pool-refresh vmstamp-templates >/dev/null 2>&1 || true
  rm -f "$POOL_DIR/$PREFIX"* "$POOL_DIR/.$PREFIX"* /var/log/libvirt/qemu/"$PREFIX"*
  $V pool-refresh default >/dev/null 2>&1 || true
  # vmstamp's records of this run's scratch templates (layouts, grown copies).
  local f
  for f in $(grep -l -F "\"key\":\"${SCRATCH//\//\\\/}\\/" /var/cache/vmstamp/layouts/*.json 2>/dev/null || true); do
    rm -f "$f" "${f%.json}.qcow2"
  done
  rm -rf "$SCRATCH"
}

# The accelerator decision (cached per boot) must exist before any stock
# libguestfs tool runs: on a host where KVM hangs they must use TCG.
ensure_accel() {
  [ -s /run/vmstamp/accel ] || "$VMSTAMP" doctor >/dev/null || true
}

start_test() {
  skip_unless_ready
  ensure_accel
  trap cleanup EXIT
  # ctest's timeout (SIGTERM) or Ctrl-C: exit, so the EXIT trap cleans up.
  trap 'exit 143' TERM HUP
  trap 'exit 130' INT
  mkdir -p "$SCRATCH"
  chmod 755 "$SCRATCH"
}

# fixture FAMILY: a private copy of the cached fixture image (path on stdout).
fixture() {
  local img
  img=$("$SRC/scripts/build-fixtures.sh" "$1" | tail -n 1)
  [ -f "$img" ] || fail "fixture $1 not built"
  cp --sparse=always "$img" "$SCRATCH/$1.qcow2"
  echo "$SCRATCH/$1.qcow2"
}

# Assert nothing with our prefix exists: no domain, no volume, no temp disk.
assert_nothing_left() {
  local what=$1 doms vols files
  doms=$($V list --all --name | grep "^$PREFIX" || true)
  $V pool-refresh default >/dev/null
  vols=$($V vol-list default | awk '{print $1}' | grep "^$PREFIX" || true)
  files=$(ls -A "$POOL_DIR" | grep -e "^$PREFIX" -e "^\.$PREFIX" || true)
  [ -z "$doms" ] || fail "$what: domain left behind: $doms"
  [ -z "$vols" ] || fail "$what: volume left behind: $vols"
  [ -z "$files" ] || fail "$what: file left behind in $POOL_DIR: $files"
}

# gf [guestfish args]: guestfish under the accelerator vmstamp decided.
gf() {
  if [ "$(awk '{print $2}' /run/vmstamp/accel 2>/dev/null)" = kvm ]; then
    LIBGUESTFS_BACKEND=direct guestfish "$@"
  else
    LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg guestfish "$@"
  fi
}

# expect_one_line_error LABEL PATTERN vmstamp-args...: vmstamp (-q) exits
# non-zero with exactly one line on stderr, matching PATTERN. Its stdout and
# stderr stay in $SCRATCH/out and $SCRATCH/err for the caller's own checks.
expect_one_line_error() {
  local label=$1 pattern=$2 rc=0
  shift 2
  "$VMSTAMP" -q "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
  [ "$rc" != 0 ] || fail "$label: exit 0 for bad input"
  [ "$(wc -l <"$SCRATCH/err")" = 1 ] || { cat "$SCRATCH/err" >&2; fail "$label: error is not one line"; }
  grep -Eq -- "$pattern" "$SCRATCH/err" || fail "$label: error '$(cat "$SCRATCH/err")' does not match /$pattern/"
}

# define_foreign NAME: define a domain vmstamp did not make (no metadata,
# no disk), for a name to collide with.
define_foreign() {
  $V define /dev/stdin >/dev/null <<XML
<domain type='qemu'><name>$1</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64'>hvm</type></os></domain>
XML
}

# wait_shutoff NAME SECONDS
wait_shutoff() {
  local i
  for ((i = 0; i < $2; i += 2)); do
    [ "$($V domstate "$1" 2>/dev/null)" = "shut off" ] && return 0
    sleep 2
  done
  echo "console of $1:" >&2; tail -n 20 "/var/log/libvirt/qemu/$1-serial0.log" >&2 || true
  fail "$1 did not power off within $2 s"
}

# console NAME KEY: the value the guest printed as KEY=value on its serial console.
console() {
  local log=/var/log/libvirt/qemu/$1-serial0.log
  tr -d '\r' <"$log" | sed -n "s/^$2=//p" | tail -n 1
}

# domiflist_mac NAME: the MAC libvirt gave the clone's NIC.
domiflist_mac() {
  $V domiflist "$1" | awk 'NF >= 5 {print $5; exit}'
}

# ---- runs as transactions (kill9.sh, concurrent.sh) ------------------------------
JOURNAL_DIR=/var/lib/vmstamp/journal

# run_id PID: the id a vmstamp run names its journal and private files with,
# "<pid>-<start time>" (clock ticks since boot, /proc/PID/stat field 22).
run_id() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  echo "$1-$(echo "$stat" | awk '{print $20}')"
}

# run_things ID: what is left that a run names after its id (ID: pid-start,
# or a bare pid): its journal, SSH host key, template work and install
# directories, and the clone appliance's directory it was making.
run_things() {
  local id=$1
  [[ $id == *-* ]] || id="$id-*"
  # shellcheck disable=SC2086 # the glob is wanted
  ls -d $JOURNAL_DIR/$id.json /run/vmstamp/keys.$id /var/tmp/vmstamp-work.$id /var/tmp/vmstamp/vmstamp-work.$id.* \
        /var/tmp/vmstamp-install.$id /var/cache/vmstamp/appliance/.tmp.$id 2>/dev/null || true
}

# qemu_of STRING...: qemu processes (pid, command line) whose command line
# contains one of the STRINGs (a disk path, a domain name).
qemu_of() {
  local s args=()
  for s in "$@"; do args+=(-e "$s"); done
  ps -eo pid=,args= | awk '$2 ~ /qemu/' | grep -F "${args[@]}" || true
}

# wait_for SECONDS COMMAND...: poll COMMAND every 0.1 s until it succeeds;
# status 1 if it never did.
wait_for() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.1
  done
}

# ---- for tests that kill vmstamp at chosen moments --------------------------

# ended PID: it exited (gone or a zombie); builtins only, for tight polling.
ended() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
  stat=${stat##*) }
  [ "${stat%% *}" = Z ]
}
# nap SECONDS: sleep without a fork (read times out on a pipe nobody writes;
# the pipe is opened at the first nap).
nap() {
  [ -n "${NAP_FD:-}" ] || exec {NAP_FD}<> <(:)
  read -r -t "$1" -u "$NAP_FD" _ || true
}
flat() { tr '\n' ';' <<<"$1" | sed 's/;$//'; }
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# What went wrong in this moment (the caller empties it for each moment).
problems=()
problem() { problems+=("$*"); }

# foreign_vmstamp: vmstamp processes in neither this test's session nor the
# victim's (session id $vpid, if set): other people's runs on this host.
MY_SID=$(ps -o sid= -p $$ | tr -d ' ')
foreign_vmstamp() {
  local p sid
  for p in $(pgrep -x vmstamp || true); do
    sid=$(ps -o sid= -p "$p" | tr -d ' ')
    [ -n "$sid" ] && [ "$sid" != "$MY_SID" ] && [ "$sid" != "${vpid:-x}" ] || continue
    echo "$p"
  done
}

# watch_foreign PID: wait for PID (a vmstamp of ours), noting in $foreign
# the other vmstamp runs seen meanwhile, and running $WATCH_HOOK (a
# function, if the test sets one) at every poll; returns PID's status.
watch_foreign() {
  local n=0
  while ! ended "$1"; do
    [ -z "${WATCH_HOOK:-}" ] || "$WATCH_HOOK"
    [ $((n++ % 5)) != 0 ] || foreign+=" $(foreign_vmstamp | tr '\n' ' ')"
    nap 0.04
  done
  # shellcheck disable=SC2086,SC2116 # squeeze the blanks
  foreign=$(echo $foreign)
  wait "$1"
}

# victim_end STATUS KILL_S TRY RUN_ID: what ended the victim, into $how (a
# failure of its own is a problem); its journal into $jf, its size $jinfo.
victim_end() {
  if [ "$1" = 137 ]; then
    how="killed at $2 s"
  else
    how="ended by itself (exit $1) before the kill at $2 s"
    [ "$1" = 0 ] || problem "the victim failed by itself: $(tail -n 1 "$SCRATCH/victim.err")"
  fi
  [ "$3" = 1 ] || how="$how (try $3)"
  jf=$JOURNAL_DIR/$4.json
  jinfo="no journal"
  [ ! -f "$jf" ] || jinfo="journal of $(grep -c '"step"' "$jf" 2>/dev/null || true) steps"
}

# doctor_check MOMENT: once, from the third moment on, while the killed
# run's journal $jf is there: vmstamp doctor names it and leaves it. If
# another vmstamp run on this host recovers it meanwhile, again at a later
# moment. (Not in the first two moments: they get their follow-up at once.)
doctor_checked=0
doctor_check() {
  [ "$doctor_checked" = 0 ] && [ "$1" -ge 2 ] && [ -f "$jf" ] || return 0
  "$VMSTAMP" doctor >"$SCRATCH/doctor.out" 2>&1 &
  watch_foreign $! || true
  jinfo="$jinfo; doctor: '$(grep -i journal "$SCRATCH/doctor.out" | tr -s ' ' | head -n 1)'"
  if [ -f "$jf" ]; then
    doctor_checked=1
    # (it names one journal: with others' stale journals about, a count will do)
    grep -i journal "$SCRATCH/doctor.out" | grep -q -E -e "$jf" -e "[2-9][0-9]* interrupted runs" ||
      problem "doctor does not report the stale journal $jf: $(grep -i journal "$SCRATCH/doctor.out" || echo 'no line says journal')"
  elif [ -z "$foreign" ]; then
    doctor_checked=1
    problem "the journal went while only doctor ran (doctor changes nothing)"
  else
    jinfo="$jinfo (the journal went meanwhile: another run recovered it; doctor again at a later moment)"
  fi
}

# ---- fault injection (faults.sh, faults-pipelines.sh) ------------------------

# fault_programs: $BIN ($SCRATCH/bin) with two programs that fail on purpose:
#   qemu-img   put first on PATH: counts its calls in $FAULT_COUNT (and logs
#              them, with their arguments, in $FAULT_COUNT.log), fails call
#              number $FAULT_AT and runs /usr/bin/qemu-img for the others
#   no-qemu    for LIBGUESTFS_HV: the appliance cannot start
fault_programs() {
  BIN=$SCRATCH/bin
  mkdir -p "$BIN"
  cat >"$BIN/qemu-img" <<'EOF'
#!/bin/sh
n=$(( $(cat "$FAULT_COUNT" 2>/dev/null || echo 0) + 1 ))
echo "$n $*" >>"$FAULT_COUNT.log"
echo "$n" >"$FAULT_COUNT"
if [ "$n" = "${FAULT_AT:-0}" ]; then
  echo "qemu-img: injected failure (call $n)" >&2
  exit 1
fi
exec /usr/bin/qemu-img "$@"
EOF
  printf '#!/bin/sh\necho "qemu: injected failure" >&2\nexit 1\n' >"$BIN/no-qemu"
  chmod 755 "$BIN/qemu-img" "$BIN/no-qemu"
}
