#!/usr/bin/env bash
# faults-libvirtd.sh: the libvirt daemon stopped (SIGTERM, by its pid) in
# the middle of a run and started again 2 s later (issue 11, "Faults of
# real components"). The daemon is a test host's (scripts/testhost.sh), so
# nothing else on this machine loses its libvirtd; the clones' and the
# install's disks go into a pool at a path both sides share (DIR/images).
#   clone --count 5   the daemon stopped between two defines (the run is
#                     paused with SIGSTOP the moment its journal names the
#                     second domain): one line naming the define that
#                     failed, exit 1, and the rollback waits for the daemon
#                     to come back and undefines the first domain itself:
#                     nothing left, no journal; the same command then works
#   install           the daemon stopped while the installer runs, and
#                     started again only after the run gave up waiting for
#                     it (15 s): one line that also says what is not undone
#                     and that 'vmstamp gc' removes it, exit 1, the journal
#                     kept (the disk is removed: the rollback kills the
#                     qemu that holds it); gc then replays the journal,
#                     nothing is left; the same install then works
#   template create   the daemon stopped while the appliance runs: libvirt
#                     is not needed until the store's pool is refreshed at
#                     the end, so the template is made (exit 0)
# (fleet apply with a host's daemon stopped and killed mid-run:
# e2e-fleet-hostdown.)
. "$(dirname "$0")/lib.sh"
start_test
TH=$SRC/scripts/testhost.sh
DIR=$SCRATCH/host2
vpid=''
trap '[ -z "$vpid" ] || { kill -CONT "$vpid"; kill -TERM "$vpid"; wait "$vpid"; } 2>/dev/null || true
      [ -e "$DIR/.testhost" ] && "$TH" stop "$DIR" >&2 || true
      rm -rf /var/lib/vmstamp/templates/"$PREFIX"* /var/lib/vmstamp/index/*/"$PREFIX"* 2>/dev/null || true
      cleanup' EXIT

URI2=$("$TH" start "$DIR")
V2="virsh -q -c $URI2"
note "test host: $URI2"
mkdir -p "$DIR/images"
chmod 755 "$DIR/images"
# Persistent and autostarted: the pool is there again when the daemon is.
$V2 pool-define-as shared dir --target "$DIR/images" >/dev/null
$V2 pool-start shared >/dev/null
$V2 pool-autostart shared >/dev/null
tpl=$DIR/images/debian12.qcow2
cp --sparse=always "$(fixture debian12)" "$tpl"
chmod 644 "$tpl"

results=()
record() { results+=("$(printf '%-40s %s' "$1" "$2")"); }

# daemon_stop: SIGTERM the test host's libvirtd and wait for it to be gone.
daemon_stop() {
  local d
  d=$(cat "$DIR/libvirtd.pid")
  kill -TERM "$d"
  wait_for 30 test ! -e "/proc/$d" || fail "the test host's libvirtd did not stop"
}
# daemon_start: start it again inside the test host's namespaces.
daemon_start() {
  nsenter -t "$(cat "$DIR/holder.pid")" -m -n libvirtd -d -p "$DIR/libvirtd.pid"
  wait_for 30 $V2 version >/dev/null 2>&1 || fail "the test host's libvirtd did not come back"
}
# domains_left: this run's domains on the test host.
domains_left() { $V2 list --all --name 2>/dev/null | grep "^$PREFIX" || true; }
# left_of: what a failed run left: domains, files in the shared pool but
# the template, its journal, key or install directory.
left_of() {
  local id=$1
  domains_left
  ls -A "$DIR/images" | grep -vx debian12.qcow2 || true
  run_things "$id"
}
# one_line LABEL PATTERN RC: $SCRATCH/err is one line matching PATTERN.
one_line() {
  [ "$3" != 0 ] || fail "$1: exit 0"
  [ "$(wc -l <"$SCRATCH/err")" = 1 ] || { cat "$SCRATCH/err" >&2; fail "$1: the error is not one line"; }
  grep -Eq -- "$2" "$SCRATCH/err" || fail "$1: error '$(cat "$SCRATCH/err")' does not match /$2/"
  record "$1" "exit $3: $(cat "$SCRATCH/err")"
}
# steps JOURNAL KIND: how many steps of KIND the journal has, in $nsteps
# (builtins only: this is polled in a tight loop).
steps() {
  local text='' rest
  { IFS= read -r -d '' text <"$1"; } 2>/dev/null || true
  rest=${text//\"step\":\"$2\"/}
  nsteps=$(((${#text} - ${#rest}) / (${#2} + 9)))
}

# ---- clone --count 5: between two defines --------------------------------------
clone5=("$VMSTAMP" -q -c "$URI2" clone --network user --pool shared --count 5 --name-pattern "${PREFIX}v%d" "$tpl")
note "clone --count 5: the daemon stopped between two defines"
for try in 1 2 3; do
  "${clone5[@]}" >"$SCRATCH/out" 2>"$SCRATCH/err" &
  vpid=$!
  id=$(run_id "$vpid") || fail "no /proc entry for vmstamp $vpid"
  jf=$JOURNAL_DIR/$id.json
  nsteps=0
  until ended "$vpid"; do
    steps "$jf" domain
    [ "$nsteps" -lt 2 ] || break
    nap 0.003
  done
  kill -STOP "$vpid" 2>/dev/null || true
  ended "$vpid" && { wait "$vpid" || true; vpid=''; fail "the clone run ended before its second define"; }
  defined=$(domains_left | wc -l)
  daemon_stop
  kill -CONT "$vpid"
  sleep 2
  daemon_start
  rc=0; wait "$vpid" || rc=$?
  vpid=''
  # (the moment can come after the last define: then the run worked, and
  # is tried again)
  [ "$defined" -ge 1 ] && [ "$defined" -lt 5 ] && [ "$rc" != 0 ] && break
  note "try $try: $defined domains defined when the daemon stopped, exit $rc: again"
  # shellcheck disable=SC2046
  [ "$rc" != 0 ] || "$VMSTAMP" -q -c "$URI2" rm $(domains_left)
  [ "$try" != 3 ] || fail "the daemon never stopped between two defines"
done
one_line "clone: libvirtd stopped after define $defined/5" "cannot define domain '${PREFIX}v[2-5]' on qemu\+unix.*: the connection to libvirt was lost" "$rc"
left=$(left_of "$id")
[ -z "$left" ] || fail "clone: left after the daemon came back: $(flat "$left")"
"${clone5[@]}" >"$SCRATCH/out" 2>"$SCRATCH/err" ||
  { cat "$SCRATCH/err" >&2; fail "clone: the run after the daemon came back failed"; }
[ "$(domains_left | wc -l)" = 5 ] || fail "clone: the run after the fault made no 5 domains: $(flat "$(domains_left)")"
# shellcheck disable=SC2046
"$VMSTAMP" -q -c "$URI2" rm $(domains_left) || fail "clone: rm failed"

# ---- template create: while the appliance runs -------------------------------------
note "template create: the daemon stopped while the appliance runs"
T=${PREFIX}lt
"$VMSTAMP" -q -c "$URI2" template create "$T" --from "$tpl" >"$SCRATCH/out" 2>"$SCRATCH/err" &
vpid=$!
wait_for 120 eval 'ps -eo args= | grep -F "vmstamp-work.$(run_id "$vpid")" | grep -q qemu' ||
  { kill "$vpid"; fail "template create: no appliance seen"; }
daemon_stop
sleep 2
daemon_start
rc=0; wait "$vpid" || rc=$?
vpid=''
[ "$rc" = 0 ] || { cat "$SCRATCH/err" >&2; fail "template create failed (exit $rc) with the daemon stopped and back"; }
"$VMSTAMP" -c "$URI2" template verify "$T" >/dev/null || fail "template create: the template does not verify"
record "template create: libvirtd stopped" "exit 0: the template is made and verifies"
"$VMSTAMP" -q -c "$URI2" template rm "$T" || fail "template rm failed"

# ---- install: while the installer runs ---------------------------------------------
note "install: the daemon stopped while the installer runs, and back only after the run ends"
iso=$("$SRC/scripts/build-installer-iso.sh" | tail -n 1)
[ -f "$iso" ] || fail "installer ISO not built"
printf 'vmstamp-test-pw\n' >"$SCRATCH/pw"
chmod 600 "$SCRATCH/pw"
N=${PREFIX}li
install1=("$VMSTAMP" -q -c "$URI2" install --iso "$iso" --kickstart "$SRC/kickstart/testdist.ks" --name "$N"
          --os-variant centos7.0 --network user --pool shared --size 2G --root-password-file "$SCRATCH/pw")
"${install1[@]}" >"$SCRATCH/out" 2>"$SCRATCH/err" &
vpid=$!
id=$(run_id "$vpid")
wait_for 120 eval '$V2 list --name 2>/dev/null | grep -qx "$N"' || { kill "$vpid"; fail "install: no domain running"; }
sleep 3
daemon_stop
# The run gives up waiting for the daemon after 15 s: its domain (still
# running: qemu outlives the daemon) and disk stay, named in its journal.
rc=0; wait "$vpid" || rc=$?
vpid=''
daemon_start
one_line "install: libvirtd stopped (back after the run)" \
  "install domain '$N': the connection to libvirt was lost \(.*\); not all undone \(cannot connect to libvirt at '.*'.*\): 'vmstamp gc' or the next run removes the rest" "$rc"
! grep -q "(no error)" "$SCRATCH/err" || fail "install: libvirt's reason was lost: $(cat "$SCRATCH/err")"
[ -f "$JOURNAL_DIR/$id.json" ] || fail "install: the journal of what was not undone is gone"
# (the rollback removed the disk, killing the qemu that held it: the
# domain is what only the daemon could undo)
"$VMSTAMP" gc >"$SCRATCH/gc.out" 2>&1 || { cat "$SCRATCH/gc.out" >&2; fail "install: vmstamp gc failed"; }
[ ! -e "$JOURNAL_DIR/$id.json" ] || { cat "$SCRATCH/gc.out" >&2; fail "install: gc left the journal"; }
left=$(left_of "$id")
[ -z "$left" ] || fail "install: left after gc: $(flat "$left")"
[ -z "$(qemu_of "$N")" ] || fail "install: the installer's qemu still runs: $(qemu_of "$N")"
"${install1[@]}" >"$SCRATCH/out" 2>"$SCRATCH/err" ||
  { cat "$SCRATCH/err" >&2; fail "install: the run after the daemon came back failed"; }
[ -f "$DIR/images/$N.qcow2" ] || fail "install: no disk $DIR/images/$N.qcow2 after the second run"
$V2 vol-delete --pool shared "$N.qcow2" >/dev/null

echo "faults-libvirtd:"
printf '  %s\n' "${results[@]}"
echo "PASS: faults-libvirtd"
