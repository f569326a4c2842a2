#!/usr/bin/env bash
# kill9.sh MODE [FAMILY]: a vmstamp run is a transaction, even under kill -9.
#
# MODE clone (20 moments): 'clone --count 4' of the FAMILY fixture (default
# debian12); template (5): 'template create' from a copy of it; install (5):
# 'install' from the test ISO with kickstart/testdist.ks. One uninterrupted
# run is timed first; the kills are spread from 0.5 s to its end, then more
# land in the commit phase, each when a file its steps make appears (clone:
# renamed disk, domain defined; template: store image, index entry) or goes
# (install: the installer powered off). After
# each kill, ONE other vmstamp command (gc, rm of a missing name, a clone of
# other names, in turn; started at once) must first replay the dead run's
# journal, one "recovered run PID (COMMAND): removed ..." line per thing:
# then either nothing of the run is left (domain, volume, hidden temporary
# disk or store image, index entry, SSH host key / work / install directory,
# journal, a qemu holding its disks, when the journal goes or after, any
# process it started), or (killed after its commit) all it made is there,
# whole, and no journal. 'vmstamp doctor' names a stale journal (once). The
# template / source / ISO never changes, and the same run succeeds after.
# One summary line per moment, then "N passed, M failed". Other people's
# vmstamp runs on the host recover dead runs too: then the follow-up's own
# lines are not required (the moment says so), the outcome still is.
# Label soak: ~15 min (clone), ~10 min (template), ~5 min (install) under TCG.
. "$(dirname "$0")/lib.sh"
MODE=${1:-}
FAMILY=${2:-debian12}
case $MODE in
  clone) MOMENTS=${MOMENTS:-20} ;;
  template | install) MOMENTS=${MOMENTS:-5} ;;
  *) echo "usage: kill9.sh clone|template|install [FAMILY]" >&2; exit 2 ;;
esac
start_test

STORE=/var/lib/vmstamp/templates
INDEX=/var/lib/vmstamp/index/vmstamp-templates
S=$SCRATCH
K='' T='' N=''

# vm LABEL ARGS...: run vmstamp (out/err in $S/LABEL.out/.err), set $last_pid
# and return its status; a run that succeeded leaves no journal or private
# directory (checked in the caller's problems list when inside a moment).
vm() {
  local label=$1 rc=0
  shift
  "$VMSTAMP" "$@" >"$S/$label.out" 2>"$S/$label.err" &
  last_pid=$!
  wait "$last_pid" || rc=$?
  return $rc
}

# At every poll of watch_foreign: the moment the journal $jf goes (its
# recovery is done, whoever did it), note in $q_at_recovery any qemu of the
# run still running.
recovery_seen() {
  if [ -n "${jf:-}" ] && [ "$jf_seen" = 1 ] && [ ! -e "$jf" ]; then
    jf_seen=0
    q_at_recovery=$(qemu_of "$PAT" "$vrid")
  fi
}
# shellcheck disable=SC2034 # read by watch_foreign (lib.sh)
WATCH_HOOK=recovery_seen

# ---- what this mode runs, and what it may leave ----------------------------------
case $MODE in
  clone)
    tpl=$(fixture "$FAMILY")
    ftpl=$tpl
    K=${PREFIX}k-
    names=("${K}1" "${K}2" "${K}3" "${K}4")
    victim=(clone --network user --count 4 --name-pattern "${K}%d" "$tpl")
    guard=$tpl
    PAT=$K
    ;;
  template)
    mv "$(fixture "$FAMILY")" "$S/src.qcow2"
    src=$S/src.qcow2
    ftpl=$(fixture debian12)
    T=${PREFIX}t
    victim=(template create "$T" --from "$src")
    guard=$src
    PAT=$T
    ;;
  install)
    iso=$("$SRC/scripts/build-installer-iso.sh" | tail -n 1)
    [ -f "$iso" ] || fail "installer ISO not built"
    ftpl=$(fixture debian12)
    N=${PREFIX}inst
    victim=(install --iso "$iso" --kickstart "$SRC/kickstart/testdist.ks" --name "$N" --network user --size 2G)
    guard=$iso
    PAT=$N
    ;;
esac
guard_sum=$(sha256sum <"$guard")

