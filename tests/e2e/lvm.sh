#!/usr/bin/env bash
# lvm.sh: LVM storage (libvirt 'logical' pools), with real libvirtd and a
# real volume group the test builds on a loop device (and removes, whatever
# happens).
#
# Without the kernel's device-mapper no LV can be made at all; then the
# parts that need none run (refusals, a --full clone whose lvcreate fails
# and leaves nothing, template create from a raw block device), and the
# test ends with exit 77 (skip) naming what did not run.
. "$(dirname "$0")/lib.sh"
start_test

VG=${PREFIX}vg            # the volume group, and the libvirt pool's name
IMG=$SCRATCH/pv.img
LOOP= BLK=

lvm_cleanup() {
  local lv
  $V pool-destroy "$VG" >/dev/null 2>&1 || true
  $V pool-undefine "$VG" >/dev/null 2>&1 || true
  if vgs "$VG" >/dev/null 2>&1; then
    vgchange -an "$VG" >/dev/null 2>&1 || true
    vgremove -f "$VG" >/dev/null 2>&1 || true
  fi
  if [ -n "$LOOP" ]; then
    pvremove -ff -y "$LOOP" >/dev/null 2>&1 || true
    losetup -d "$LOOP" 2>/dev/null || true
  fi
  [ -z "$BLK" ] || losetup -d "$BLK" 2>/dev/null || true
  cleanup
}
trap lvm_cleanup EXIT

command -v vgcreate >/dev/null || { echo "SKIP: lvm2 is not installed (scripts/setup.sh)"; exit 77; }
dm=1
if ! grep -qw device-mapper /proc/misc 2>/dev/null; then
  dm=0
  note "this kernel has no device-mapper: no LV can be made here; running the parts that need none"
fi

tpl=$(fixture debian12)
sum_before=$(sha256sum <"$tpl")

note "volume group $VG on a loop device, pool $VG"
truncate -s 8G "$IMG"
LOOP=$(losetup -f --show "$IMG")
pvcreate -q "$LOOP" >/dev/null 2>&1
vgcreate -q "$VG" "$LOOP" >/dev/null 2>&1
$V pool-define-as "$VG" logical --source-name "$VG" --target "/dev/$VG" >/dev/null
$V pool-start "$VG" >/dev/null

lvs_of() { lvs --noheadings -o lv_name "$VG" 2>/dev/null | awk '{print $1}' | grep -v -x -e tpl -e ttpl -e thin || true; }
assert_no_clone_lvs() {
  local left
  left=$(lvs_of)
  [ -z "$left" ] || fail "$1: LV left behind: $left"
  assert_nothing_left "$1"
  $V pool-refresh "$VG" >/dev/null
  left=$($V vol-list "$VG" | awk '{print $1}' | grep "^$PREFIX" || true)
  [ -z "$left" ] || fail "$1: volume left in pool $VG: $left"
}

N=${PREFIX}c
NET=(--network user)

# ---- what needs no device-mapper --------------------------------------------------
# A linked clone (the default) of a template that is not an LV of the VG.
expect_one_line_error "linked from a file" \
  "template '$tpl' is not a logical volume of volume group '$VG' \(pool '$VG'\).*give --full" \
  clone "${NET[@]}" --pool "$VG" "$tpl" "$N"
assert_no_clone_lvs "linked from a file"
echo "ok: $(cat "$SCRATCH/err")"
expect_one_line_error "--snapshot-size into a dir pool" "--snapshot-size is for linked clones into an LVM" \
  clone "${NET[@]}" --snapshot-size 1G "$tpl" "$N"
echo "ok: $(cat "$SCRATCH/err")"
expect_one_line_error "--snapshot-size with --full" "--snapshot-size is for linked clones" \
  clone "${NET[@]}" --full --snapshot-size 1G --pool "$VG" "$tpl" "$N"
echo "ok: $(cat "$SCRATCH/err")"
expect_one_line_error "an LV name LVM refuses" "clone name 'snapshot1' cannot name a logical volume" \
  clone "${NET[@]}" --full --pool "$VG" "$tpl" snapshot1
echo "ok: $(cat "$SCRATCH/err")"

# template create reads a raw block device as it is (an LV is one).
note "template create --from a raw block device"
qemu-img convert -q -f qcow2 -O raw "$tpl" "$SCRATCH/tpl.raw"
BLK=$(losetup -f --show -r "$SCRATCH/tpl.raw")
"$VMSTAMP" -q template create "${PREFIX}blk" --from "$BLK" >"$SCRATCH/out" 2>"$SCRATCH/err" \
  || { cat "$SCRATCH/err" >&2; fail "template create --from $BLK"; }
"$VMSTAMP" template info --json "${PREFIX}blk" | grep -Eq "\"source\": ?\"$BLK\"" \
  || { "$VMSTAMP" template info --json "${PREFIX}blk" >&2; fail "template info does not name $BLK as the source"; }
"$VMSTAMP" -q template rm "${PREFIX}blk" >/dev/null
echo "ok: template create --from $BLK (a raw block device)"
losetup -d "$BLK"
BLK=

if [ "$dm" = 0 ]; then
  # The whole path up to lvcreate, for real: libvirt's lvcreate fails, the
  # run says so in one line and leaves nothing.
  expect_one_line_error "full clone without device-mapper" "cannot create logical volume '${N}1' in pool '$VG'" \
    clone "${NET[@]}" --full --size 2G --pool "$VG" "$tpl" "${N}1"
  assert_no_clone_lvs "full clone without device-mapper"
  echo "ok: $(cut -c1-160 "$SCRATCH/err")..."
  echo "SKIP: no device-mapper in this kernel: full clones into LVs, thick and thin snapshots, rm and rollback of LVs did not run"
  exit 77
