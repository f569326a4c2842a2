#!/usr/bin/env bash
# build-fixtures.sh -- build small, bootable test-guest disk images for vmstamp.
#
# Usage: scripts/build-fixtures.sh [FAMILY...]
#   FAMILY: el7 el9 debian12 ubuntu22 (default: all four)
#
# Prints the absolute path of each requested image on stdout, one per line,
# in argument order.  Progress goes to stderr.
#
# Each image is a 1 GiB qcow2 that boots by itself (SeaBIOS -> syslinux MBR
# -> extlinux -> Debian's stock kernel + initramfs from the host's /boot ->
# busybox userland with our /sbin/init, see scripts/fixture/init.sh), and has
# the /etc layout of the distro it pretends to be, enough for libguestfs
# inspection (virt-inspector) to recognise it.  The per-family recipes are in
# scripts/fixture/<family>.sh, the shared helpers in scripts/fixture/common.sh.
#
# Images are cached in $VMSTAMP_FIXTURE_CACHE (default /var/tmp/vmstamp-fixtures)
# under a directory named after a hash of this script, scripts/fixture/ and the
# kernel; a rerun with nothing to build prints the paths and exits at once.
# Everything is built in a temporary directory and renamed into place, so an
# interrupted build never leaves a partial image in the cache.
#
# Needs (Debian 12), as root: libguestfs-tools libguestfs-xfs qemu-utils
# busybox-static extlinux syslinux-common linux-image-amd64 (its initramfs
# must include lvm2 and xfs: install lvm2 xfsprogs before the kernel, or run
# update-initramfs -u) openssh-client openssl kmod rpm (rpmbuild, for the EL
# images' package database).  Root because it reads /boot/vmlinuz-* and
# stages root-owned files.
# Uses no loop devices and mounts nothing on the host: all partitioning and
# filesystem work happens inside one libguestfs appliance launch.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FIXTURE_DIR="$SCRIPT_DIR/fixture"
SELF="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
CACHE_ROOT=${VMSTAMP_FIXTURE_CACHE:-/var/tmp/vmstamp-fixtures}
ALL_FAMILIES=(el7 el9 debian12 ubuntu22)
DISK_SIZE=1G

log() { printf 'build-fixtures: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# KVM hangs guests on this kind of machine; libguestfs must use TCG.
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}

# ---- arguments ---------------------------------------------------------------
families=("$@")
[ ${#families[@]} -gt 0 ] || families=("${ALL_FAMILIES[@]}")
for f in "${families[@]}"; do
	case " ${ALL_FAMILIES[*]} " in
	*" $f "*) ;;
	*) die "unknown family '$f' (known: ${ALL_FAMILIES[*]})" ;;
	esac
done

# ---- kernel (newest in /boot) and cache key: this script, scripts/fixture/*,
# the kernel -------------------------------------------------------------------
# shellcheck source=fixture/cache.sh
. "$FIXTURE_DIR/cache.sh"
pick_kernel
[ -r "/boot/initrd.img-$KVER" ] || die "no /boot/initrd.img-$KVER"
hash=$(cache_key "$SELF" "$FIXTURE_DIR")
OUT_DIR="$CACHE_ROOT/$hash"

print_paths() {
	local f
	for f in "${families[@]}"; do echo "$OUT_DIR/$f.qcow2"; done
}

# Families (deduplicated) whose image is not in the cache yet.
missing_families() {
	local f seen=" "
	for f in "${families[@]}"; do
		[[ $seen == *" $f "* ]] && continue
		seen+="$f "
		[ -f "$OUT_DIR/$f.qcow2" ] || echo "$f"
	done
}

# Fast path: everything cached.
if [ -z "$(missing_families)" ]; then
	print_paths
	exit 0
fi

# ---- build -------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "must run as root (reads /boot/vmlinuz-*, stages root-owned files)"
for tool in guestfish qemu-img ssh-keygen openssl modinfo flock rpm rpmbuild; do
	command -v "$tool" >/dev/null || die "missing tool: $tool"