# leftovers: what the victim's kind of run may have made that is still there
# (one "KIND what" a line). Checks libvirt's volume list as it is (recovery
# refreshes the pool), then after a refresh.
leftovers() {
  local rid=$1 pat=$PAT
  $V list --all --name | grep -F "$pat" | sed 's/^/domain /' || true
  $V vol-list default 2>/dev/null | awk '{print $1}' | grep -F "$pat" | sed 's/^/volume (listed, not refreshed) /' || true
  $V pool-refresh default >/dev/null 2>&1 || true
  $V vol-list default 2>/dev/null | awk '{print $1}' | grep -F "$pat" | sed 's/^/volume /' || true
  ls -A "$POOL_DIR" | grep -F "$pat" | sed "s|^|file $POOL_DIR/|" || true
  if [ "$MODE" = template ]; then
    ls -A "$STORE" 2>/dev/null | grep -F "$pat" | sed "s|^|store $STORE/|" || true
    ls -A "$INDEX" 2>/dev/null | grep -F "$pat" | sed "s|^|index $INDEX/|" || true
    $V pool-refresh vmstamp-templates >/dev/null 2>&1 || true
    $V vol-list vmstamp-templates 2>/dev/null | awk '{print $1}' | grep -F "$pat" | sed 's/^/store-volume /' || true
  fi
  [ -z "$rid" ] || run_things "$rid" | sed 's/^/private /'
  # Private directories named otherwise (not after a run id) that appeared
  # since the moment began (unless another vmstamp is running: its own).
  if [ -f "$S/private-base" ] && ! pgrep -x vmstamp >/dev/null; then
    comm -13 "$S/private-base" <(private_dirs) | grep -Ev '\.[0-9]+-[0-9]+$' | sed 's/^/private /' || true
  fi
  qemu_of "$pat" ${rid:+"$rid"} | sed 's/^/qemu /'
}

private_dirs() {
  ls -d /run/vmstamp/keys.* /var/tmp/vmstamp-work.* /var/tmp/vmstamp/vmstamp-work.* /var/tmp/vmstamp-install.* 2>/dev/null | sort || true
}

# snapshot RID: leftovers' quick cousin (files only, no libvirt call), taken
# between the kill and the follow-up so that the follow-up comes at once
# (libguestfs's own helper kills an orphaned appliance within ~2 s: only a
# follow-up that soon shows whether recovery does).
snapshot() {
  local rid=$1 f
  for f in /etc/libvirt/qemu/"$PAT"*.xml /run/libvirt/qemu/"$PAT"*.xml; do
    [ ! -e "$f" ] || { f=${f##*/}; echo "domain ${f%.xml}"; }
  done
  ls -A "$POOL_DIR" | grep -F "$PAT" | sed "s|^|file $POOL_DIR/|" || true
  if [ "$MODE" = template ]; then
    ls -A "$STORE" 2>/dev/null | grep -F "$PAT" | sed "s|^|store $STORE/|" || true
    ls -A "$INDEX" 2>/dev/null | grep -F "$PAT" | sed "s|^|index $INDEX/|" || true
  fi
  run_things "$rid" | grep -v '\.json$' | sed 's/^/private /' || true
  qemu_of "$PAT" "$rid" | sed 's/^/qemu /'
}

# committed: the victim's run finished its commit: all it makes is there, whole.
committed() {
  local n d
  case $MODE in
    clone)
      for n in "${names[@]}"; do
        $V dominfo "$n" >/dev/null 2>&1 || return 1
        d=$($V domblklist "$n" | awk '$2 ~ /^\// {print $2; exit}')
        [ "$d" = "$POOL_DIR/$n.qcow2" ] && [ -f "$d" ] || return 1
      done
      ;;
    template)
      [ -f "$STORE/$T.qcow2" ] && [ -f "$INDEX/$T.json" ] || return 1
      ;;
    install)
      [ -f "$POOL_DIR/$N.qcow2" ] && ! $V dominfo "$N" >/dev/null 2>&1 || return 1
      ;;
  esac
}

# undo_commit: remove what a finished run made, with vmstamp where it can.
undo_commit() {
  case $MODE in
    clone) vm rm -q rm "${names[@]}" || problem "vmstamp rm of the committed clones: $(cat "$S/rm.err")" ;;
    template) vm trm -q template rm "$T" || problem "template rm of the committed template: $(cat "$S/trm.err")" ;;
    install)
      $V pool-refresh default >/dev/null
      $V vol-delete --pool default "$N.qcow2" >/dev/null || problem "cannot delete the installed volume"
      ;;
  esac
}

