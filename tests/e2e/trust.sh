#!/usr/bin/env bash
# trust.sh: root vmstamp is not steered by domain metadata, which anyone
# who may define domains (the libvirt group, not root) can write (issue 20).
#
#  - A user in the libvirt group defines, on a libvirt host whose socket
#    lets that group in (scripts/testhost.sh with TESTHOST_GROUP), domains
#    whose vmstamp metadata is bound to their own UUID and names a
#    root-only decoy file as the clone's disk: not among their devices, and
#    among them but in no pool. `vmstamp rm`, `fleet apply --prune` and
#    `fleet destroy` undefine them and keep the decoy, one warning line
#    each saying why.
#  - A copy of a real clone (virt-clone --original): not a vmstamp clone
#    for list and rm (one line, nothing removed); rm --force undefines it
#    and keeps every disk; the original clone still has its disk and is
#    removed with it afterwards.
. "$(dirname "$0")/lib.sh"
start_test
TH=$SRC/scripts/testhost.sh
DIR=$SCRATCH/host2
USR=vmsthostile
made_user=
th_cleanup() {
  [ -e "$DIR/.testhost" ] && "$TH" stop "$DIR" >&2 || true
  [ -z "$made_user" ] || userdel "$USR" 2>/dev/null || true
}
trap 'th_cleanup; cleanup' EXIT

getent group libvirt >/dev/null || fail "no group libvirt (libvirt-daemon-system makes it)"
if ! id "$USR" >/dev/null 2>&1; then
  useradd -M -d /nonexistent -s /bin/sh -G libvirt "$USR"
  made_user=1
fi
U2=$(TESTHOST_GROUP=libvirt "$TH" start "$DIR" | tail -n 1)
# as_user CMD...: run CMD as the libvirt-group user.
as_user() { su -s /bin/sh "$USR" -c "$*"; }
as_user "virsh -q -c '$U2' list --all" >/dev/null || fail "the libvirt group cannot use the test host"
V2="virsh -q -c $U2"

# The decoy: a root-only file in a root-only directory.
mkdir -m 700 "$SCRATCH/decoy"
echo "root:x:0:0::/root:/bin/sh" >"$SCRATCH/decoy/passwd"
chmod 600 "$SCRATCH/decoy/passwd"
decoy=$SCRATCH/decoy/passwd
as_user "cat '$decoy'" >/dev/null 2>&1 && fail "the user can read the decoy"

# evil_xml NAME UUID DEVICE_DISK [FLEET]: a domain as the user writes it,
# with vmstamp metadata bound to its UUID naming the decoy as its disk.
evil_xml() {
  local dev='' fleet=''
  [ -z "$3" ] || dev="<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$3'/><target dev='vda' bus='virtio'/></disk>"
  [ -z "${4:-}" ] || fleet="<vmstamp:fleet name='$4' group='other-%02d' plan='/nonexistent.yaml' hash='0'/>"
  cat <<EOF
<domain type='qemu'>
  <name>$1</name>
  <uuid>$2</uuid>
  <metadata>
    <vmstamp:clone xmlns:vmstamp="http://vmstamp.org/xmlns/clone/1.0">
      <vmstamp:template>/var/tmp/t.qcow2</vmstamp:template>
      <vmstamp:uuid>$2</vmstamp:uuid>
      <vmstamp:disk>$decoy</vmstamp:disk>
      $fleet
    </vmstamp:clone>
  </metadata>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>$dev</devices>
</domain>
EOF
}
# define_as_user NAME DEVICE_DISK [FLEET]
define_as_user() {
  local u
  u=$(cat /proc/sys/kernel/random/uuid)
  evil_xml "$1" "$u" "$2" "${3:-}" >"$SCRATCH/$1.xml"
  chmod 644 "$SCRATCH/$1.xml"
  as_user "virsh -q -c '$U2' define '$SCRATCH/$1.xml'" >/dev/null || fail "the user cannot define $1"
}
# rm_keeps LABEL NAME PATTERN: root's vmstamp rm undefines NAME, keeps the
# decoy, and says why in one warning line matching PATTERN.
rm_keeps() {
  local rc=0
  "$VMSTAMP" -c "$U2" rm "$2" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
  [ -f "$decoy" ] || fail "$1: vmstamp rm deleted the decoy $decoy"
  [ "$rc" = 0 ] || fail "$1: rm failed: $(cat "$SCRATCH/err")"
  [ "$(grep -c 'warning:' "$SCRATCH/err")" = 1 ] || { cat "$SCRATCH/err" >&2; fail "$1: not one warning line"; }
  grep -Eq -- "$3" "$SCRATCH/err" || fail "$1: '$(cat "$SCRATCH/err")' does not match /$3/"
  $V2 dominfo "$2" >/dev/null 2>&1 && fail "$1: $2 still defined"
  echo "ok: $1: $(grep warning: "$SCRATCH/err")"
}

