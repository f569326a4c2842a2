#!/usr/bin/env bash
# concurrent.sh: two vmstamp clone runs at once never both make a name or
# use a MAC. Names: A clones c1 c2 c3, B clones c3 c4 (fresh names each
# round), started together, B 0.5 s after A, and B stopped (SIGSTOP) right
# after its "clone plan ready" line while A runs, then continued; REPS
# rounds each (default 5). Each time exactly one run succeeds; each name is
# made once, by that run, with its disk; the other fails with one line
# naming c3 and the winner's pid, and leaves nothing; the winner's clones
# are whole (defined, disk there, 'vmstamp list' shows no '-/-'). The same
# for one --mac given to two runs of different names (MAC_REPS rounds per
# start, default 1). Two runs of disjoint names on one template both succeed.
# The template never changes. ~8 min under TCG on 2 cores.
. "$(dirname "$0")/lib.sh"
start_test
REPS=${REPS:-5}
MAC_REPS=${MAC_REPS:-1}
S=$SCRATCH

tpl=$(fixture debian12)
tpl_sum=$(sha256sum <"$tpl")
rounds=0
live=()

# launch LABEL ARGS...: vmstamp in the background (out/err in $S/LABEL.*); pid in $launched.
# (The files are emptied first: the child truncates them only once it runs,
# and a poll of LABEL.err must never see the previous round's lines.)
launch() {
  local label=$1
  shift
  : >"$S/$label.out"
  : >"$S/$label.err"
  "$VMSTAMP" "$@" >"$S/$label.out" 2>"$S/$label.err" &
  launched=$!
  live+=("$launched")
}
# stop_all: no run of ours goes on after a failure (cleanup runs next).
stop_all() {
  local p
  for p in "${live[@]}"; do
    kill -CONT "$p" 2>/dev/null || true
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${live[@]}"; do wait "$p" 2>/dev/null || true; done
  live=()
}
die() { stop_all; fail "$@"; }
done_running() { [ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
# reap PID SECONDS: its exit status, waiting at most SECONDS.
reap() {
  wait_for "$2" done_running "$1" || die "pid $1 still running after $2 s (waiting on the other run?): $(tail -n 2 "$S"/*.err)"
  local rc=0
  wait "$1" || rc=$?
  return $rc
}

# race START ARGS_A... -- ARGS_B...: run vmstamp A and B (clone arguments)
# as START says: together | later (B 0.5 s after A) | stopped (B first,
# SIGSTOPped at its "clone plan ready" line, A runs to its end, B continued).
# Sets apid arc bpid brc.
race() {
  local start=$1 a=() b=()
  shift
  while [ "$1" != -- ]; do a+=("$1"); shift; done
  shift
  b=("$@")
  live=()
  case $start in
    together)
      launch a -q clone "${a[@]}"; apid=$launched
      launch b -q clone "${b[@]}"; bpid=$launched
      ;;
    later)
      launch a -q clone "${a[@]}"; apid=$launched
      sleep 0.5
      launch b -q clone "${b[@]}"; bpid=$launched
      ;;
    stopped)
      launch b -v clone "${b[@]}"; bpid=$launched
      wait_for 120 bash -c "grep -q 'clone plan ready' '$S/b.err' || [ ! -e /proc/$bpid ] || grep -q '^State:.*Z' /proc/$bpid/status" || true
      if ! grep -q "clone plan ready" "$S/b.err"; then
        brc=0; done_running "$bpid" && { wait "$bpid" || brc=$?; }
        die "$start: B (pid $bpid, $(done_running "$bpid" && echo "exit $brc" || echo running)) printed no 'clone plan ready' line: $(tail -n 3 "$S/b.err")"
      fi
      kill -STOP "$bpid"
      launch a -q clone "${a[@]}"; apid=$launched
      arc=0; reap "$apid" 120 || arc=$?
      grep -q "clone plan ready" "$S/a.err" && die "A printed the debug line under -q"
      kill -CONT "$bpid"
      ;;
  esac
  [ "$start" = stopped ] || { arc=0; reap "$apid" 300 || arc=$?; }
  brc=0; reap "$bpid" 300 || brc=$?
  live=()
  rounds=$((rounds + 1))
}

