#!/usr/bin/env bash
# fleet-hostdown.sh: the second host's libvirtd stops in the middle of a
# `vmstamp fleet apply` (e2e-fleet stops it before one).
#
# The fleet (fleetlib.sh): web-01/02 on the second host h2
# (scripts/testhost.sh), with DHCP and DNS entries there, loc-01/02 here.
# No guest is started.
#  1. h2's daemon is stopped (testhost.sh stop) once the apply has planned,
#     reserved the addresses, uploaded the template's copy and staged the
#     disks, while it launches the appliance;
#  2. h2 back, the next apply (it first replays what the first left on h2)
#     is paused (SIGSTOP) the moment web-01's volume appears on h2, h2's
#     libvirtd is killed with kill -9, the apply continued (SIGCONT);
#  3. h2 back, the apply again.
# After 1 and 2: exit 1; exactly one line of stderr names host 'h2' with
# its URI, the last says the others are done; h1's clones are made, whole,
# kept by 2 (same domains), with their known_hosts lines; the run's journal
# is left with h2's steps only (the next run undoes them on h2), nothing
# else of it (staged disks, keys, claims). After 3: exit 0, "created 2, keep
# 2", the dead runs' journals replayed, and the fleet is exactly the plan
# on both hosts (one DHCP and one DNS entry per clone, no volume or domain
# the plan does not name, status says keep for each). Then `fleet destroy`
# leaves nothing of it. ~2 min under TCG.
. "$(dirname "$0")/lib.sh"
start_test
. "$(dirname "$0")/fleetlib.sh"
S=$SCRATCH
runs=()
apid=''
# (an apply still running when the test stops: rolled back by SIGTERM first)
trap '[ -z "$apid" ] || { kill -CONT "$apid"; kill -TERM "$apid"; wait "$apid"; } 2>/dev/null || true
      fleet_exit_cleanup "${runs[@]}"; cleanup' EXIT


# apply_start LABEL: `fleet apply` in the background (out/err in
# $S/LABEL.out/.err); $apid, $arid.
apply_start() {
  "$VMSTAMP" fleet apply "$plan" >"$S/$1.out" 2>"$S/$1.err" &
  apid=$!
  arid=$(run_id "$apid") || fail "no /proc entry for the apply $apid"
  runs+=("$arid")
}
# wait_file PATH SECONDS: until PATH appears (0) or the apply ends (1).
wait_file() {
  local end=$((SECONDS + $2))
  while [ ! -e "$1" ]; do
    ! ended "$apid" && [ "$SECONDS" -lt "$end" ] || return 1
    nap 0.002
  done
}
apply_wait() {
  local rc=0
  wait "$apid" || rc=$?
  apid=''
  return $rc
}
show() { # LABEL: its stdout and stderr, for the log
  sed "s/^/    $1 out | /" "$S/$1.out" >&2
  sed "s/^/    $1 err | /" "$S/$1.err" >&2
}

# journal_steps RID: the steps a journal still holds (not dropped), one
# "KIND URI" a line.
journal_steps() {
  jq -rs '.[1:] as $l | [$l[] | select(has("drop")) | .drop] as $d
          | [$l[] | select(has("step"))] | to_entries[] | select(.key as $k | $d | index($k) | not)
          | "\(.value.step) \(.value.uri // "-")"' "$JOURNAL_DIR/$1.json"
}

# h1_problems: h1 holds loc-01/02 whole, and nothing else of the fleet.
h1_problems() {
  local n
  diff <(for n in "${LOC[@]}"; do printf 'h1-domain %s\nh1-volume %s.qcow2\nh1-file %s.qcow2\n' "$n" "$n" "$n"; done | sort) \
       <({ $V list --all --name | grep -F "$PREFIX" | sed 's/^/h1-domain /'
           $V pool-refresh default >/dev/null 2>&1 || true
           $V vol-list default | awk '{print $1}' | grep -F "$PREFIX" | sed 's/^/h1-volume /'
           ls -A "$POOL_DIR" | grep -F "$PREFIX" | sed 's/^/h1-file /'; } | sort) |
    sed -n -e 's/^> /h1: unexpected /p' -e 's/^< /h1: missing /p' || true
  for n in "${LOC[@]}"; do
    disk_problems "$V" "$n" "$POOL_DIR" "$tpl"
    [ -n "$(domiflist_mac_of "$V" "$n")" ] || echo "$n: no NIC"
    [ "$(grep -c "^$n," "$KH" 2>/dev/null || true)" = "$KEYLINES" ] || echo "known_hosts: not $KEYLINES lines for $n"
  done
  for n in "${WEB[@]}"; do
    ! grep -q "^$n," "$KH" 2>/dev/null || echo "known_hosts: lines for $n, which was not made"
  done
}