# scrub RID: remove by hand whatever a failed moment left, so the next starts clean.
scrub() {
  local rid=$1 p d
  for p in $(qemu_of "$PAT" ${rid:+"$rid"} | awk '{print $1}'); do kill -9 "$p" 2>/dev/null || true; done
  [ -z "$rid" ] || for p in $(pgrep -s "${rid%%-*}" || true); do kill -9 "$p" 2>/dev/null || true; done
  for d in $($V list --all --name | grep -F "$PAT" || true); do
    $V destroy "$d" >/dev/null 2>&1 || true
    $V undefine "$d" >/dev/null 2>&1 || true
  done
  [ -z "$rid" ] || run_things "$rid" | xargs -r rm -rf
  [ ! -f "$S/private-base" ] || pgrep -x vmstamp >/dev/null || comm -13 "$S/private-base" <(private_dirs) | grep -Ev '\.[0-9]+-[0-9]+$' | xargs -r rm -rf || true
  cleanup_files
}
cleanup_files() {
  local pat=$PAT
  chmod u+w "$STORE/$pat"* 2>/dev/null || true
  rm -f "$POOL_DIR/$pat"* "$POOL_DIR/.$pat"* "$STORE/$pat"* "$STORE/.$pat"* "$INDEX/$pat"* "$INDEX/.$pat"*
  $V pool-refresh default >/dev/null 2>&1 || true
  $V pool-refresh vmstamp-templates >/dev/null 2>&1 || true
}

# the victim's run, uninterrupted: it works, and success leaves no journal.
note "timing one uninterrupted run: vmstamp ${victim[*]}"
t0=$(now)
vm first "${victim[@]}" || { cat "$S/first.err" >&2; fail "the uninterrupted run failed"; }
T_RUN=$(since "$t0")
committed || fail "the uninterrupted run did not make everything"
left=$(run_things "$last_pid")
[ -z "$left" ] || fail "a successful run left: $left"
undo_commit
[ ${#problems[@]} = 0 ] || fail "${problems[*]}"
[ -z "$(leftovers "")" ] || fail "left after removing the first run's result: $(leftovers "")"
# The moments: MOMENTS times spread over the run, then (clone, template)
# the instants of its commit phase, caught by watching for the file each
# step makes, as a timer rarely lands in that last fraction of a second.
specs=()
for ((i = 0; i < MOMENTS; i++)); do specs+=("time $i"); done
case $MODE in
  clone) specs+=("event ${K}1's disk renamed into place|$POOL_DIR/${K}1.qcow2"
                 "event ${K}1 defined|/etc/libvirt/qemu/${K}1.xml"
                 "event ${K}4 defined|/etc/libvirt/qemu/${K}4.xml") ;;
  template) specs+=("event store image being written|$STORE/.$T.qcow2.vmstamp-tmp"
                    "event index entry written|$INDEX/$T.json"
                    "event image renamed into the store|$STORE/$T.qcow2") ;;
  # (a leading ! : when the file, having been there, goes)
  install) specs+=("event the installer powered off|!/run/libvirt/qemu/$N.xml") ;;
esac
note "uninterrupted run: $T_RUN s; killing at $MOMENTS moments from 0.5 s to $T_RUN s, then at $((${#specs[@]} - MOMENTS)) events"

