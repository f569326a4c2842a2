#!/usr/bin/env bash
# build-installer-iso.sh -- build a small RHEL-family-like installer DVD for
# vmstamp's kickstart tests.
#
# Usage: scripts/build-installer-iso.sh
#
# Prints the absolute path of the ISO on stdout; progress goes to stderr.
#
# The ISO (volume id VMSTAMP-TESTDIST-1) is laid out like a RHEL DVD:
#   .treeinfo                  [general], [images-x86_64], [stage2]
#   images/pxeboot/vmlinuz     Debian's stock kernel (the host's /boot)
#   images/pxeboot/initrd.img  OUR busybox installer (scripts/installer/),
#                              not the Debian initramfs
#   images/install.img         placeholder stage2 image
#   images/payload.tar.gz      the el9 fixture's root tree (what gets installed)
#   isolinux/                  isolinux.bin, ldlinux.c32, isolinux.cfg
# and is El Torito (and isohybrid) bootable.
#
# The installer understands the subset of kickstart vmstamp relies on; see
# scripts/installer/installer.sh for the exact list.  vmstamp boots it with
# -kernel/-initrd, appending a second cpio with /ks.cfg to the initrd and
# "inst.ks=file:/ks.cfg inst.stage2=hd:LABEL=VMSTAMP-TESTDIST-1" to the
# kernel command line.
#
# Cached in $VMSTAMP_FIXTURE_CACHE (default /var/tmp/vmstamp-fixtures) under a
# hash of this script, scripts/installer/*, scripts/fixture/* and the kernel;
# a rerun with the ISO present prints its path at once.  Built in a temporary
# directory and renamed into place, under a lock.
#
# Needs (Debian 12), as root: xorriso isolinux syslinux-common extlinux
# busybox-static cpio kmod util-linux (sfdisk) xfsprogs e2fsprogs
# linux-image-amd64, plus what scripts/fixture/el9.sh needs (openssh-client
# openssl rpm).

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FIXTURE_DIR="$SCRIPT_DIR/fixture"
INSTALLER_DIR="$SCRIPT_DIR/installer"
SELF="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
CACHE_ROOT=${VMSTAMP_FIXTURE_CACHE:-/var/tmp/vmstamp-fixtures}
VOLID=VMSTAMP-TESTDIST-1