# failed_round LABEL SUMMARY: the apply's outcome with h2 gone in its middle.
failed_round() {
  local label=$1 want=$2 rc=$3 lines steps
  [ "$rc" != 0 ] || { show "$label"; fail "$label: exit 0 with h2 stopped in the middle"; }
  [ "$rc" = 1 ] || { show "$label"; fail "$label: exit $rc, not 1"; }
  lines=$(grep -F "host 'h2'" "$S/$label.err" || true)
  [ "$(grep -c . <<<"$lines")" = 1 ] || { show "$label"; fail "$label: not one line of stderr names host 'h2': $(flat "$lines")"; }
  grep -qF "vmstamp: error: host 'h2'" <<<"$lines" || fail "$label: the line does not start with host 'h2': $lines"
  # h2's URI, once: libvirt's own message names it already, or vmstamp adds it
  [ "$(grep -oF "$U2" <<<"$lines" | grep -c .)" = 1 ] || fail "$label: the line does not name h2's URI exactly once: $lines"
  tail -n 1 "$S/$label.err" | grep -qx "vmstamp: error: 1 host(s) failed; the others are done: apply again when it is back" ||
    fail "$label: last line of stderr: $(tail -n 1 "$S/$label.err")"
  grep -Eqx "fleet $FLEET: $want" "$S/$label.out" || { show "$label"; fail "$label: summary: $(grep "^fleet " "$S/$label.out")"; }
  p=$(h1_problems) || true
  [ -z "$p" ] || fail "$label: h1's clones: $(flat "$p")"
  # Left for the next run: the journal, with h2's steps only.
  [ -f "$JOURNAL_DIR/$arid.json" ] || fail "$label: no journal left for what was made on h2"
  steps=$(journal_steps "$arid")
  ! grep -qvF " $U2" <<<"$steps" || fail "$label: the journal holds steps for other than h2: $(flat "$steps")"
  note "$label: the journal keeps for h2: $(awk '{print $1}' <<<"$steps" | sort | uniq -c | awk '{printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1}')"
  left=$(run_left "$arid" | grep -v '\.json$' || true)
  [ -z "$left" ] || fail "$label: left of the run: $left"
  [ -z "$(claims_left)" ] || fail "$label: claims left: $(claims_left)"
  [ -z "$(qemu_of "$PREFIX" "$arid")" ] || fail "$label: qemu left: $(qemu_of "$PREFIX" "$arid")"
}

# foreign: other vmstamp runs on this host (they recover dead runs too).
foreign() { pgrep -x vmstamp | grep -vx "${apid:-x}" || true; }

# recovered_lines LABEL RID WANT...: the apply LABEL replayed run RID's
# journal: its lines name each WANT (unless another run did it first).
recovered_lines() {
  local label=$1 rid=$2 pid=${2%%-*} w
  shift 2
  [ ! -e "$JOURNAL_DIR/$rid.json" ] || fail "$label: the journal of run $pid is still there"
  grep "recovered run $pid\b" "$S/$label.err" >"$S/recovered" || true
  if [ ! -s "$S/recovered" ] && [ -n "$was_foreign" ]; then
    note "$label: no recovery line for run $pid: other vmstamp runs on this host ($was_foreign) may have replayed it"
    return
  fi
  ! grep -v -E "^vmstamp: recovered run $pid \(fleet apply\): removed .+" "$S/recovered" ||
    fail "$label: recovery lines not as specified"
  for w in "$@"; do
    grep -qF -- "$w" "$S/recovered" || { show "$label"; fail "$label: no recovery line for run $pid names $w"; }
  done
}

uuids() { for n in "${LOC[@]}"; do $V domuuid "$n"; done | tr '\n' ' '; }

