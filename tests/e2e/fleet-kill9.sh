#!/usr/bin/env bash
# fleet-kill9.sh: `vmstamp fleet apply` across two hosts is a transaction,
# even under kill -9, and the next apply converges.
#
# The fleet (fleetlib.sh): two linked clones on a second libvirt host
# (scripts/testhost.sh), uploaded there with the template's copy, each with
# a DHCP and a DNS host entry on its `default` network; two on this
# machine's qemu:///system on user-mode networking. No guest is started.
# One uninterrupted apply is timed first; the kills are spread over
# MOMENTS (default 10) moments from 0.5 s to its end, then 11 more land on
# events (EVENTS=all, or a list such as 2,5), each when a file or entry its
# steps make appears: the template's copy created on h2, web-01's DHCP
# reservation, web-01's staged disk, the appliance's pid journaled,
# web-01's upload begun, loc-01's disk renamed into place, web-01 defined
# on h2, loc-02 defined (the last define), known_hosts' temporary file,
# known_hosts renamed into place, the journal removed (the commit). After
# each kill, `fleet apply` again (started at once; every other moment
# `vmstamp gc` first, after which nothing of an uncommitted run is left on
# either host, known_hosts lines included) must replay the dead run's
# journal, one "recovered run PID (fleet apply): removed ..." line per
# thing it left, succeed ("created 4" after a rollback, "created 0, keep
# 4" after the commit), and then the fleet is exactly the plan: each
# domain on its host with its MAC and a whole disk backed as planned, no
# other domain, volume or file with the test prefix on either host, one
# DHCP host and one DNS host entry per clone in the network's live and
# persistent XML, known_hosts lines for each clone only, `fleet status`
# says keep for each; no journal, staged file, key directory or claim of
# the dead run or the apply after it, no qemu or other process of the dead
# run. 'vmstamp doctor' names a stale journal (once). Then `fleet destroy`
# leaves nothing of the fleet on either host but the template's copy on h2
# (kept by design), which the test removes so that every run uploads it.
# One summary line per moment, then "N passed, M failed". Other people's
# vmstamp runs on this host recover dead runs too: then the apply's own
# recovery lines are not required (the moment says so), the outcome is.
# Label soak: ~14 min under TCG (a run is ~20 s, mostly the appliance).
. "$(dirname "$0")/lib.sh"
MOMENTS=${MOMENTS:-10}
start_test
. "$(dirname "$0")/fleetlib.sh"
S=$SCRATCH
EVENTS=${EVENTS:-all}   # or none, or a list of event numbers (1-11) such as 2,5
victims=()
alive=''
trap '[ -z "$alive" ] || kill -9 "$alive" 2>/dev/null || true; fleet_exit_cleanup "${victims[@]}"; cleanup' EXIT

# ev_met KIND PATH TEXT: the event has happened (builtins only): PATH is
# there (file; gone: its going is waited for after), a file matches the
# pattern PATH (glob), or PATH holds TEXT (text).
ev_met() {
  local c=''
  case $1 in
    file | gone) [ -e "$2" ] ;;
    glob) compgen -G "$2" >/dev/null ;;
    text)
      [ -e "$2" ] || return 1
      { IFS= read -r -d '' c <"$2"; } 2>/dev/null || true
      [[ $c == *"$3"* ]] ;;
  esac
}