fi

# ---- with device-mapper: the LVs themselves ------------------------------------------
note "template LVs: tpl (plain), a thin pool, ttpl (thin)"
lvcreate -q -y -n thin -L 1G -T "$VG/thin" >/dev/null
$V pool-refresh "$VG" >/dev/null
$V vol-create-as "$VG" tpl 1G >/dev/null
qemu-img convert -q -n -f qcow2 -O raw "$tpl" "/dev/$VG/tpl"
lvcreate -q -y -n ttpl -V 1G -T "$VG/thin" >/dev/null
qemu-img convert -q -n -f qcow2 -O raw "$tpl" "/dev/$VG/ttpl"
$V pool-refresh "$VG" >/dev/null

note "full clones into the pool, grown to 2G, and a linked thin snapshot of a thin template, in one call each"
out=$("$VMSTAMP" clone "${NET[@]}" --full --size 2G --pool "$VG" "$tpl" "${N}f1" "${N}f2")
echo "$out"
grep -q "${N}f1: .*disk /dev/$VG/${N}f1 (full, LV, 2.0G)" <<<"$out" || fail "full clone result: $out"
for n in "${N}f1" "${N}f2"; do
  [ -b "/dev/$VG/$n" ] || fail "$n: no LV /dev/$VG/$n"
  $V dumpxml "$n" | grep -q "<source dev='/dev/$VG/$n'/>" || fail "$n: domain disk is not the LV"
  [ "$(blockdev --getsize64 "/dev/$VG/$n")" -ge $((2 << 30)) ] || fail "$n: LV not grown"
  host=$(gf --ro -a "/dev/$VG/$n" -i cat /etc/hostname)
  [ "$host" = "$n" ] || fail "$n: hostname '$host'"
  mid=$(gf --ro -a "/dev/$VG/$n" -i cat /etc/machine-id)
  [[ "$mid" =~ ^[0-9a-f]{32}$ ]] || fail "$n: machine-id '$mid'"
done

out=$("$VMSTAMP" clone "${NET[@]}" --pool "$VG" --size 2G "$VG/ttpl" "${N}t1")
echo "$out"
grep -q "${N}t1: .*(linked, thin LVM snapshot, 2.0G)" <<<"$out" || fail "thin snapshot result: $out"
[ "$(lvs --noheadings -o origin "$VG/${N}t1" | tr -d ' ')" = ttpl ] || fail "${N}t1 is not a snapshot of ttpl"
[ "$(gf --ro -a "/dev/$VG/${N}t1" -i cat /etc/hostname)" = "${N}t1" ] || fail "${N}t1: hostname"

note "thick snapshot of a plain LV (and its --size refusal)"
expect_one_line_error "thick snapshot grown" "a thick LVM snapshot cannot grow past its origin: give --full" \
  clone "${NET[@]}" --pool "$VG" --size 2G "/dev/$VG/tpl" "${N}k1"
out=$("$VMSTAMP" clone "${NET[@]}" --pool "$VG" --snapshot-size 512M "/dev/$VG/tpl" "${N}k1")
echo "$out"
grep -q "${N}k1: .*(linked, thick LVM snapshot, COW 512M" <<<"$out" || fail "thick snapshot result: $out"
[ "$(lvs --noheadings -o lv_attr "$VG/${N}k1" | tr -d ' ' | cut -c1)" = s ] || fail "${N}k1 is not a thick snapshot"
[ "$(gf --ro -a "/dev/$VG/${N}k1" -i cat /etc/hostname)" = "${N}k1" ] || fail "${N}k1: hostname"

note "an LV of a clone's name is refused, and kept"
lvcreate -q -y -n "${N}x2" -L 8M "$VG" >/dev/null
expect_one_line_error "LV collision" "logical volume '${N}x2' already exists in volume group '$VG'" \
  clone "${NET[@]}" --full --pool "$VG" "$tpl" "${N}x1" "${N}x2"
lvs "$VG/${N}x1" >/dev/null 2>&1 && fail "LV collision: ${N}x1 left behind"
lvs "$VG/${N}x2" >/dev/null 2>&1 || fail "LV collision: removed the LV it did not make"
lvremove -q -y "$VG/${N}x2" >/dev/null

note "kill -9 once the first LV is made: the next vmstamp run removes it"
"$VMSTAMP" -q clone "${NET[@]}" --full --pool "$VG" "$tpl" "${N}y1" "${N}y2" >/dev/null 2>&1 &
vpid=$!
for ((i = 0; i < 600; i++)); do [ -e "/dev/$VG/${N}y1" ] && break; sleep 0.1; done
[ -e "/dev/$VG/${N}y1" ] || fail "kill -9: the first LV never appeared"
kill -9 "$vpid"
wait "$vpid" || true
"$VMSTAMP" rm "${N}nothing" >/dev/null 2>"$SCRATCH/err" || true
grep -q "removed volume $VG/${N}y1" "$SCRATCH/err" || { cat "$SCRATCH/err" >&2; fail "kill -9: recovery did not name the LV"; }
assert_no_clone_lvs "kill -9"

note "rm removes the LVs (thin and thick snapshots included)"
"$VMSTAMP" -q rm "${N}f1" "${N}f2" "${N}t1" "${N}k1"
assert_no_clone_lvs "rm"
[ "$(sha256sum <"$tpl")" = "$sum_before" ] || fail "template file changed"
echo "ok: LVM storage"