t_start=$SECONDS
fleet_setup
note "second host: $U2"

note "1: h2's daemon stopped while the apply launches its appliance"
apply_start a1
wait_file "$STAGE/$arid/${WEB[0]}.qcow2" 120 || { show a1; fail "a1: ended before staging web-01's disk"; }
"$TH" stop "$DIR" >&2
! ended "$apid" || { show a1; fail "a1: the apply ended before h2 was stopped: nothing tested"; }
rc=0; apply_wait || rc=$?
show a1
failed_round a1 "created 2, keep 0, drift 0, remove 0, failed 2(, template uploaded to 1 host\(s\))?" "$rc"
r1=$arid
loc_uuids=$(uuids)

note "h2 back (testhost.sh start on the same directory)"
u=$("$TH" start "$DIR" | tail -n 1)
[ "$u" = "$U2" ] || fail "h2 came back as $u, not $U2"

note "2: h2's libvirtd killed (kill -9) during web-01's upload"
was_foreign=$(foreign | tr '\n' ' ')
[ -e "$JOURNAL_DIR/$r1.json" ] || note "a2: run ${r1%%-*}'s journal was replayed before a2 (by another vmstamp run on this host)"
apply_start a2
wait_file "$H2POOL/${WEB[0]}.qcow2" 120 || { show a2; fail "a2: ended before web-01's upload to h2"; }
kill -STOP "$apid"
h2d=$(cat "$DIR/libvirtd.pid")
kill -9 "$h2d"
while [ -e "/proc/$h2d" ]; do nap 0.01; done
kill -CONT "$apid"
was_foreign+=$(foreign | tr '\n' ' ')
rc=0; apply_wait || rc=$?
show a2
"$TH" stop "$DIR" >&2
recovered_lines a2 "$r1" "volume default/$TPLVOL" "${WEB[0]} (DNS ${WEB[0]}.lab.test)" "${WEB[1]} (DNS ${WEB[1]}.lab.test)"
failed_round a2 "created 0, keep 2, drift 0, remove 0, failed 2(, template uploaded to 1 host\(s\))?" "$rc"
[ "$(uuids)" = "$loc_uuids" ] || fail "a2: h1's clones were made again (UUIDs $(uuids), were $loc_uuids)"
r2=$arid

note "h2 back; 3: the apply again finishes"
u=$("$TH" start "$DIR" | tail -n 1)
[ "$u" = "$U2" ] || fail "h2 came back as $u, not $U2"
was_foreign=$(foreign | tr '\n' ' ')
apply_start a3
rc=0; apply_wait || rc=$?
was_foreign+=$(foreign | tr '\n' ' ')
show a3
[ "$rc" = 0 ] || fail "a3: the apply with h2 back failed (exit $rc): $(tail -n 1 "$S/a3.err")"
grep -qx "fleet $FLEET: created 2, keep 2, drift 0, remove 0, template uploaded to 1 host(s)" "$S/a3.out" ||
  fail "a3: summary: $(grep "^fleet " "$S/a3.out")"
recovered_lines a3 "$r2" "volume default/$TPLVOL" "volume default/${WEB[0]}.qcow2" "${WEB[0]} (DNS ${WEB[0]}.lab.test)" "${WEB[1]} (DNS ${WEB[1]}.lab.test)"
[ "$(uuids)" = "$loc_uuids" ] || fail "a3: h1's clones were made again"
p=$(fleet_problems) || true
[ -z "$p" ] || fail "a3: the fleet is not the plan: $(flat "$p")"
for r in "${runs[@]}"; do
  [ -z "$(run_left "$r")" ] || fail "left of run $r: $(run_left "$r")"
done
[ -z "$(claims_left)" ] || fail "claims left: $(claims_left)"

note "destroy"
"$VMSTAMP" fleet destroy "$plan" >"$S/d.out" 2>"$S/d.err" || fail "destroy failed: $(cat "$S/d.err")"
grep -qx "fleet $FLEET: destroyed 4 clone(s)" "$S/d.out" || fail "destroy: $(cat "$S/d.out")"
p=$(destroyed_problems copy) || true
[ -z "$p" ] || fail "left after destroy: $(flat "$p")"
echo "PASS: fleet-hostdown ($((SECONDS - t_start)) s)"