# one_winner LABEL: exactly one of A and B succeeded: sets W/L (a|b), wpid, lpid.
one_winner() {
  if [ "$arc" = 0 ] && [ "$brc" = 0 ]; then
    fail "$1: both runs succeeded: A $(cat "$S/a.out"); B $(cat "$S/b.out")"
  elif [ "$arc" = 0 ]; then
    W=a L=b wpid=$apid lpid=$bpid
  elif [ "$brc" = 0 ]; then
    W=b L=a wpid=$bpid lpid=$apid
  else
    fail "$1: both runs failed: A (exit $arc) $(tail -n 2 "$S/a.err"); B (exit $brc) $(tail -n 2 "$S/b.err")"
  fi
}

# loser_said LABEL PATTERN: the losing run failed with exactly one line (the error) matching PATTERN.
loser_said() {
  local err=$S/$L.err
  [ "$(wc -l <"$err")" = 1 ] || fail "$1: the losing run ($L, pid $lpid) did not fail in one line: $(cat "$err")"
  grep -Eq -- "^vmstamp: error: $2" "$err" || fail "$1: the losing run's error '$(cat "$err")' does not match /$2/"
  [ ! -s "$S/$L.out" ] || fail "$1: the losing run printed results: $(cat "$S/$L.out")"
  [ -z "$(run_things "$lpid")" ] || fail "$1: the losing run left: $(run_things "$lpid")"
  [ -z "$(run_things "$wpid")" ] || fail "$1: the winning run left: $(run_things "$wpid")"
}

# whole NAME...: each is defined, its disk in the pool and there, listed by
# 'vmstamp list' with a disk (not '-/-'), and no temporary disk of it is left.
whole() {
  local n d
  "$VMSTAMP" -q list >"$S/list" 2>&1 || fail "vmstamp list failed: $(cat "$S/list")"
  for n in "$@"; do
    $V dominfo "$n" >/dev/null 2>&1 || fail "$n: not defined"
    d=$($V domblklist "$n" | awk '$2 ~ /^\// {print $2; exit}')
    [ "$d" = "$POOL_DIR/$n.qcow2" ] || fail "$n: disk is '$d', not $POOL_DIR/$n.qcow2"
    [ -f "$d" ] || fail "$n: its disk $d does not exist"
    qemu-img info "$d" >/dev/null 2>&1 || fail "$n: its disk $d is not an image"
    [ ! -e "$POOL_DIR/.$n.qcow2.vmstamp-tmp" ] || fail "$n: temporary disk left"
    awk -v n="$n" '$1 == n' "$S/list" | grep -q . || fail "$n: not in 'vmstamp list'"
    ! awk -v n="$n" '$1 == n' "$S/list" | grep -qF -- '-/-' || fail "$n: 'vmstamp list' shows no disk: $(grep -- "$n" "$S/list")"
  done
}

