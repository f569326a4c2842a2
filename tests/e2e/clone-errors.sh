#!/usr/bin/env bash
# clone-errors.sh: every user error gets a one-line message naming the thing,
# a non-zero exit, and leaves nothing behind (virsh list --all, the pool,
# temporary files), and touches nothing that was there.
. "$(dirname "$0")/lib.sh"
start_test

tpl=$(fixture debian12)
sum_before=$(sha256sum <"$tpl")

# A domain vmstamp did not make, to collide with.
other="${PREFIX}other"
other_mac=52:54:00:$(printf '%02x:%02x:%02x' $(( $$ % 256 )) $(( ($$ / 256) % 256 )) 77)
$V define /dev/stdin >/dev/null <<XML
<domain type='qemu'><name>$other</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64'>hvm</type></os>
<devices><interface type='user'><mac address='$other_mac'/></interface></devices></domain>
XML

checks=0
# expect_error LABEL 'PATTERN' vmstamp-args...
expect_error() {
  local label=$1
  expect_one_line_error "$@"
  [ ! -s "$SCRATCH/out" ] || fail "$label: printed on stdout: $(cat "$SCRATCH/out")"
  # Nothing left but the domain we made ourselves.
  local doms
  doms=$($V list --all --name | grep "^$PREFIX" | grep -vx "$other" || true)
  [ -z "$doms" ] || fail "$label: domain left behind: $doms"
  $V pool-refresh default >/dev/null
  [ -z "$($V vol-list default | awk '{print $1}' | grep "^$PREFIX")" ] || fail "$label: volume left behind"
  [ -z "$(ls -A "$POOL_DIR" | grep -e "^$PREFIX" -e "^\.$PREFIX")" ] || fail "$label: file left in $POOL_DIR"
  $V dominfo "$other" >/dev/null || fail "$label: removed a domain it did not make"
  [ "$(sha256sum <"$tpl")" = "$sum_before" ] || fail "$label: template changed"
  echo "ok: $label: $(cat "$SCRATCH/err")"
  checks=$((checks + 1))
}

N=${PREFIX}c
NET=(--network user)
expect_error "missing template" "template '/nonexistent/t.qcow2' not found" clone "${NET[@]}" /nonexistent/t.qcow2 "$N"
echo "just text" >"$SCRATCH/notes.txt"
expect_error "non-image template" "not a disk image" clone "${NET[@]}" "$SCRATCH/notes.txt" "$N"
# A damaged template (a copy cut short): refused in the plan, before any disk is made.
cp --sparse=always "$tpl" "$SCRATCH/truncated.qcow2"
truncate -s 10M "$SCRATCH/truncated.qcow2"
expect_error "truncated template" "template '$SCRATCH/truncated.qcow2' is damaged: qemu-img check found [0-9]+ errors? \([0-9]+ corruption" \
  clone "${NET[@]}" "$SCRATCH/truncated.qcow2" "$N"
# A linked template whose backing file is gone: the missing path is named.
cp --sparse=always "$tpl" "$SCRATCH/base.qcow2"
qemu-img create -q -f qcow2 -b "$SCRATCH/base.qcow2" -F qcow2 "$SCRATCH/linked.qcow2"
rm "$SCRATCH/base.qcow2"
expect_error "linked template without its backing file" \
  "image '$SCRATCH/linked.qcow2' needs its backing file '$SCRATCH/base.qcow2', which is missing" \
  clone "${NET[@]}" "$SCRATCH/linked.qcow2" "$N"
# More vCPUs than the host's guests can have: refused at once, naming the maximum.
t0=$(date +%s%N)
expect_error "--vcpus 300" "--vcpus 300 .*at most [0-9]+" clone "${NET[@]}" --vcpus 300 "$tpl" "$N"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 5000 ] || fail "--vcpus 300: took ${ms} ms to refuse"
expect_error "invalid host name" "invalid host name '${PREFIX}bad_name' \(RFC 1123\)" clone "${NET[@]}" "$tpl" "${PREFIX}bad_name"
expect_error "name already defined" "domain '$other' already exists" clone "${NET[@]}" "$tpl" "$other"
expect_error "malformed MAC" "invalid MAC address '52:54:00:zz:00:01'" clone "${NET[@]}" --mac 52:54:00:zz:00:01 "$tpl" "$N"
expect_error "duplicate MAC (other domain)" "MAC $other_mac is already used" clone "${NET[@]}" --mac "$other_mac" "$tpl" "$N"
expect_error "duplicate MAC (same run)" "MAC 52:54:00:01:02:03 given twice" clone "${NET[@]}" --mac 52:54:00:01:02:03 --mac 52:54:00:01:02:03 "$tpl" "${N}1" "${N}2"
expect_error "size smaller than template" "--size 512.0 MiB is smaller than template" clone "${NET[@]}" --size 512M "$tpl" "$N"
expect_error "unknown pool" "storage pool 'nosuchpool' not found" clone "${NET[@]}" --pool nosuchpool "$tpl" "$N"
expect_error "unknown network" "network 'nosuchnet' not found" clone --network nosuchnet "$tpl" "$N"
expect_error "libvirtd not running" "cannot connect to libvirt at 'qemu:///system\?socket=/nonexistent/libvirt-sock': Failed to connect socket to '/nonexistent/libvirt-sock': No such file or directory" \
  -c 'qemu:///system?socket=/nonexistent/libvirt-sock' clone "${NET[@]}" "$tpl" "$N"