passed=0 failed=0
for ((m = 0; m < ${#specs[@]}; m++)); do
  problems=()
  read -r kind spec <<<"${specs[$m]}"
  if [ "$kind" = time ]; then
    at=$(awk -v i="$spec" -v n="$MOMENTS" -v t="$T_RUN" 'BEGIN { printf "%.2f", (n > 1 ? 0.5 + i * (t - 0.5) / (n - 1) : 0.5) }')
    when="${at} s"
  else
    ev_path=${spec#*|} ev_gone=0
    if [ "${ev_path:0:1}" = '!' ]; then ev_path=${ev_path:1} ev_gone=1; fi
    when="when $(basename "$ev_path") $([ $ev_gone = 1 ] && echo goes || echo appears) (${spec%%|*})"
    at=$(awk -v t="$T_RUN" 'BEGIN { printf "%.2f", 3 * t + 30 }')
  fi

  # An event the poll missed (the run ended first): try again, twice.
  for try in 1 2 3; do
    private_dirs >"$S/private-base"
    # The victim, in its own session: what it started is found by session id.
    t0=$(now)
    setsid "$VMSTAMP" "${victim[@]}" >"$S/victim.out" 2>"$S/victim.err" &
    vpid=$!
    vrid=$(run_id "$vpid") || fail "no /proc entry for the victim $vpid"
    # Wait for the moment (or the victim's own end: later moments then spread
    # over the shorter run, as runs on a busy host vary).
    deadline=$(( ${t0/./} + 10#${at/./} * 10000 ))
    if [ "$kind" = time ]; then
      while [ "${EPOCHREALTIME/./}" -lt "$deadline" ] && ! ended "$vpid"; do sleep 0.05; done
    else
      if [ "$ev_gone" = 1 ]; then
        while [ ! -e "$ev_path" ] && [ "${EPOCHREALTIME/./}" -lt "$deadline" ] && ! ended "$vpid"; do nap 0.002; done
        while [ -e "$ev_path" ] && [ "${EPOCHREALTIME/./}" -lt "$deadline" ] && ! ended "$vpid"; do nap 0.002; done
      else
        while [ ! -e "$ev_path" ] && [ "${EPOCHREALTIME/./}" -lt "$deadline" ] && ! ended "$vpid"; do nap 0.002; done
      fi
    fi
    if [ "$kind" = time ] && ended "$vpid"; then
      d=$(since "$t0")
      awk -v d="$d" -v t="$T_RUN" 'BEGIN { exit !(d < t) }' && T_RUN=$d
    fi
    [ "$(cat "/proc/$vpid/comm" 2>/dev/null || echo vmstamp)" = vmstamp ] || fail "victim $vpid is not vmstamp (setsid forked?)"
    kill -9 "$vpid" 2>/dev/null || true
    t_kill=$(since "$t0")
    vrc=0; wait "$vpid" || vrc=$?
    [ "$kind" = event ] && [ "$vrc" = 0 ] && [ "$try" -lt 3 ] || break
    note "moment $((m + 1)): the run ended before that was seen; again"
    undo_commit
    [ -z "$(leftovers "")" ] || break
  done
  victim_end "$vrc" "$t_kill" "$try" "$vrid"
  # Other people's vmstamp runs on this host recover dead runs too: if one
  # ran meanwhile, our follow-up may have had nothing left to say.
  foreign=$(foreign_vmstamp)
  before=$(snapshot "$vrid")
  # Committed: its journal is gone (all it made then stays). Complete but
  # with its journal still there, the run did not commit: all must go.
  was_committed=0
  if [ ! -f "$jf" ]; then
    case $MODE in
      clone) [ "$(grep -c -e "^domain " -e "^file $POOL_DIR/${K}[0-9]*\.qcow2\$" <<<"$before")" = 8 ] && was_committed=1 ;;
      template) grep -qx "store $STORE/$T.qcow2" <<<"$before" && grep -qx "index $INDEX/$T.json" <<<"$before" && was_committed=1 ;;
      install) grep -qx "file $POOL_DIR/$N.qcow2" <<<"$before" && ! grep -q "^domain " <<<"$before" && was_committed=1 ;;
    esac
  fi

  doctor_check "$m"

  # ONE follow-up command, in turn.
  case $((m % 3)) in
    0) follow=(gc); want_rc=0 ;;
    1) follow=(rm "${PREFIX}nosuch-$m"); want_rc=1 ;;
    2) follow=(clone --network user "$ftpl" "${PREFIX}o-$m"); want_rc=0 ;;
  esac
  j_at_follow=0
  [ -f "$jf" ] && j_at_follow=1
  jf_seen=$j_at_follow q_at_recovery=
  foreign+=" $(foreign_vmstamp | tr '\n' ' ')"
  "$VMSTAMP" "${follow[@]}" >"$S/follow.out" 2>"$S/follow.err" &
  fpid=$!
  frc=0; watch_foreign "$fpid" || frc=$?
  [ "$frc" = "$want_rc" ] || problem "follow-up 'vmstamp ${follow[0]}' exited $frc, not $want_rc: $(tail -n 1 "$S/follow.err")"
  if [ "${follow[0]}" = rm ]; then
    tail -n 1 "$S/follow.err" | grep -q "^vmstamp: error: domain '${PREFIX}nosuch-$m' not found" ||
      problem "rm of a missing name: last line '$(tail -n 1 "$S/follow.err")'"
  fi
  # The qemu holding the run's disks is gone as soon as the recovery is done.
  # (if another vmstamp run is still undoing ours, it holds the journal: let it finish)
  [ -z "$foreign" ] || wait_for 60 test ! -e "$jf" || true
  q=$(qemu_of "$PAT" "$vrid")
  [ -z "$q" ] || problem "qemu of the killed run still running after the follow-up: $q"
  [ -z "$q_at_recovery" ] || problem "qemu of the killed run still running when its journal was replayed: $q_at_recovery"
  grep "recovered run $vpid\b" "$S/follow.err" >"$S/recovered" || true
  if grep -v -E "^vmstamp: recovered run $vpid \(.*$MODE.*\): removed .+" "$S/recovered" >"$S/bad-lines"; then
    problem "recovery lines not as specified: $(cat "$S/bad-lines")"
  fi
  if [ "$was_committed" = 0 ] && [ -n "$before" ] && [ -z "$foreign" ]; then
    [ -s "$S/recovered" ] || grep -q "recovered a dead run: removed directory .*$vrid" "$S/follow.err" ||
      problem "the follow-up printed no 'recovered run $vpid' line, though the run left: $(flat "$before")"
    # One line per thing removed: each file, directory and domain is named.
    while read -r kind what; do
      case $kind in
        domain | file | private | store | index)
          grep -qF -- "$(basename "$what")" "$S/recovered" ||
            grep -qF -- "recovered a dead run: removed directory $what" "$S/follow.err" ||
            problem "no recovery line names $kind $what" ;;
      esac
    done <<<"$before"
  fi
  if [ -n "$foreign" ]; then
    # shellcheck disable=SC2086 # one pid a word
    jinfo="$jinfo (other vmstamp runs on this host: $(echo $foreign | tr ' ' '\n' | sort -un | tr '\n' ' '); recovery may be theirs)"
  fi
  if [ "${follow[0]}" = clone ] && [ "$frc" = 0 ]; then
    vm orm -q rm "${PREFIX}o-$m" || problem "rm of the follow-up clone: $(cat "$S/orm.err")"
  fi
  [ -z "$(run_things "$fpid")" ] || problem "the follow-up left: $(run_things "$fpid")"
  [ "$j_at_follow" = 0 ] || [ ! -e "$jf" ] || problem "the journal is still there after the follow-up"

  # Every process the killed run started ends (libguestfs's helpers follow
  # the appliance within 2 s; nothing may go on working).
  wait_for 15 bash -c "! pgrep -s $vpid >/dev/null" ||
    problem "processes of the killed run still there 15 s after the follow-up: $(ps -o pid=,args= -s "$vpid" | cut -c1-200)"

  # All or nothing.
  after=$(leftovers "$vrid")
  if [ "$was_committed" = 1 ]; then
    how="$how, after its commit"
    committed || problem "the follow-up broke what the committed run made"
    undo_commit
    after=$(leftovers "$vrid")
  fi
  [ -z "$after" ] || problem "left after the follow-up: $(flat "$after")"
  [ "$(sha256sum <"$guard")" = "$guard_sum" ] || problem "$guard changed"

  # The same run again succeeds (the install once, at the end).
  [ ${#problems[@]} = 0 ] || scrub "$vrid"
  if [ "$MODE" != install ]; then
    if vm again -q "${victim[@]}"; then
      committed || problem "the same run again did not make everything"
      [ -z "$(run_things "$last_pid")" ] || problem "the run again left: $(run_things "$last_pid")"
      undo_commit
    else
      problem "the same run again failed: $(cat "$S/again.err")"
    fi
    after=$(leftovers "")
    [ -z "$after" ] || { problem "left after the run again: $(flat "$after")"; scrub ""; }
  fi

  fsum=$(grep -c "recovered run $vpid\b" "$S/follow.err" || true)
  others=$(grep -c . "$S/follow.err" || true)
  if [ ${#problems[@]} = 0 ]; then
    passed=$((passed + 1)); verdict=ok
  else
    failed=$((failed + 1)); verdict=FAIL
  fi
  echo "moment $((m + 1))/${#specs[@]} ($when): $verdict: $how, $jinfo; 'vmstamp ${follow[0]}' exit $frc, $fsum recovery lines for run $vpid ($others lines in all)"
  grep -E "recovered|error|warning" "$S/follow.err" | sed 's/^/    | /' || true
  for p in "${problems[@]}"; do echo "    FAIL: $p"; done
done

if [ "$MODE" = install ]; then
  note "the same install, uninterrupted"
  if vm again -q "${victim[@]}" && committed; then
    [ -z "$(run_things "$last_pid")" ] || { echo "FAIL: the install left: $(run_things "$last_pid")"; failed=$((failed + 1)); }
    problems=()
    undo_commit
    echo "install after the kills: ok"
  else
    echo "FAIL: the same install after the kills: $(tail -n 3 "$S/again.err")"
    failed=$((failed + 1))
  fi
fi

echo "kill9 $MODE: $passed passed, $failed failed"
[ "$failed" = 0 ] || exit 1
assert_nothing_left "end"
echo "PASS: kill9 $MODE (${#specs[@]} moments over a $T_RUN s run)"
