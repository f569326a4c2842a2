#!/usr/bin/env bash
# publish.sh: publish_repository() writes a repository the stock virt-builder
# installs from. Publishes (a copy of) the debian12 fixture with the test
# helper publish-tool, checks the files, then has the real virt-builder list
# it, refuse it under a wrong checksum, build it as is and build it grown to
# 2G (the expand= partition must take the space), and virt-inspector must
# find Debian in what it built. Needs root and libguestfs; no libvirtd.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
SRC=${SRC:?set SRC to the source tree}
VMSTAMP=${VMSTAMP:?set VMSTAMP to the vmstamp binary}
for tool in virt-builder virt-inspector virt-filesystems virt-index-validate xz qemu-img; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done

# The stock tools use the accelerator vmstamp's probe decided (TCG where KVM hangs).
[ -s /run/vmstamp/accel ] || "$VMSTAMP" doctor >/dev/null || true
export LIBGUESTFS_BACKEND=direct
[ "$(awk '{print $2}' /run/vmstamp/accel 2>/dev/null)" = kvm ] || export LIBGUESTFS_BACKEND_SETTINGS=force_tcg
SCRATCH=/var/tmp/vmstamp-publish-$$
trap '"$VMSTAMP" -q template rm "$NAME" 2>/dev/null; rm -rf "$SCRATCH"' EXIT
mkdir -p "$SCRATCH/repo" "$SCRATCH/config"
# Only our repository: without these virt-builder also reads
# /etc/virt-builder/repos.d, whose sources are on the network.
export XDG_CONFIG_HOME=$SCRATCH/config VIRT_BUILDER_DIRS=$SCRATCH/config XDG_CACHE_HOME=$SCRATCH/cache
NAME=vmst$$-debian12
REPO=$SCRATCH/repo
start=$SECONDS

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "--- $* ($((SECONDS - start)) s)" >&2; }
vb() { # vb INDEX ARGS...: the real virt-builder on our repository only
  local index=$1
  shift
  virt-builder --source "file://$index" --no-check-signature --no-cache --no-network --no-sync "$@"
}

img=$("$SRC/scripts/build-fixtures.sh" debian12 | tail -n 1)
[ -f "$img" ] || fail "fixture debian12 not built"
cp --sparse=always "$img" "$SCRATCH/debian12.qcow2" # never touch the cached file
vsize=$(qemu-img info "$SCRATCH/debian12.qcow2" | sed -n 's/^virtual size: .*(\([0-9]*\) bytes)$/\1/p')

note "vmstamp template create + publish"
"$VMSTAMP" template create "$NAME" --from "$SCRATCH/debian12.qcow2" >/dev/null
TPL_IMAGE=/var/lib/vmstamp/templates/$NAME.qcow2
before=$(sha256sum <"$TPL_IMAGE")
"$VMSTAMP" template publish "$REPO" "$NAME"
cat "$REPO/index"
[ "$(sha256sum <"$TPL_IMAGE")" = "$before" ] || fail "publish changed the template"
virt-index-validate "$REPO/index" || fail "virt-index-validate refuses the index"
files=$(find "$REPO" -mindepth 1 -printf '%f\n' | LC_ALL=C sort | tr '\n' ' ')
[ "$files" = "index $NAME.qcow2.xz " ] || fail "unexpected files in the repository: $files"
field() { sed -n "s/^$1=//p" "$REPO/index"; }
[ "$(field 'checksum\[sha512\]')" = "$(sha512sum <"$REPO/$NAME.qcow2.xz" | cut -d' ' -f1)" ] ||
  fail "checksum[sha512] is not the sha512 of the .xz"
[ "$(field compressed_size)" = "$(stat -c %s "$REPO/$NAME.qcow2.xz")" ] ||
  fail "compressed_size is not the size of the .xz"
[ "$(field size)" = "$vsize" ] || fail "size is not the virtual size ($vsize)"
xz -dc "$REPO/$NAME.qcow2.xz" | cmp - "$TPL_IMAGE" ||
  fail "the .xz does not decompress to the image"

note "virt-builder --list"
list=$(vb "$REPO/index" --list)
echo "$list"
grep -Eq "^$NAME +x86_64 " <<<"$list" || fail "virt-builder --list does not show $NAME"

note "virt-builder with a wrong checksum must refuse"
sed 's/^checksum\[sha512\]=.*/checksum[sha512]=0000000000000000000000000000000000000000000000000000000000000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff/' \
  "$REPO/index" >"$REPO/index.bad"
if out=$(vb "$REPO/index.bad" "$NAME" -o "$SCRATCH/bad.qcow2" --format qcow2 2>&1); then
  fail "virt-builder built from an index with a wrong checksum"
fi
grep -iq checksum <<<"$out" || { echo "$out"; fail "virt-builder failed, but not on the checksum"; }
rm -f "$REPO/index.bad"

note "virt-builder $NAME"
vb "$REPO/index" "$NAME" -o "$SCRATCH/out.qcow2" --format qcow2
[ "$(qemu-img info "$SCRATCH/out.qcow2" | sed -n 's/^file format: //p')" = qcow2 ] ||
  fail "virt-builder did not write qcow2"

note "virt-inspector"
xml=$(virt-inspector -a "$SCRATCH/out.qcow2")
echo "$xml" | sed -n '/<distro>\|<product_name>\|<osinfo>\|<root>/p'
grep -q '<distro>debian</distro>' <<<"$xml" || { echo "$xml"; fail "virt-inspector finds no Debian"; }
rm -f "$SCRATCH/out.qcow2"

note "virt-builder $NAME --size 2G (expand=/dev/sda1)"
vb "$REPO/index" "$NAME" -o "$SCRATCH/big.qcow2" --format qcow2 --size 2G
fs=$(virt-filesystems -a "$SCRATCH/big.qcow2" --filesystems --long --csv)
echo "$fs"
sda1=$(awk -F, '$1 == "/dev/sda1" {print $5}' <<<"$fs")
if ! [[ $sda1 =~ ^[0-9]+$ ]] || ((sda1 <= 1536 * 1024 * 1024)); then
  fail "the root filesystem on /dev/sda1 was not grown (size ${sda1:-none})"
fi

note "done"
echo "PASS: publish (virt-builder installed $NAME from the repository; $((SECONDS - start)) s)"
