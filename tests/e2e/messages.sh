#!/usr/bin/env bash
# messages.sh: what a user sees when clone or fleet apply refuses (issue 20's
# minor items): exactly one line on stderr, nothing on stdout, a non-zero
# exit, and nothing left behind.
#  - a value holding a newline (--hostname, a template name) is printed
#    escaped: the error stays one line;
#  - clone into a name a foreign domain holds suggests a command that works
#    (vmstamp rm refuses foreign domains without --force);
#  - clone a A: two host names that differ only in case, refused;
#  - fleet apply: a bad template, a dry run whose name a foreign domain
#    holds, and the apply that loses the fleet's lock to another run print
#    their one error line and no table or summary after it.
. "$(dirname "$0")/lib.sh"
start_test

tpl=$(fixture debian12)
NET=(--network user)
N=${PREFIX}c

# A domain vmstamp did not make, to collide with.
other="${PREFIX}other"
define_foreign "$other"

checks=0
# expect_exact LABEL LINE vmstamp-args...: exit non-zero, stderr exactly
# LINE (one line), stdout empty, nothing of ours left but $other.
expect_exact() {
  local label=$1 want=$2 rc=0 doms
  shift 2
  "$VMSTAMP" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
  [ "$rc" != 0 ] || fail "$label: exit 0"
  [ "$(wc -l <"$SCRATCH/err")" = 1 ] || { cat "$SCRATCH/err" >&2; fail "$label: stderr is not one line"; }
  [ "$(cat "$SCRATCH/err")" = "$want" ] || fail "$label: stderr '$(cat "$SCRATCH/err")', not '$want'"
  [ ! -s "$SCRATCH/out" ] || fail "$label: printed on stdout: $(cat "$SCRATCH/out")"
  doms=$($V list --all --name | grep "^$PREFIX" | grep -vx "$other" || true)
  [ -z "$doms" ] || fail "$label: domain left behind: $doms"
  $V pool-refresh default >/dev/null
  [ -z "$(ls -A "$POOL_DIR" | grep -e "^$PREFIX" -e "^\.$PREFIX")" ] || fail "$label: file left in $POOL_DIR"
  $V dominfo "$other" >/dev/null || fail "$label: removed a domain it did not make"
  echo "ok: $label: $(cat "$SCRATCH/err")"
  checks=$((checks + 1))
}

note "values with a newline are printed escaped"
expect_exact "--hostname with a newline" \
  "vmstamp: error: invalid host name 'a\\nb' (RFC 1123): has character 0x0a" \
  clone "${NET[@]}" --hostname $'a\nb' "$tpl" "$N"
expect_exact "template name with a newline" \
  "vmstamp: error: template 'tpl\\nx' not found: give a disk image path or POOL/VOLUME" \
  clone "${NET[@]}" $'tpl\nx' "$N"
expect_exact "template path with a newline and an escape" \
  "vmstamp: error: template '$SCRATCH/t\\nvmstamp: error: \\x1b[2Jx.qcow2' not found: give a disk image path or POOL/VOLUME" \
  clone "${NET[@]}" "$SCRATCH/t"$'\n'"vmstamp: error: "$'\e'"[2Jx.qcow2" "$N"
expect_exact "--vcpus with a newline" \
  "vmstamp clone: invalid --vcpus '2\\n3': give 1 to 512 (see 'vmstamp clone -h')" \
  clone "${NET[@]}" --vcpus $'2\n3' "$tpl" "$N"

note "clone: names"
expect_exact "clone into a foreign domain's name" \
  "vmstamp: error: domain '$other' already exists and was not made by vmstamp: pick another name, or undefine it (vmstamp rm --force $other; its disks are kept)" \
  clone "${NET[@]}" "$tpl" "$other"
expect_exact "host names that differ only in case" \
  "vmstamp: error: host names '${PREFIX}a' and '${PREFIX}A' differ only in case, which DNS and DHCP ignore: pick names that differ in more than case" \
  clone "${NET[@]}" "$tpl" "${PREFIX}a" "${PREFIX}A"