# snapshot RID: what the killed run left, files only (no libvirt call), taken
# between the kill and the apply after it, so that the apply comes at once.
snapshot() {
  local rid=$1 f
  for f in /etc/libvirt/qemu/"$PREFIX"*.xml; do [ ! -e "$f" ] || { f=${f##*/}; echo "h1-domain ${f%.xml}"; }; done
  for f in "$H2ETC"/qemu/"$PREFIX"*.xml; do [ ! -e "$f" ] || { f=${f##*/}; echo "h2-domain ${f%.xml}"; }; done
  ls -A "$POOL_DIR" | grep -F "$PREFIX" | sed "s|^|h1-file $POOL_DIR/|" || true
  ls -A "$H2POOL" | grep -F "$PREFIX" | sed 's|^|h2-file |' || true
  [ ! -d "$STAGE/$rid" ] || echo "stage $STAGE/$rid"
  ls -A "$STAGE/$rid" 2>/dev/null | sed "s|^|staged $STAGE/$rid/|" || true
  grep -o "name='${PREFIX}[^']*'" "$H2ETC/qemu/networks/default.xml" 2>/dev/null | sed "s/^name='\(.*\)'\$/reservation \1/" || true
  run_things "$rid" | grep -v '\.json$' | sed 's/^/private /' || true
  qemu_of "$PREFIX" "$rid" | sed 's/^/qemu /'
}

# rolled_back_problems: what is left of a dead run once recovered (it had
# not committed; the hosts held nothing of the fleet before it).
rolled_back_problems() {
  inventory_diff ""
  net_problems none
  [ ! -s "$KH" ] || echo "known_hosts lines for clones that do not exist: $(flat "$(cut -d' ' -f1 "$KH" | sort | uniq -c | awk '{print $2 " x" $1}')")"
  fleet_files | grep -vx "$KH" | sed 's/^/unexpected /' || true
}

# undo_commit: remove what a finished apply made (the template's copy too).
undo_commit() {
  "$VMSTAMP" fleet destroy "$plan" >"$S/destroy.out" 2>"$S/destroy.err" ||
    problem "fleet destroy failed: $(tail -n 1 "$S/destroy.err")"
  grep -q "^fleet $FLEET: destroyed 4 clone(s)" "$S/destroy.out" ||
    problem "fleet destroy: $(flat "$(cat "$S/destroy.out" "$S/destroy.err")")"
  local left
  left=$(destroyed_problems copy) || true
  [ -z "$left" ] || problem "left after fleet destroy: $(flat "$left")"
  $V2 vol-delete --pool default "$TPLVOL" >/dev/null 2>&1 || problem "cannot delete the template's copy $TPLVOL on h2"
}

fleet_setup
note "second host: $U2"

# The uninterrupted run: it works, it is the plan, success leaves nothing of it.
note "timing one uninterrupted run: vmstamp fleet apply $plan"
t0=$(now)
"$VMSTAMP" fleet apply "$plan" >"$S/first.out" 2>"$S/first.err" &
first=$!
frid=$(run_id "$first") || true
wait "$first" || { cat "$S/first.out" "$S/first.err" >&2; fail "the uninterrupted apply failed"; }
T_RUN=$(since "$t0")
grep -q "^fleet $FLEET: created 4, keep 0, drift 0, remove 0, template uploaded to 1 host(s)$" "$S/first.out" ||
  fail "the uninterrupted apply: $(cat "$S/first.out")"
p=$(fleet_problems) || true
[ -z "$p" ] || fail "the uninterrupted apply did not make the plan: $(flat "$p")"
[ -z "$(run_left "$frid")" ] || fail "the uninterrupted apply left: $(run_left "$frid")"
[ -z "$(claims_left)" ] || fail "claims left after the uninterrupted apply: $(claims_left)"
undo_commit
[ ${#problems[@]} = 0 ] || fail "${problems[*]}"

# The moments: MOMENTS times spread over the run, then the events (a kind,
# a path with @RID@ for the run's id, for 'text' what the file then holds;
# and a file after which the poll spins without a pause: the last steps
# come within milliseconds of the run's end).
specs=()
# Every other one (odd times, even events) has 'vmstamp gc' first.
gc_first=()
for ((i = 0; i < MOMENTS; i++)); do specs+=("time|$i"); gc_first+=($((i % 2))); done
events=("event|the template's copy created on h2|file|$H2POOL/$TPLVOL"
        "event|web-01's DHCP reservation made|text|$H2ETC/qemu/networks/default.xml|name='${WEB[0]}'"
        "event|web-01's disk staged|file|$STAGE/@RID@/${WEB[0]}.qcow2"
        "event|the appliance's pid journaled|text|$JOURNAL_DIR/@RID@.json|\"step\":\"process\""
        "event|web-01's upload begun on h2|file|$H2POOL/${WEB[0]}.qcow2"
        "event|loc-01's disk renamed into place|file|$POOL_DIR/${LOC[0]}.qcow2"
        "event|web-01 defined on h2|file|$H2ETC/qemu/${WEB[0]}.xml"
        "event|loc-02 defined (the last define)|file|/etc/libvirt/qemu/${LOC[1]}.xml"
        "event|known_hosts being written (its temporary file)|glob|$KH.tmp.*||/etc/libvirt/qemu/${LOC[1]}.xml"
        "event|known_hosts renamed into place|file|$KH||/etc/libvirt/qemu/${LOC[1]}.xml"
        "event|the journal removed (the commit)|gone|$JOURNAL_DIR/@RID@.json||/etc/libvirt/qemu/${LOC[1]}.xml")
for ((i = 0; i < ${#events[@]}; i++)); do
  case ,$EVENTS, in ,all, | *,$((i + 1)),*) specs+=("${events[$i]}"); gc_first+=($(((i + 1) % 2 == 0))) ;; esac
done
note "uninterrupted run: $T_RUN s; killing at $MOMENTS moments from 0.5 s to $T_RUN s, then at $((${#specs[@]} - MOMENTS)) events"

passed=0 failed=0
t_all=$(now)
for ((m = 0; m < ${#specs[@]}; m++)); do
  problems=()
  IFS='|' read -r kind a1 a2 a3 a4 a5 <<<"${specs[$m]}"
  if [ "$kind" = time ]; then
    at=$(awk -v i="$a1" -v n="$MOMENTS" -v t="$T_RUN" 'BEGIN { printf "%.2f", (n > 1 ? 0.5 + i * (t - 0.5) / (n - 1) : 0.5) }')
    when="${at} s"
  else
    when="when $a1"
    at=$(awk -v t="$T_RUN" 'BEGIN { printf "%.2f", 3 * t + 30 }')
  fi

  # An event the poll missed (the run ended first): try again, twice.
  for try in 1 2 3; do
    t0=$(now)
    setsid "$VMSTAMP" fleet apply "$plan" >"$S/victim.out" 2>"$S/victim.err" &
    vpid=$!
    alive=$vpid
    vrid=$(run_id "$vpid") || fail "no /proc entry for the victim $vpid"
    victims+=("$vrid")
    deadline=$(( ${t0/./} + 10#${at/./} * 10000 ))
    if [ "$kind" = time ]; then
      while [ "${EPOCHREALTIME/./}" -lt "$deadline" ] && ! ended "$vpid"; do sleep 0.05; done
    else
      ev_path=${a3//@RID@/$vrid}
      while ! ev_met "$a2" "$ev_path" "$a4" && [ "${EPOCHREALTIME/./}" -lt "$deadline" ] && ! ended "$vpid"; do
        [ -n "$a5" ] && [ -e "$a5" ] || nap 0.002
      done
      if [ "$a2" = gone ]; then
        while [ -e "$ev_path" ] && [ "${EPOCHREALTIME/./}" -lt "$deadline" ] && ! ended "$vpid"; do
          [ -n "$a5" ] && [ -e "$a5" ] || nap 0.002
        done
      fi
    fi
    if [ "$kind" = time ] && ended "$vpid"; then
      d=$(since "$t0")
      awk -v d="$d" -v t="$T_RUN" 'BEGIN { exit !(d < t) }' && T_RUN=$d
    fi
    # (builtins only from the event to the kill: a fork costs milliseconds)
    comm=vmstamp
    { read -r comm <"/proc/$vpid/comm"; } 2>/dev/null || true
    [ "$comm" = vmstamp ] || fail "victim $vpid is not vmstamp (setsid forked?)"
    kill -9 "$vpid" 2>/dev/null || true
    t_kill=$(since "$t0")
    vrc=0; { wait "$vpid"; } 2>/dev/null || vrc=$?
    alive=''
    [ "$kind" = event ] && [ "$vrc" = 0 ] && [ "$try" -lt 3 ] || break
    note "moment $((m + 1)): the run ended before that was seen; again"
    undo_commit
    [ ${#problems[@]} = 0 ] || break
  done
  victim_end "$vrc" "$t_kill" "$try" "$vrid"
  foreign=$(foreign_vmstamp)
  before=$(snapshot "$vrid")
  # Committed: its journal is gone and the four domains are defined.
  was_committed=0
  if [ ! -f "$jf" ] && [ "$(grep -c -e '^h1-domain ' -e '^h2-domain ' <<<"$before")" = 4 ]; then
    was_committed=1
    how="$how, after its commit"
  fi

  doctor_check "$m"

  j_at_follow=0
  [ -f "$jf" ] && j_at_follow=1
  foreign+=" $(foreign_vmstamp | tr '\n' ' ')"
  # Every other moment 'vmstamp gc' comes first and recovers the dead run:
  # then nothing of it is left (unless it committed), on either host.
  recfile=$S/follow.err recby="the apply"
  if [ "${gc_first[$m]}" = 1 ]; then
    recfile=$S/gc.err recby="vmstamp gc"
    "$VMSTAMP" gc >"$S/gc.out" 2>"$S/gc.err" &
    grc=0; watch_foreign $! || grc=$?
    [ "$grc" = 0 ] || problem "vmstamp gc after the kill exited $grc: $(flat "$(tail -n 3 "$S/gc.err")")"
    [ -z "$foreign" ] || wait_for 60 test ! -e "$jf" || true
    if [ "$was_committed" = 0 ]; then
      p=$(rolled_back_problems) || true
      [ -z "$p" ] || problem "left after vmstamp gc: $(flat "$p")"
    fi
  fi
  # The apply again, at once: it recovers the dead run and converges.
  "$VMSTAMP" fleet apply "$plan" >"$S/follow.out" 2>"$S/follow.err" &
  fpid=$!
  frid=$(run_id "$fpid") || true
  frc=0; watch_foreign "$fpid" || frc=$?
  t_follow=$(since "$t0")
  if [ "$frc" != 0 ]; then
    problem "the apply after the kill exited $frc: $(flat "$(tail -n 3 "$S/follow.err")")"
  elif [ "$was_committed" = 1 ]; then
    grep -qx "fleet $FLEET: created 0, keep 4, drift 0, remove 0" "$S/follow.out" ||
      problem "the apply after the commit: $(flat "$(grep "^fleet " "$S/follow.out")")"
  else
    grep -qx "fleet $FLEET: created 4, keep 0, drift 0, remove 0, template uploaded to 1 host(s)" "$S/follow.out" ||
      problem "the apply after the kill: $(flat "$(grep "^fleet " "$S/follow.out")")"
  fi
  # (if another vmstamp run is still undoing ours, it holds the journal: let it finish)
  [ -z "$foreign" ] || wait_for 60 test ! -e "$jf" || true
  grep "recovered run $vpid\b" "$recfile" >"$S/recovered" || true
  if grep -v -E "^vmstamp: recovered run $vpid \(fleet apply\): removed .+" "$S/recovered" >"$S/bad-lines"; then
    problem "recovery lines not as specified: $(flat "$(cat "$S/bad-lines")")"
  fi
  cat "$S/follow.err" "$recfile" | grep -E "warning|error" | grep -F -e "$vrid" -e "$vpid" >"$S/warned" &&
    problem "$recby after the kill warns about the dead run: $(flat "$(cat "$S/warned")")"
  # (a journal is replayed by one run, under its lock: if ours printed a
  # recovery line, it did all of it, other runs or not)
  if [ "$was_committed" = 0 ] && [ -n "$before" ] && { [ -z "$foreign" ] || [ -s "$S/recovered" ]; }; then
    [ -s "$S/recovered" ] || grep -q "recovered a dead run: removed directory .*$vrid" "$recfile" ||
      problem "$recby printed no 'recovered run $vpid' line, though the run left: $(flat "$before")"
    # One line per thing removed: each domain, file, volume and reservation is named.
    while read -r what name; do
      case $what in
        qemu) ;;
        *) grep -qF -- "$(basename "$name")" "$S/recovered" ||
             grep -qF -- "recovered a dead run: removed directory $name" "$recfile" ||
             problem "no recovery line names $what $name" ;;
      esac
    done <<<"$before"
  fi
  [ "$j_at_follow" = 0 ] || [ ! -e "$jf" ] || problem "the dead run's journal is still there after the apply"
  if [ -n "$foreign" ]; then
    # shellcheck disable=SC2086 # one pid a word
    jinfo="$jinfo (other vmstamp runs on this host: $(echo $foreign | tr ' ' '\n' | sort -un | tr '\n' ' '); recovery may be theirs)"
  fi

  # Nothing of the dead run goes on: its processes end (libguestfs's
  # helpers follow the appliance within 2 s), no qemu holds its disks.
  wait_for 15 bash -c "! pgrep -s $vpid >/dev/null" ||
    problem "processes of the killed run still there 15 s after the apply: $(flat "$(ps -o pid=,args= -s "$vpid" | cut -c1-200)")"
  q=$(qemu_of "$PREFIX" "$vrid")
  [ -z "$q" ] || problem "qemu left after the apply: $(flat "$q")"
  left=$(run_left "$vrid"; [ -z "$frid" ] || run_left "$frid")
  [ -z "$left" ] || problem "left of the dead run or the apply: $(flat "$left")"
  c=$(claims_left)
  [ -z "$c" ] || problem "claims left: $(flat "$c")"

  # The fleet is exactly the plan.
  if [ "$frc" = 0 ]; then
    p=$(fleet_problems) || true
    [ -z "$p" ] || problem "not the plan after the apply: $(flat "$p")"
  fi
  undo_commit
  if [ ${#problems[@]} != 0 ]; then
    "$VMSTAMP" gc >/dev/null 2>&1 || true
    fleet_scrub
    rm -rf "${STAGE:?}/$vrid" "/run/vmstamp/keys.$vrid"
  fi

  nrec=$(grep -c . "$S/recovered" || true)
  if [ ${#problems[@]} = 0 ]; then
    passed=$((passed + 1)); verdict=ok
  else
    failed=$((failed + 1)); verdict=FAIL
  fi
  echo "moment $((m + 1))/${#specs[@]} ($when): $verdict: $how, $jinfo; $([ "${gc_first[$m]}" = 0 ] || echo "vmstamp gc exit $grc, then ")apply again exit $frc ($(grep "^fleet " "$S/follow.out" | sed "s/^fleet $FLEET: //" | head -n 1)), $nrec recovery lines for run $vpid (by $recby), done at ${t_follow} s"
  sed 's/^/    | /' "$S/recovered"
  for p in "${problems[@]}"; do echo "    FAIL: $p"; done
  if [ ${#problems[@]} != 0 ] && [ -f "$S/victim.err" ]; then
    sed 's/^/    victim stderr | /' "$S/victim.err" | tail -n 5
  fi
done
[ "$doctor_checked" = 1 ] || echo "note: doctor was never run on a stale journal of ours (other runs recovered each first)"
echo "fleet kill9: $passed passed, $failed failed (${#specs[@]} moments over a $T_RUN s run, $(since "$t_all") s)"
[ "$failed" = 0 ] || exit 1
left=$(destroyed_problems) || true
[ -z "$left" ] || fail "at the end: $(flat "$left")"
echo "PASS: fleet kill9 (${#specs[@]} moments over a $T_RUN s run)"
