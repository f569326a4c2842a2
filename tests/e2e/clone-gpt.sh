#!/usr/bin/env bash
# clone-gpt.sh: `clone --size` of a disk partitioned as cloud images are:
# GPT written by sfdisk, whose first usable LBA is 2048. `sgdisk -e` keeps
# the last usable LBA as far from the end (size - 2048), so the root
# partition may grow to there and no further (vmstamp took size - 34 and
# parted refused). The image is the debian12 fixture's root filesystem
# (a model guest) copied into partition 1 of such a disk. A sysadmin
# checks: the clone is made, its partition ends at the new last usable
# LBA, the filesystem filled it, and sgdisk -v finds no problem (backup
# header at the end, protective MBR valid).
. "$(dirname "$0")/lib.sh"
start_test
src=$(fixture debian12)
img=$SCRATCH/gpt.raw
truncate -s 1100M "$img"
printf 'label: gpt\nfirst-lba: 2048\n,,L\n' | sfdisk -q "$img" || fail "sfdisk failed"
sgdisk -p "$img" | grep -q "First usable sector is 2048" || fail "sfdisk did not start at 2048 (setup)"
gf <<EOF || fail "cannot copy the root filesystem (setup)"
add $img format:raw
add $src readonly:true
run
copy-device-to-device /dev/sdb1 /dev/sda1 sparse:true
mount /dev/sda1 /
cat /etc/fstab
EOF
tpl=$SCRATCH/gpt.qcow2
qemu-img convert -O qcow2 "$img" "$tpl"
rm -f "$img"

C=${PREFIX}gpt
"$VMSTAMP" -q clone --size 3G "$tpl" "$C" >/dev/null 2>"$SCRATCH/err" || fail "clone --size 3G: $(cat "$SCRATCH/err")"
raw=$SCRATCH/clone.raw
qemu-img convert -O raw "$POOL_DIR/$C.qcow2" "$raw"
sgdisk -v "$raw" >"$SCRATCH/verify" 2>&1 || { cat "$SCRATCH/verify" >&2; fail "sgdisk -v failed on the clone"; }
grep -q "No problems found" "$SCRATCH/verify" || { cat "$SCRATCH/verify" >&2; fail "sgdisk -v found problems"; }
sectors=$(( 3 * 1024 * 1024 * 2 ))
last=$(sgdisk -p "$raw" | sed -n 's/.*last usable sector is \([0-9]*\).*/\1/p')
[ "$last" = $(( sectors - 2048 )) ] || fail "last usable LBA $last, expected $(( sectors - 2048 ))"
end=$(sgdisk -i 1 "$raw" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')
[ "$end" = "$last" ] || fail "partition 1 ends at $end, not at the last usable LBA $last"
blocks=$(gf --ro --format=raw -a "$raw" -m /dev/sda1 -- statvfs / | awk '/^bsize:/ {b = $2} /^blocks:/ {n = $2} END {print b * n}')
[ "$blocks" -gt $(( 2800 * 1024 * 1024 )) ] || fail "the root filesystem is $blocks bytes, not grown to ~3 GiB"
echo "ok: $C: partition 1 ends at LBA $end (the last usable), filesystem $(( blocks / 1024 / 1024 )) MiB, sgdisk -v clean"
rm -f "$raw"
"$VMSTAMP" -q rm "$C"
assert_nothing_left "clone-gpt"
echo "PASS"