log() { printf 'build-installer-iso: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---- kernel (newest in /boot, as build-fixtures.sh picks it) and cache key:
# this script, scripts/installer/*, scripts/fixture/*, the kernel ---------------
# shellcheck source=fixture/cache.sh
. "$FIXTURE_DIR/cache.sh"
pick_kernel
[ -d "/lib/modules/$KVER" ] || die "no /lib/modules/$KVER"
hash=$(cache_key "$SELF" "$INSTALLER_DIR" "$FIXTURE_DIR")
OUT_DIR="$CACHE_ROOT/$hash"
ISO="$OUT_DIR/testdist.iso"

# Fast path: already built.
if [ -f "$ISO" ]; then
	echo "$ISO"
	exit 0
fi

# ---- checks --------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "must run as root (reads /boot/vmlinuz-*, stages root-owned files)"
for tool in xorriso cpio gzip modinfo flock ldd sfdisk mkfs.xfs mkfs.ext4 extlinux \
	ssh-keygen openssl rpm rpmbuild; do
	command -v "$tool" >/dev/null || die "missing tool: $tool"
done
for file in /bin/busybox /usr/lib/ISOLINUX/isolinux.bin /usr/lib/ISOLINUX/isohdpfx.bin \
	/usr/lib/syslinux/modules/bios/ldlinux.c32 /usr/lib/syslinux/mbr/mbr.bin \
	"/boot/initrd.img-$KVER"; do
	[ -r "$file" ] || die "missing $file (apt-get install isolinux syslinux-common busybox-static)"
done

mkdir -p "$OUT_DIR"
exec 9>"$CACHE_ROOT/.lock-installer-iso"
flock 9
if [ -f "$ISO" ]; then # built by a concurrent run while we waited
	echo "$ISO"
	exit 0
fi
rm -rf "$OUT_DIR"/.iso-build.*
WORK=$(mktemp -d "$OUT_DIR/.iso-build.XXXXXX")
# VMSTAMP_FIXTURE_KEEP=1 keeps the work directory for debugging.
trap '[ "${VMSTAMP_FIXTURE_KEEP:-}" = 1 ] && log "kept $WORK" || rm -rf "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
start=$(date +%s)
log "building $ISO (kernel $KVER)"

DVD="$WORK/dvd"      # becomes the ISO
INITRD="$WORK/initrd" # becomes images/pxeboot/initrd.img
mkdir -p "$DVD/images/pxeboot" "$DVD/isolinux" "$INITRD"

# ---- payload: the el9 fixture's root tree ----------------------------------------
# Reuse scripts/fixture/el9.sh as is: build_family stages $ROOT, packs it into
# $ROOT.tar and appends guestfish commands to $GF (which we simply discard).
# The root password is locked ("!!", as anaconda leaves it without rootpw);
# the installer writes the kickstart's rootpw.
log "staging the el9 payload"
# shellcheck disable=SC2034 # GF DEV FAMILY PWHASH are read by the sourced recipes
(
	ROOT="$WORK/payload"
	GF="$WORK/discard.gf"
	DEV=/dev/sda
	FAMILY=el9
	PWHASH='!!'
	mkdir -p "$ROOT"
	# shellcheck source=fixture/common.sh
	. "$FIXTURE_DIR/common.sh"
	# shellcheck source=fixture/el9.sh
	. "$FIXTURE_DIR/el9.sh"
	build_family
	# The installer writes these from the kickstart and the new disk.
	rm -f "$ROOT/root/anaconda-ks.cfg"
	pack_root
)
gzip -1 -c "$WORK/payload.tar" >"$DVD/images/payload.tar.gz"
rm -rf "$WORK/payload" "$WORK/payload.tar"

# ---- installer initrd ------------------------------------------------------------
log "staging the installer initrd"
for d in bin sbin usr/bin usr/sbin usr/share etc lib/modules proc sys dev run tmp mnt/iso mnt/sysimage; do
	mkdir -p "$INITRD/$d"
done
install -m 0755 /bin/busybox "$INITRD/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$INITRD/bin/$applet" ] || ln -s busybox "$INITRD/bin/$applet"
done
install -m 0755 "$INSTALLER_DIR/init" "$INITRD/init"
install -m 0755 "$INSTALLER_DIR/installer.sh" "$INITRD/installer.sh"
install -m 0644 /usr/lib/syslinux/mbr/mbr.bin "$INITRD/usr/share/mbr.bin"
[ -r /etc/mke2fs.conf ] && install -m 0644 /etc/mke2fs.conf "$INITRD/etc/mke2fs.conf"
echo "root:x:0:0:root:/root:/bin/sh" >"$INITRD/etc/passwd"
echo "root:x:0:" >"$INITRD/etc/group"

# Dynamically linked tools from the host, in /usr/sbin (ahead of busybox in
# the installer's PATH), with every shared library ldd reports.
copy_with_libs() {
	local bin=$1 lib
	install -m 0755 "$(command -v "$bin")" "$INITRD/usr/sbin/$bin"
	for lib in $(ldd "$(command -v "$bin")" | grep -o '/[^ ]*'); do
		[ -e "$INITRD$lib" ] && continue
		mkdir -p "$INITRD$(dirname "$lib")"
		cp -L "$lib" "$INITRD$lib"
	done
}
for bin in sfdisk blkid mkfs.xfs mkfs.ext4 extlinux; do
	copy_with_libs "$bin"
done