# exactly BASE NAME...: the domains and pool files named BASE* are NAME... and their disks, no more.
exactly() {
  local base=$1 want got files
  shift
  want=$(printf '%s\n' "$@" | sort)
  got=$($V list --all --name | grep "^$base" | sort || true)
  [ "$got" = "$want" ] || fail "domains $base*: '$(echo $got)', not '$*'"
  want=$(printf '%s.qcow2\n' "$@" | grep . | sort)
  [ $# != 0 ] || want=""
  files=$(ls -A "$POOL_DIR" | grep -e "^$base" -e "^\.$base" | sort || true)
  [ "$files" = "$want" ] || fail "pool files $base*: '$(echo $files)', not '$(echo $want)'"
  [ -z "$(qemu_of "$base")" ] || fail "qemu still running on $base*: $(qemu_of "$base")"
}

# made_by NAME: the winner's output reports NAME, the loser's does not.
made_by() {
  grep -q "^$1: mac " "$S/$W.out" || fail "$1: not in the winning run's output: $(cat "$S/$W.out")"
  ! grep -q "^$1: " "$S/$L.out" || fail "$1: also in the losing run's output"
}

remove() {
  [ $# = 0 ] && return 0
  "$VMSTAMP" -q rm "$@" >/dev/null 2>"$S/rm.err" || fail "vmstamp rm $*: $(cat "$S/rm.err")"
}

# ---- overlapping names: A c1 c2 c3, B c3 c4 --------------------------------------
for start in together later stopped; do
  for ((r = 1; r <= REPS; r++)); do
    base="${PREFIX}${start:0:1}$r-"
    c=("${base}c1" "${base}c2" "${base}c3" "${base}c4")
    t0=$SECONDS
    race "$start" --network user "$tpl" "${c[0]}" "${c[1]}" "${c[2]}" -- --network user "$tpl" "${c[2]}" "${c[3]}"
    label="names, $start, round $r"
    one_winner "$label"
    [ "$start" != stopped ] || [ "$W" = b ] || fail "$label: A won though B held the names (stopped after its claims)"
    loser_said "$label" "[^']*'${c[2]}'.* by another vmstamp run \(pid $wpid\)"
    if [ "$W" = a ]; then mine=("${c[0]}" "${c[1]}" "${c[2]}"); else mine=("${c[2]}" "${c[3]}"); fi
    exactly "$base" "${mine[@]}"
    whole "${mine[@]}"
    for n in "${mine[@]}"; do made_by "$n"; done
    echo "ok: $label ($((SECONDS - t0)) s): $(echo "$W" | tr ab AB) (pid $wpid) made ${mine[*]##"$base"}; $(echo "$L" | tr ab AB): $(grep '^vmstamp: error' "$S/$L.err")"
    remove "${mine[@]}"
    exactly "$base"
  done
done

# ---- one MAC, two runs of different names ---------------------------------------
for start in together later stopped; do
  for ((r = 1; r <= MAC_REPS; r++)); do
    base="${PREFIX}m${start:0:1}$r-"
    mac=$(printf '52:54:00:%02x:%02x:%02x' $(($$ % 256)) $((RANDOM % 256)) $((rounds % 256)))
    t0=$SECONDS
    race "$start" --network user --mac "$mac" "$tpl" "${base}a" -- --network user --mac "$mac" "$tpl" "${base}b"
    label="MAC, $start, round $r"
    one_winner "$label"
    [ "$start" != stopped ] || [ "$W" = b ] || fail "$label: A won though B held the MAC (stopped after its claims)"
    loser_said "$label" "[^ ]*.*MAC $mac.* by another vmstamp run \(pid $wpid\)"
    exactly "$base" "$base$W"
    whole "$base$W"
    made_by "$base$W"
    [ "$(domiflist_mac "$base$W")" = "$mac" ] || fail "$label: $base$W has MAC $(domiflist_mac "$base$W"), not $mac"
    echo "ok: $label ($((SECONDS - t0)) s): $(echo "$W" | tr ab AB) (pid $wpid) got $mac; $(echo "$L" | tr ab AB): $(grep '^vmstamp: error' "$S/$L.err")"
    remove "$base$W"
    exactly "$base"
  done
done

# ---- disjoint names, same template, together: both succeed -----------------------
base="${PREFIX}d-"
t0=$SECONDS
race together --network user "$tpl" "${base}1" "${base}2" -- --network user "$tpl" "${base}3" "${base}4"
[ "$arc" = 0 ] || fail "disjoint: A failed: $(cat "$S/a.err")"
[ "$brc" = 0 ] || fail "disjoint: B failed: $(cat "$S/b.err")"
[ -z "$(run_things "$apid")$(run_things "$bpid")" ] || fail "disjoint: left: $(run_things "$apid") $(run_things "$bpid")"
exactly "$base" "${base}1" "${base}2" "${base}3" "${base}4"
whole "${base}1" "${base}2" "${base}3" "${base}4"
for n in 1 2; do grep -q "^$base$n: mac " "$S/a.out" || fail "disjoint: A did not report $base$n"; done
for n in 3 4; do grep -q "^$base$n: mac " "$S/b.out" || fail "disjoint: B did not report $base$n"; done
echo "ok: disjoint names at once ($((SECONDS - t0)) s): both made their clones"
remove "${base}1" "${base}2" "${base}3" "${base}4"
exactly "$base"

[ "$(sha256sum <"$tpl")" = "$tpl_sum" ] || fail "the template changed"
assert_nothing_left "end"
echo "PASS: concurrent ($rounds races in ${SECONDS} s)"