expect_exact "host names that differ only in case (--domain)" \
  "vmstamp: error: host names '${PREFIX}b.lab' and '${PREFIX}B.lab' differ only in case, which DNS and DHCP ignore: pick names that differ in more than case" \
  clone "${NET[@]}" --domain lab "$tpl" "${PREFIX}b" "${PREFIX}B"

note "fleet apply: after an error, the one line"
FLEET=${PREFIX}f
plan=$SCRATCH/f.yaml
cat >"$plan" <<EOF
fleet: $FLEET
template: $tpl
groups:
  - {name: ${PREFIX}f-%02d, count: 2, network: user}
EOF
sed "s|^template: .*|template: /nonexistent.qcow2|" "$plan" >"$SCRATCH/badtpl.yaml"
for dry in --dry-run ""; do
  expect_exact "fleet apply $dry: bad template" \
    "vmstamp: error: $SCRATCH/badtpl.yaml:2: template: template '/nonexistent.qcow2' not found: give a store template (vmstamp template list) or a disk image path" \
    fleet apply $dry "$SCRATCH/badtpl.yaml"
done
# A name the foreign domain holds: the dry run fails as the apply would,
# in one line, rather than showing 'create' and summing 'would create 0'.
cat >"$SCRATCH/clash.yaml" <<EOF
fleet: $FLEET
template: $tpl
groups:
  - {name: ${PREFIX}f-%02d, count: 1, network: user}
  - {name: $other, network: user}
EOF
for dry in --dry-run ""; do
  expect_exact "fleet apply $dry: a name a foreign domain holds" \
    "vmstamp: error: $SCRATCH/clash.yaml:5: name: domain '$other' exists on host 'default' and is not fleet '$FLEET''s: remove or rename it, or rename the group" \
    fleet apply $dry "$SCRATCH/clash.yaml"
done
# The apply that loses the fleet's lock: another run holds its claim
# (base/claim.c: /run/vmstamp/claims/SCOPE~HASH/KIND:VALUE~HASH, flocked,
# holding the owner's pid), here this script's pid, the lock held by a sleep.
fnv1a() {
  local s=$1 h=2166136261 i c
  for ((i = 0; i < ${#s}; i++)); do
    printf -v c '%d' "'${s:i:1}"
    h=$(( ((h ^ c) * 16777619) & 0xffffffff ))
  done
  printf '%08x' "$h"
}
cdir=/run/vmstamp/claims/fleets~$(fnv1a fleets)
cfile=$cdir/fleet:$FLEET~$(fnv1a "$FLEET")
mkdir -p "$cdir"
echo "$$-0" >"$cfile"
(exec 9<>"$cfile"; flock -x 9; exec sleep 300) >/dev/null 2>&1 &
holder=$!  # sleep, holding the lock on fd 9
release_claim() { kill "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true; rm -f "$cfile"; }
trap 'release_claim; cleanup' EXIT
for _ in $(seq 50); do flock -n -x "$cfile" true || break; sleep 0.1; done
expect_exact "fleet apply: another run holds the fleet" \
  "vmstamp: error: fleet '$FLEET' is being changed by another vmstamp run (pid $$): wait for it, or give --wait-lock" \
  fleet apply "$plan"
release_claim
[ -z "$(ls -A /var/lib/vmstamp/fleet 2>/dev/null | grep -F "$FLEET")" ] || fail "fleet: known_hosts file left"

note "the suggested command works on the foreign domain"
"$VMSTAMP" -q rm --force "$other" || fail "vmstamp rm --force $other failed"
! $V dominfo "$other" >/dev/null 2>&1 || fail "vmstamp rm --force left $other"
checks=$((checks + 1))

assert_nothing_left "end"
echo "PASS: messages ($checks cases)"