for bad in "${N}<x" "${N}&x" "${N}'x" "${N}/x"; do
  expect_error "name with ${bad: -2:1}" "invalid clone name" clone "${NET[@]}" "$tpl" "$bad"
done
long=$(printf 'x%.0s' $(seq 1 $((64 - ${#PREFIX}))))
expect_error "64-character name" "invalid host name '${PREFIX}${long}' \(RFC 1123\): .*at most 63" clone "${NET[@]}" "$tpl" "${PREFIX}${long}"
expect_error "name given twice" "clone name '$N' given twice" clone "${NET[@]}" "$tpl" "$N" "$N"
expect_error "--linked with --full" "--linked and --full conflict" clone --linked --full "$tpl" "$N"
expect_error "bad --name-pattern" "invalid --name-pattern" clone "${NET[@]}" --count 2 --name-pattern "${PREFIX}x" "$tpl"
chmod 644 "$SCRATCH/notes.txt"
expect_error "world-readable password file" "readable by others" clone "${NET[@]}" --root-password-file "$SCRATCH/notes.txt" "$tpl" "$N"
expect_error "rm a domain vmstamp did not make" "was not made by vmstamp: use --force" rm "$other"
expect_error "rm unknown domain" "domain '${PREFIX}nope' not found" rm "${PREFIX}nope"

# A template in a directory qemu (libvirt-qemu) cannot search, as mktemp -d
# makes it: refused before anything is made, naming the directory and the
# fix, and no ACL is added without --fix-permissions.
mkdir -m 700 "$SCRATCH/private" "$SCRATCH/private/inner"
cp --sparse=always "$tpl" "$SCRATCH/private/inner/t.qcow2"
expect_error "template qemu cannot reach" \
  "qemu runs as user libvirt-qemu and cannot search '$SCRATCH/private', so it cannot open '$SCRATCH/private/inner/t.qcow2': run 'setfacl -m u:libvirt-qemu:x $SCRATCH/private' or give --fix-permissions" \
  clone "${NET[@]}" "$SCRATCH/private/inner/t.qcow2" "$N"
[ -z "$(getfacl -cp "$SCRATCH/private" | grep libvirt-qemu)" ] || fail "template qemu cannot reach: an ACL was added"

# --fix-permissions: search permission for libvirt-qemu on each directory
# that blocked (said in one line each, nothing else changed), and the clone
# starts.
"$VMSTAMP" clone "${NET[@]}" --fix-permissions --description "web <tier> & co" "$SCRATCH/private/inner/t.qcow2" "$N" \
  >"$SCRATCH/out" 2>"$SCRATCH/err" ||
  { cat "$SCRATCH/err" >&2; fail "--fix-permissions: clone failed"; }
for d in "$SCRATCH/private" "$SCRATCH/private/inner"; do
  grep -qx "vmstamp: gave user libvirt-qemu search permission on $d (ACL entry u:libvirt-qemu:x, the mask widened by x alone)" "$SCRATCH/err" ||
    { cat "$SCRATCH/err" >&2; fail "--fix-permissions: no line for $d"; }
  [ "$(getfacl -cp "$d" | grep '^user:libvirt-qemu:')" = "user:libvirt-qemu:--x" ] || fail "--fix-permissions: no search ACL on $d"
  [ "$(stat -c %a "$d")" = 710 ] || fail "--fix-permissions: $d is mode $(stat -c %a "$d"), not 0700 plus the ACL's mask"
done
[ "$(grep -c 'search permission' "$SCRATCH/err")" = 2 ] || fail "--fix-permissions: more than the two directories changed"
# (And --description: what virsh desc and virt-manager show.)
[ "$($V desc "$N")" = "web <tier> & co" ] || fail "--description: virsh desc shows '$($V desc "$N")'"
$V start "$N" >/dev/null || fail "--fix-permissions: the clone does not start"
[ "$($V domstate "$N")" = running ] || fail "--fix-permissions: the clone is not running"
$V destroy "$N" >/dev/null
"$VMSTAMP" -q rm "$N" || fail "--fix-permissions: rm failed"
echo "ok: --fix-permissions: $(grep -c 'search permission' "$SCRATCH/err") directories, the clone started"
checks=$((checks + 1))

# A volume of that name already in the pool: refused, and the file is kept.
touch "$POOL_DIR/${N}.qcow2"
rc=0; "$VMSTAMP" -q clone "${NET[@]}" "$tpl" "$N" 2>"$SCRATCH/err" >/dev/null || rc=$?
[ $rc != 0 ] && grep -q "volume '${N}.qcow2' already exists in pool 'default'" "$SCRATCH/err" \
  || fail "existing volume: $(cat "$SCRATCH/err")"
[ -f "$POOL_DIR/${N}.qcow2" ] || fail "existing volume was deleted"
rm -f "$POOL_DIR/${N}.qcow2"
echo "ok: existing volume: $(cat "$SCRATCH/err")"

# A disk with no Linux on it fails inside the appliance, after the clone
# disks were made: they must be rolled back.
qemu-img create -q -f qcow2 "$SCRATCH/blank.qcow2" 64M
expect_error "template without an OS" "no Linux root filesystem" clone "${NET[@]}" "$SCRATCH/blank.qcow2" "${N}1" "${N}2"

$V undefine "$other" >/dev/null
assert_nothing_left "end"
echo "PASS: clone-errors ($checks cases)"
