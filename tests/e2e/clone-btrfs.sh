#!/usr/bin/env bash
# clone-btrfs.sh: a btrfs root in a named subvolume, as Debian's and
# Ubuntu's installers lay it out: the root in subvolume @ (fstab:
# subvol=@), /home in @home, the default subvolume the top level. The
# files are the debian12 fixture's (a model guest), copied into @. Before,
# vmstamp looked for /etc/fstab at the top level only and refused the
# template ("no Linux root filesystem"). A sysadmin checks, reading the
# clones' disks: two clones of it made and grown (--size), each with its
# host name and machine-id written into @ (not beside it at the top level),
# /home's subvolume untouched, the filesystem grown to the new size; and a
# store template made from it (template create) says where its root is.
. "$(dirname "$0")/lib.sh"
start_test
src=$(fixture debian12)
img=$SCRATCH/btrfs.raw
truncate -s 1200M "$img"
printf 'label: dos\n,,L\n' | sfdisk -q "$img" || fail "sfdisk failed"
gf <<EOF || fail "cannot make the btrfs template (setup)"
add $img format:raw
add $src readonly:true
run
mkfs btrfs /dev/sda1
mount /dev/sda1 /
btrfs-subvolume-create /@
btrfs-subvolume-create /@home
mkdir /src
mount-ro /dev/sdb1 /src
glob cp-a /src/* /@/
umount /src
rmdir /src
mkdir-p /@home/alice
write /@home/alice/notes "alice's notes"
EOF
uuid=$(gf --format=raw -a "$img" -- run : vfs-uuid /dev/sda1)
[ -n "$uuid" ] || fail "no btrfs UUID (setup)"
gf --format=raw -a "$img" <<EOF || fail "cannot write fstab (setup)"
run
mount /dev/sda1 /
write /@/etc/fstab "UUID=$uuid / btrfs defaults,subvol=@ 0 0\nUUID=$uuid /home btrfs defaults,subvol=/@home 0 0\n"
EOF
tpl=$SCRATCH/btrfs.qcow2
qemu-img convert -O qcow2 "$img" "$tpl"
rm -f "$img"

C1=${PREFIX}bt1 C2=${PREFIX}bt2
"$VMSTAMP" -q clone --size 2G "$tpl" "$C1" "$C2" >/dev/null 2>"$SCRATCH/err" || fail "clone: $(cat "$SCRATCH/err")"
ids=''
for c in "$C1" "$C2"; do
  gf --ro -a "$POOL_DIR/$c.qcow2" <<'EOF' | tr -d '\r' >"$SCRATCH/$c.read" || fail "cannot read $c's disk"
run
mount-options subvolid=5 /dev/sda1 /
cat /@/etc/hostname
echo --
cat /@/etc/machine-id
echo --
cat /@home/alice/notes
echo --
is-dir /etc
echo --
statvfs /
EOF
  host=$(awk 'NR == 1' "$SCRATCH/$c.read")
  [ "$host" = "$c" ] || fail "$c: /etc/hostname in @ says '$host'"
  id=$(awk '$0 == "--" {n++; next} n == 1' "$SCRATCH/$c.read")
  [[ $id =~ ^[0-9a-f]{32}$ ]] || fail "$c: machine-id in @ is '$id'"
  ids+="$id "
  [ "$(awk '$0 == "--" {n++; next} n == 2' "$SCRATCH/$c.read")" = "alice's notes" ] || fail "$c: @home changed"
  [ "$(awk '$0 == "--" {n++; next} n == 3' "$SCRATCH/$c.read")" = false ] || fail "$c: an /etc was written at the top level"
  bytes=$(awk '$0 == "--" {n++; next} n == 4' "$SCRATCH/$c.read" | awk '/^bsize:/ {b = $2} /^blocks:/ {k = $2} END {print b * k}')
  [ "$bytes" -gt $(( 1800 * 1024 * 1024 )) ] || fail "$c: the btrfs filesystem is $bytes bytes, not grown to ~2 GiB"
  echo "ok: $c: host name and machine-id in @, @home kept, $(( bytes / 1024 / 1024 )) MiB"
done
[ "$(echo $ids | tr ' ' '\n' | sort -u | wc -l)" = 2 ] || fail "the clones share a machine-id: $ids"
"$VMSTAMP" -q rm "$C1" "$C2"

T=${PREFIX}bt
"$VMSTAMP" -q template create "$T" --from "$tpl" >/dev/null 2>"$SCRATCH/err" || fail "template create: $(cat "$SCRATCH/err")"
"$VMSTAMP" template info "$T" >"$SCRATCH/info" || fail "template info failed"
grep -q "subvol=@" "$SCRATCH/info" || { cat "$SCRATCH/info" >&2; fail "template info does not say the root is in subvolume @"; }
echo "ok: template create found the root in @: $(grep -m1 'subvol=@' "$SCRATCH/info")"
"$VMSTAMP" -q template rm "$T"
assert_nothing_left "clone-btrfs"
echo "PASS"