note "metadata naming a disk the domain does not have"
define_as_user "${PREFIX}evil1" ""
rm_keeps "disk not among the devices" "${PREFIX}evil1" "kept '$decoy': its vmstamp metadata names it, but the domain does not use it"

note "metadata and devices naming a host file no pool holds"
define_as_user "${PREFIX}evil2" "$decoy"
rm_keeps "disk in no pool" "${PREFIX}evil2" "kept disk '$decoy': no libvirt pool holds it"

note "fleet apply --prune and fleet destroy of domains that claim the fleet"
FLEET=${PREFIX}f
tpl=$(fixture debian12)
cat >"$SCRATCH/plan.yaml" <<EOF
fleet: $FLEET
template: $tpl
hosts:
  - {name: h2, uri: "$U2"}
groups:
  - {name: ${PREFIX}w-%02d, count: 1, network: user, memory: 256M}
EOF
# fleet_keeps LABEL ARGS...: the fleet command succeeds, the decoy is kept
# and a warning line says so.
fleet_keeps() {
  local label=$1 rc=0
  shift
  "$VMSTAMP" fleet "$@" "$SCRATCH/plan.yaml" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
  [ -f "$decoy" ] || fail "$label deleted the decoy $decoy"
  [ "$rc" = 0 ] || fail "$label failed: $(cat "$SCRATCH/err")"
  grep -q "warning: .*kept disk '$decoy': no libvirt pool holds it" "$SCRATCH/err" ||
    fail "$label: no line about the decoy: $(cat "$SCRATCH/err")"
  echo "ok: $label kept the decoy: $(grep warning: "$SCRATCH/err")"
}
define_as_user "${PREFIX}evil3" "$decoy" "$FLEET"
fleet_keeps "fleet apply --prune" apply --prune
$V2 dominfo "${PREFIX}evil3" >/dev/null 2>&1 && fail "apply --prune left ${PREFIX}evil3"
$V2 dominfo "${PREFIX}w-01" >/dev/null || fail "apply --prune did not make ${PREFIX}w-01"
define_as_user "${PREFIX}evil4" "$decoy" "$FLEET"
fleet_keeps "fleet destroy" destroy
for d in evil4 w-01; do
  $V2 dominfo "${PREFIX}$d" >/dev/null 2>&1 && fail "fleet destroy left ${PREFIX}$d"
done
rm -f /var/lib/vmstamp/fleet/"$FLEET".known_hosts

note "a copy of a real clone (virt-clone --original)"
C=${PREFIX}orig
K=${PREFIX}copy
"$VMSTAMP" -q clone "$tpl" "$C" >/dev/null
cdisk=$POOL_DIR/$C.qcow2
[ -f "$cdisk" ] || fail "clone made no $cdisk"
virt-clone -q --connect "$URI" --original "$C" --name "$K" --file "$POOL_DIR/$K.qcow2" >/dev/null 2>&1 ||
  fail "virt-clone failed"
"$VMSTAMP" list | awk '{print $1}' | grep -qx "$K" && fail "list shows the copy as a vmstamp clone"
"$VMSTAMP" list --all | grep "^$K " | grep -q "not vmstamp" || fail "list --all does not say the copy is not vmstamp's"
expect_one_line_error "rm of the copy" "domain '$K' has vmstamp metadata that is not bound to it \\(a copy .*use --force" rm "$K"
[ -f "$cdisk" ] || fail "rm of the copy deleted the original's disk"
$V dominfo "$K" >/dev/null || fail "the refused rm undefined the copy"
echo "ok: rm of the copy refused: $(cat "$SCRATCH/err")"
"$VMSTAMP" -q rm --force "$K" || fail "rm --force of the copy failed"
[ -f "$cdisk" ] || fail "rm --force of the copy deleted the original's disk"
[ -f "$POOL_DIR/$K.qcow2" ] || fail "rm --force deleted the copy's disk (a foreign domain's disks are kept)"
$V dominfo "$K" >/dev/null 2>&1 && fail "rm --force left the copy defined"
$V vol-delete --pool default "$K.qcow2" >/dev/null
echo "ok: rm --force of the copy undefined it, every disk kept"
"$VMSTAMP" -q rm "$C" || fail "rm of the original failed"
[ -e "$cdisk" ] && fail "rm of the original kept its disk"
echo "ok: the original removed with its disk"
assert_nothing_left "trust"
echo "PASS"