# Kernel modules, flattened into /lib/modules, with /lib/modules/load.order
# listing them dependencies first (modinfo -F depends, plus the crc32c
# soft dependency of ext4/libcrc32c).  Missing optional modules are skipped
# (built into another kernel, say).
WANTED_MODULES="crc32c_generic crc32c_intel virtio_pci virtio_blk virtio_scsi
	scsi_mod sd_mod ata_piix ata_generic ahci sr_mod cdrom isofs ext4 xfs"
declare -A seen=()
: >"$INITRD/lib/modules/load.order"
add_module() {
	local m=${1//-/_} dep path
	[ -n "${seen[$m]:-}" ] && return 0
	seen[$m]=1
	path=$(modinfo -k "$KVER" -n "$m" 2>/dev/null) || { log "note: no module $m"; return 0; }
	case "$path" in /*.ko*) ;; *) return 0 ;; esac # (builtin)
	for dep in $(modinfo -k "$KVER" -F depends "$m" | tr ',' ' '); do
		add_module "$dep"
	done
	case "$path" in
	*.ko) cp "$path" "$INITRD/lib/modules/$m.ko" ;;
	*.ko.xz) xz -dc "$path" >"$INITRD/lib/modules/$m.ko" ;;
	*.ko.zst) zstd -qdc "$path" >"$INITRD/lib/modules/$m.ko" ;;
	*.ko.gz) gzip -dc "$path" >"$INITRD/lib/modules/$m.ko" ;;
	esac
	echo "$m" >>"$INITRD/lib/modules/load.order"
}
for m in $WANTED_MODULES; do add_module "$m"; done

(cd "$INITRD" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -6 >"$DVD/images/pxeboot/initrd.img"
install -m 0644 "/boot/vmlinuz-$KVER" "$DVD/images/pxeboot/vmlinuz"

# ---- stage2 placeholder, .treeinfo, isolinux ----------------------------------------
echo "vmstamp testdist stage2 placeholder (the installer is all in initrd.img)" \
	>"$DVD/images/install.img"
cat >"$DVD/.treeinfo" <<EOF
[header]
type = productmd.treeinfo
version = 1.2

[general]
name = vmstamp testdist
family = vmstamp testdist
version = 1
arch = x86_64
platforms = x86_64
packagedir = 
repository = .

[tree]
arch = x86_64
build_timestamp = $(date +%s)
platforms = x86_64
variants = 

[release]
name = vmstamp testdist
short = testdist
version = 1

[images-x86_64]
kernel = images/pxeboot/vmlinuz
initrd = images/pxeboot/initrd.img

[stage2]
mainimage = images/install.img
EOF
install -m 0644 /usr/lib/ISOLINUX/isolinux.bin "$DVD/isolinux/isolinux.bin"
install -m 0644 /usr/lib/syslinux/modules/bios/ldlinux.c32 "$DVD/isolinux/ldlinux.c32"
cat >"$DVD/isolinux/isolinux.cfg" <<EOF
# vmstamp testdist boot menu.  Add inst.ks=... to install unattended.
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 30
LABEL linux
  MENU LABEL Install vmstamp testdist 1
  KERNEL /images/pxeboot/vmlinuz
  INITRD /images/pxeboot/initrd.img
  APPEND inst.stage2=hd:LABEL=$VOLID console=ttyS0,115200
EOF

# ---- the ISO ---------------------------------------------------------------------------
log "writing the ISO"
xorriso -as mkisofs -quiet -o "$WORK/testdist.iso" -V "$VOLID" -J -R \
	-isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin \
	-b isolinux/isolinux.bin -c isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table "$DVD" >"$WORK/xorriso.log" 2>&1 ||
	{ cat "$WORK/xorriso.log" >&2; die "xorriso failed"; }
mv -f "$WORK/testdist.iso" "$ISO"
log "built in $(($(date +%s) - start)) s"
echo "$ISO"