done
# The guests boot the host's stock initramfs, which must be able to mount
# an XFS root on LVM on virtio-blk (it is, if lvm2 and xfsprogs were
# installed before the kernel, since MODULES=most).
need=$(lsinitramfs "/boot/initrd.img-$KVER" |
	grep -cE '/xfs\.ko|/ext4\.ko|/virtio_blk\.ko|/dm-mod\.ko|sbin/lvm$' || true)
[ "$need" -ge 5 ] ||
	die "/boot/initrd.img-$KVER lacks xfs/ext4/virtio_blk/dm-mod/lvm (apt-get install lvm2 xfsprogs; update-initramfs -u -k $KVER)"
# Debian ships XFS support for the libguestfs appliance separately.
if [ -d /usr/lib/x86_64-linux-gnu/guestfs/supermin.d ] &&
	! [ -e /usr/lib/x86_64-linux-gnu/guestfs/supermin.d/packages-xfs ]; then
	die "the libguestfs appliance lacks mkfs.xfs (apt-get install libguestfs-xfs)"
fi
for file in /bin/busybox /usr/lib/syslinux/mbr/mbr.bin /usr/lib/syslinux/mbr/gptmbr.bin; do
	[ -r "$file" ] || die "missing $file"
done

[[ $CACHE_ROOT != *[[:space:]]* ]] || die "cache path must not contain blanks (guestfish script)"
mkdir -p "$OUT_DIR"
# One builder at a time per cache; a concurrent run waits and then finds the
# images already built.
exec 9>"$CACHE_ROOT/.lock"
flock 9
mapfile -t todo < <(missing_families)
if [ ${#todo[@]} -eq 0 ]; then
	print_paths
	exit 0
fi

# We hold the lock, so any build directory left here is from a killed run.
rm -rf "$OUT_DIR"/.build.*
WORK=$(mktemp -d "$OUT_DIR/.build.XXXXXX")
# Set VMSTAMP_FIXTURE_KEEP=1 to keep the work directory (staging trees,
# guestfish script build.gf) for debugging.
trap '[ "${VMSTAMP_FIXTURE_KEEP:-}" = 1 ] && log "kept $WORK" || rm -rf "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
log "building ${todo[*]} in $WORK (kernel $KVER)"
start=$(date +%s)

# Root password "template", hashed once per build with a random salt.
PWHASH=$(openssl passwd -6 template)

GF="$WORK/build.gf"
: >"$GF"
letters=(a b c d e f g h)
i=0
for f in "${todo[@]}"; do
	qemu-img create -q -f qcow2 "$WORK/$f.qcow2" "$DISK_SIZE"
	echo "add $WORK/$f.qcow2 format:qcow2" >>"$GF"
done
echo "run" >>"$GF"

# Stage each family's tree and append its guestfish commands.  Each recipe
# runs in a subshell so families cannot leak variables into each other.
for f in "${todo[@]}"; do
	log "staging $f"
	(
		ROOT="$WORK/$f.root"
		DEV="/dev/sd${letters[$i]}"
		FAMILY=$f
		mkdir -p "$ROOT"
		set -E
		trap 'log "error: staging $FAMILY failed: line $LINENO of ${BASH_SOURCE[0]}"' ERR
		# shellcheck source=fixture/common.sh
		. "$FIXTURE_DIR/common.sh"
		# shellcheck disable=SC1090
		. "$FIXTURE_DIR/$f.sh"
		build_family
	)
	i=$((i + 1))
done

log "staged in $(($(date +%s) - start)) s; running guestfish (one appliance launch for ${#todo[@]} disk(s))"
guestfish --rw -f "$GF" </dev/null >&2 ||
	die "guestfish failed (rerun with VMSTAMP_FIXTURE_KEEP=1 to keep $GF)"

# Sanity check, then publish atomically (same filesystem: rename).
# (The EL images are ~110 MiB rather than ~50: mkfs.xfs writes its whole
# 64 MiB log, with non-zero log record headers, so it cannot be sparsified.)
for f in "${todo[@]}"; do
	qemu-img check -q "$WORK/$f.qcow2" || die "$f.qcow2 is corrupt"
	mv -f "$WORK/$f.qcow2" "$OUT_DIR/$f.qcow2"
done
log "built ${todo[*]} in $(($(date +%s) - start)) s"

print_paths
