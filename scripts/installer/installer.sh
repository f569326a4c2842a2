#!/bin/sh
# shellcheck disable=SC1007,SC2015,SC2013 # "a= b="; "a && b || fail"; words of /proc/cmdline
# vmstamp testdist installer: a tiny, busybox-based stand-in for anaconda.
#
# Run by /init (scripts/installer/init) inside the installer initrd built by
# scripts/build-installer-iso.sh.  It installs the payload from the DVD
# (images/payload.tar.gz, the el9 fixture's root tree) onto the first disk,
# driven by a kickstart file, the way vmstamp drives anaconda:
#
#   kernel command line
#     inst.ks=file:/PATH  (or ks=)   kickstart inside the initrd (vmstamp
#                                    appends a cpio holding /ks.cfg)
#     inst.stage2=hd:LABEL=VOLID     the DVD (also inst.repo=, stage2=);
#                                    /dev/sr*, /dev/vd*, /dev/sd* are scanned
#                                    for an ISO 9660 volume with that label
#
#   kickstart commands
#     text graphical cmdline skipx firstboot eula install cdrom harddrive
#     url repo selinux firewall services authselect auth authconfig reqpart
#     network (except --hostname)            accepted, no effect
#     lang L                    /etc/locale.conf
#     keyboard [--vckeymap=K|--xlayouts=K|K] /etc/vconsole.conf
#     timezone TZ [--utc...]    /etc/localtime -> ../usr/share/zoneinfo/TZ
#     rootpw --iscrypted HASH | --plaintext PW | PW  [--lock]   /etc/shadow
#     network --hostname=H      /etc/hostname
#     ignoredisk --only-use=D   install on /dev/D (if it exists)
#     zerombr, clearpart --all|--none [--initlabel] [--drives=...]
#     part / --fstype=xfs|ext4 [--size=MiB] [--grow]
#     part /boot [--fstype=ext4|xfs] [--size=MiB]
#     part swap --size=MiB
#     autopart [--type=...] [--fstype=xfs|ext4]
#     bootloader [--append="..."] [--location=mbr|none] [...]
#     poweroff shutdown halt reboot
#     %packages ... %end        ignored (the payload is fixed)
#     %pre ... %end             run in the installer before partitioning
#     %post [--nochroot] [--interpreter=P] [--log=F] [--erroronfail] ... %end
#                               run chrooted into the installed system
#                               (--nochroot: in the installer, with the new
#                               system mounted at /mnt/sysimage)
#   Anything else is an error: "INSTALLER: error: ..." and nothing is written.
#
# Disk layout (always MBR, like an anaconda BIOS install without LVM):
#   1  /boot   ext4 (default 512 MiB, part /boot can change it), bootable;
#              extlinux lives here, syslinux mbr.bin in the MBR
#   2  swap    only if "part swap" asks for it
#   n  /       the fstype of "part /" (autopart: xfs), the rest of the disk
#              or --size MiB
# autopart does NOT create LVM (no lvm tools in the initrd): it makes the
# same plain layout with an xfs root.  The installed system boots with
# root=UUID=... (Debian's initramfs, as the fixtures do).
#
# Progress is printed as "INSTALLER: ..." lines on the console.  On any error
# this script exits non-zero and /init powers the machine off.

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
set -f # kickstart words must never be glob-expanded (set +f after parsing)

SYSROOT=/mnt/sysimage
ISO_MNT=/mnt/iso
KS_STATE=/run/ks # parsed kickstart sections (scripts) live here

say() { echo "INSTALLER: $*"; }
fail() {
	echo "INSTALLER: error: $*"
	echo "$*" >/run/installer.failed
	cleanup_mounts
	exit 1
}
cleanup_mounts() {
	for m in $SYSROOT/dev $SYSROOT/proc $SYSROOT/sys $SYSROOT/boot $SYSROOT $ISO_MNT; do
		grep -q " $m " /proc/mounts 2>/dev/null && umount "$m" 2>/dev/null
	done
	sync
}
uptime_s() { cut -d. -f1 /proc/uptime; }

say "vmstamp testdist 1 installer starting"
T0=$(uptime_s)
mkdir -p "$KS_STATE" "$SYSROOT" "$ISO_MNT"

# ---- kernel modules ------------------------------------------------------------
# load.order lists the modules dependencies first; modules whose hardware is
# absent load fine, modules the CPU cannot use (crc32c_intel) fail harmlessly.
while read -r m; do
	insmod "/lib/modules/$m.ko" 2>/dev/null
done </lib/modules/load.order

# ---- kernel command line -------------------------------------------------------
KS_ARG= KS_NAME= STAGE2_ARG=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	inst.ks=* | ks=*) KS_ARG=${arg#*=} KS_NAME=${arg%%=*} ;;
	inst.stage2=* | stage2=* | inst.repo=* | repo=*) STAGE2_ARG=${arg#*=} ;;
	esac
done
[ -n "$KS_ARG" ] || fail "no inst.ks= on the kernel command line (interactive installs are not supported)"
case "$KS_ARG" in
file:/*) KS=${KS_ARG#file:} ;;
/*) KS=$KS_ARG ;;
*) fail "unsupported kickstart location '$KS_ARG' (only file:/PATH in the initrd)" ;;
esac
[ -f "$KS" ] || fail "kickstart $KS not found in the initrd"
say "kickstart: $KS (from $KS_NAME=)"

# ---- parse the kickstart ---------------------------------------------------------
# Settings, filled in by the commands below.
KS_LANG= KS_KEYMAP= KS_TZ= KS_HOSTNAME= KS_ROOTHASH= KS_ROOTLOCK=
KS_CLEAR= KS_DISK=
ROOT_FS= ROOT_SIZE= ROOT_GROW= BOOT_FS=ext4 BOOT_SIZE=512 SWAP_SIZE=
BL_APPEND= BL_NONE= KS_END=poweroff
NPOST=0 NPRE=0

# Split the current line into "$@" with shell quoting rules ("..." and '...'
# group words) but no expansion: $, ` and \ are escaped first.  A line with
# unbalanced quotes is an error (checked in a subshell: a syntax error in
# eval would end the shell).
split_line() {
	esc=$(printf '%s\n' "$1" | sed 's/[$`\\]/\\&/g')
	(eval "set -- $esc") 2>/dev/null || return 1
	WORDS_CMD="set -- $esc"
}

# "--opt=value" or "--opt value": value of option $1 given "$2" "$3".
# Sets OPTVAL and OPTSHIFT (how many words the option used).
optval() {
	case "$2" in
	"$1"=*) OPTVAL=${2#*=} OPTSHIFT=1 ;;
	*) OPTVAL=$3 OPTSHIFT=2 ;;
	esac
}

cmd_rootpw() {
	mode=plaintext pw=
	while [ $# -gt 0 ]; do
		case "$1" in
		--iscrypted) mode=crypted ;;
		--plaintext) mode=plaintext ;;
		--lock) KS_ROOTLOCK=1 ;;
		--allow-ssh) ;;
		--*) fail "line $LN: rootpw: unknown option $1" ;;
		*) [ -z "$pw" ] || fail "line $LN: rootpw: more than one password"; pw=$1 ;;
		esac
		shift
	done
	if [ -z "$pw" ]; then
		[ -n "$KS_ROOTLOCK" ] || fail "line $LN: rootpw: no password"
		KS_ROOTHASH='!!'
	elif [ $mode = crypted ]; then
		KS_ROOTHASH=$pw
	else
		KS_ROOTHASH=$(mkpasswd -m sha512 "$pw") && [ -n "$KS_ROOTHASH" ] ||
			fail "line $LN: rootpw: cannot hash the password"
	fi
	case "$KS_ROOTHASH" in *:* | *"
"*) fail "line $LN: rootpw: invalid hash" ;; esac
}

cmd_part() {
	[ $# -ge 1 ] || fail "line $LN: part: no mount point"
	mnt=$1 fs= size= grow=
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--fstype | --fstype=*) optval --fstype "$@"; fs=$OPTVAL; shift $OPTSHIFT; continue ;;
		--size | --size=*) optval --size "$@"; size=$OPTVAL; shift $OPTSHIFT; continue ;;
		--grow) grow=1 ;;
		--asprimary | --ondisk=* | --ondrive=* | --maxsize=* | --label=* | --fsoptions=*) ;;
		--ondisk | --ondrive | --maxsize | --label | --fsoptions) shift ;;
		*) fail "line $LN: part: unsupported option $1" ;;
		esac
		shift
	done
	case "$size" in '' | *[!0-9]*) [ -z "$size" ] || fail "line $LN: part: bad --size '$size'" ;; esac
	case "$mnt" in
	/)
		[ -z "$ROOT_FS" ] || fail "line $LN: more than one root partition"
		ROOT_FS=${fs:-xfs} ROOT_SIZE=$size ROOT_GROW=$grow
		[ -n "$size" ] || ROOT_GROW=1
		;;
	/boot)
		BOOT_FS=${fs:-ext4}
		[ -z "$size" ] || BOOT_SIZE=$size
		;;
	swap)
		SWAP_SIZE=${size:-512}
		;;
	*) fail "line $LN: part $mnt: only /, /boot and swap are supported" ;;
	esac
	for f in ${ROOT_FS:-xfs} $BOOT_FS; do
		case "$f" in xfs | ext4) ;; *) fail "line $LN: part: unsupported --fstype $f (xfs, ext4)" ;; esac
	done
}

cmd_autopart() {
	[ -z "$ROOT_FS" ] || fail "line $LN: autopart together with part /"
	ROOT_FS=xfs ROOT_GROW=1
	while [ $# -gt 0 ]; do
		case "$1" in
		--fstype | --fstype=*) optval --fstype "$@"; ROOT_FS=$OPTVAL; shift $OPTSHIFT; continue ;;
		--type | --type=*) optval --type "$@"; shift $OPTSHIFT; continue ;; # plain layout always
		--nohome | --noswap | --nolvm | --encrypted) ;;
		*) fail "line $LN: autopart: unsupported option $1" ;;
		esac
		shift
	done
	case "$ROOT_FS" in xfs | ext4) ;; *) fail "line $LN: autopart: unsupported --fstype $ROOT_FS" ;; esac
}

cmd_bootloader() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--append | --append=*) optval --append "$@"; BL_APPEND=$OPTVAL; shift $OPTSHIFT; continue ;;
		--location | --location=*)
			optval --location "$@"; shift $OPTSHIFT
			case "$OPTVAL" in none) BL_NONE=1 ;; mbr | partition | boot) ;; *) fail "line $LN: bootloader: bad --location $OPTVAL" ;; esac
			continue
			;;
		--boot-drive=* | --driveorder=* | --timeout=* | --password=* | --iscrypted | --md5pass=* | \
			--leavebootorder | --nombr | --extlinux | --disabled) ;;
		--boot-drive | --driveorder | --timeout | --password | --md5pass) shift ;;
		*) fail "line $LN: bootloader: unsupported option $1" ;;
		esac
		shift
	done
	case "$BL_APPEND" in *"
"*) fail "line $LN: bootloader: bad --append" ;; esac
}

# One kickstart command line.
ks_command() {
	cmd=$1
	shift
	case "$cmd" in
	text | graphical | cmdline | skipx | firstboot | eula | install | cdrom | harddrive | url | repo | \
		selinux | firewall | services | authselect | auth | authconfig | reqpart | zfcp | logging) ;;
	lang) [ $# -ge 1 ] || fail "line $LN: lang: no language"; KS_LANG=$1 ;;
	keyboard)
		while [ $# -gt 0 ]; do
			case "$1" in
			--vckeymap | --vckeymap=*) optval --vckeymap "$@"; KS_KEYMAP=$OPTVAL; shift $OPTSHIFT; continue ;;
			--xlayouts | --xlayouts=*) optval --xlayouts "$@"; [ -n "$KS_KEYMAP" ] || KS_KEYMAP=${OPTVAL%%,*}; shift $OPTSHIFT; continue ;;
			--switch=*) ;;
			--*) fail "line $LN: keyboard: unsupported option $1" ;;
			*) KS_KEYMAP=$1 ;;
			esac
			shift
		done
		;;
	timezone)
		for a in "$@"; do
			case "$a" in
			--utc | --isUtc | --nontp | --ntpservers=*) ;;
			--*) fail "line $LN: timezone: unsupported option $a" ;;
			*) KS_TZ=$a ;;
			esac
		done
		case "$KS_TZ" in '' | *..* | /*) fail "line $LN: timezone: bad or missing zone '$KS_TZ'" ;; esac
		;;
	rootpw) cmd_rootpw "$@" ;;
	network)
		for a in "$@"; do
			case "$a" in --hostname=*) KS_HOSTNAME=${a#*=} ;; esac
		done
		while [ $# -gt 0 ]; do
			[ "$1" = --hostname ] && KS_HOSTNAME=$2
			shift
		done
		case "$KS_HOSTNAME" in *[!A-Za-z0-9.-]*) fail "line $LN: network: bad hostname '$KS_HOSTNAME'" ;; esac
		;;
	ignoredisk)
		for a in "$@"; do
			case "$a" in --only-use=*) KS_DISK=${a#*=}; KS_DISK=${KS_DISK%%,*} ;; esac
		done
		;;
	# zerombr: the partition table is always rewritten (an unreadable one
	# never stops us), so it only needs accepting.
	zerombr) ;;
	clearpart)
		for a in "$@"; do
			case "$a" in
			--all) KS_CLEAR=all ;;
			--none) KS_CLEAR=none ;;
			--linux) KS_CLEAR=all ;; # the payload disk is Linux-only anyway
			--initlabel | --drives=* | --list=* | --disklabel=*) ;;
			*) fail "line $LN: clearpart: unsupported option $a" ;;
			esac
		done
		;;
	part | partition) cmd_part "$@" ;;
	autopart) cmd_autopart "$@" ;;
	bootloader) cmd_bootloader "$@" ;;
	poweroff | shutdown | halt) KS_END=poweroff ;;
	reboot) KS_END=reboot ;;
	*) fail "line $LN: unknown or unsupported kickstart command '$cmd'" ;;
	esac
}

# Section headers: remember %pre/%post options next to their body.
section_start() {
	case "$1" in
	%packages | %addon | %anaconda | %onerror | %traceback) SECTION=ignore ;;
	%pre)
		NPRE=$((NPRE + 1)) SECTION=pre
		SCRIPT=$KS_STATE/pre-$NPRE
		: >"$SCRIPT"
		shift
		printf '%s\n' "$*" >"$SCRIPT.opts"
		;;
	%post)
		NPOST=$((NPOST + 1)) SECTION=post
		SCRIPT=$KS_STATE/post-$NPOST
		: >"$SCRIPT"
		shift
		printf '%s\n' "$*" >"$SCRIPT.opts"
		;;
	*) fail "line $LN: unsupported kickstart section '$1'" ;;
	esac
}

SECTION= LN=0
while IFS= read -r line || [ -n "$line" ]; do
	LN=$((LN + 1))
	line=$(printf '%s' "$line" | tr -d '\r')
	# Inside %pre/%post: copy verbatim until %end.
	if [ -n "$SECTION" ]; then
		case "$line" in
		%end | "%end "* | "%end	"*) SECTION= ;;
		*) [ "$SECTION" = ignore ] || printf '%s\n' "$line" >>"$SCRIPT" ;;
		esac
		continue
	fi
	# skip blank lines and comments
	stripped=$(printf '%s' "$line" | sed 's/^[[:space:]]*//')
	case "$stripped" in '' | '#'*) continue ;; esac
	split_line "$stripped" || fail "line $LN: unbalanced quotes: $stripped"
	eval "$WORDS_CMD"
	case "$1" in
	%end) fail "line $LN: %end outside a section" ;;
	%include) fail "line $LN: %include is not supported" ;;
	%*) section_start "$@" ;;
	*) ks_command "$@" ;;
	esac
done <"$KS"
[ -z "$SECTION" ] || fail "kickstart ends inside a section (missing %end)"
[ -n "$ROOT_FS" ] || fail "kickstart has no 'part /' or 'autopart'"
set +f # from here on, globs (/dev/sr*) are ours
say "kickstart parsed: root ${ROOT_FS}, hostname ${KS_HOSTNAME:-(default)}, then $KS_END"

# ---- %pre scripts (installer environment) -------------------------------------------
run_script() { # run_script <file> <chroot: yes|no>
	script=$1 want_chroot=$2
	interp=/bin/sh logf= erroronfail= nochroot=
	set -f
	# shellcheck disable=SC2046 # split the %post options into words
	set -- $(cat "$script.opts")
	set +f
	while [ $# -gt 0 ]; do
		case "$1" in
		--nochroot) nochroot=1 ;;
		--erroronfail) erroronfail=1 ;;
		--interpreter | --interpreter=*) optval --interpreter "$@"; interp=$OPTVAL; shift $OPTSHIFT; continue ;;
		--log | --log=* | --logfile | --logfile=*) optval "${1%%=*}" "$@"; logf=$OPTVAL; shift $OPTSHIFT; continue ;;
		*) ;; # other options (e.g. --erroronfail variants) are harmless
		esac
		shift
	done
	[ "$want_chroot" = yes ] && [ -z "$nochroot" ] && chrooted=1 || chrooted=
	if [ -n "$chrooted" ]; then
		cp "$script" "$SYSROOT/tmp/ks-script" && chmod 0700 "$SYSROOT/tmp/ks-script"
		set -- chroot "$SYSROOT" "$interp" /tmp/ks-script
		[ -z "$logf" ] || logf=$SYSROOT$logf
	else
		set -- "$interp" "$script"
	fi
	if [ -n "$logf" ]; then
		mkdir -p "$(dirname "$logf")"
		{ "$@"; echo $? >/run/script.rc; } 2>&1 | tee -a "$logf"
		rc=$(cat /run/script.rc)
	else
		"$@"
		rc=$?
	fi
	[ -z "$chrooted" ] || rm -f "$SYSROOT/tmp/ks-script"
	if [ "$rc" -ne 0 ]; then
		[ -n "$erroronfail" ] && fail "script failed with status $rc (--erroronfail)"
		say "warning: script exited with status $rc"
	fi
	return 0
}
i=1
while [ $i -le $NPRE ]; do
	say "running %pre script $i"
	run_script "$KS_STATE/pre-$i" no
	i=$((i + 1))
done

# ---- find the DVD and the target disk ----------------------------------------------------
# ISO 9660 volume id: 32 bytes at offset 32808 (sector 16 + 40), blank padded.
iso_label() {
	dd if="$1" bs=1 skip=32808 count=32 2>/dev/null | tr -d '\0' | sed 's/ *$//'
}
case "$STAGE2_ARG" in
hd:LABEL=*) VOLID=${STAGE2_ARG#hd:LABEL=}; VOLID=${VOLID%%:*} ;;
cdrom | cdrom:* | '') VOLID= ;; # any device holding our .treeinfo
*) fail "unsupported inst.stage2 '$STAGE2_ARG' (hd:LABEL=VOLID or cdrom)" ;;
esac
VOLID=$(printf '%s' "$VOLID" | sed 's/\\x20/ /g')

# Devices come up asynchronously (slowly under TCG): retry for up to 60 s,
# but once the DVD is there, give the disk only 10 s more.
ISO_DEV= DISK=
tries=0 disk_tries=0
while :; do
	if [ -z "$ISO_DEV" ]; then
		for d in /dev/sr* /dev/vd* /dev/sd* /dev/xvd*; do
			[ -b "$d" ] || continue
			if [ -n "$VOLID" ]; then
				[ "$(iso_label "$d")" = "$VOLID" ] || continue
			else
				case "$(dd if="$d" bs=1 skip=32769 count=5 2>/dev/null)" in CD001) ;; *) continue ;; esac
			fi
			ISO_DEV=$d
			break
		done
	fi
	if [ -z "$DISK" ]; then
		if [ -n "$KS_DISK" ] && [ -b "/dev/$KS_DISK" ]; then
			DISK=/dev/$KS_DISK
		else
			for d in /dev/vda /dev/sda /dev/xvda /dev/nvme0n1; do
				[ -b "$d" ] && [ "$d" != "$ISO_DEV" ] && DISK=$d && break
			done
		fi
	fi
	[ -n "$ISO_DEV" ] && [ -n "$DISK" ] && break
	tries=$((tries + 1))
	[ -z "$ISO_DEV" ] || disk_tries=$((disk_tries + 1))
	[ $tries -le 120 ] && [ $disk_tries -le 20 ] || break
	sleep 0.5
done
if [ -z "$ISO_DEV" ]; then
	# Say what was there, to make a missing driver or a wrong label obvious.
	for d in /dev/sr* /dev/vd* /dev/sd*; do
		[ -b "$d" ] && say "  $d: label '$(iso_label "$d")'"
	done
	say "  modules loaded: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
fi
[ -n "$ISO_DEV" ] || fail "installation DVD ${VOLID:+LABEL=$VOLID }not found (looked at /dev/sr*, /dev/vd*, /dev/sd*)"
[ -n "$DISK" ] || fail "no disk to install to (looked for /dev/vda, /dev/sda)"
[ "$DISK" != "$ISO_DEV" ] || fail "the only disk $DISK is the DVD"
mount -t iso9660 -o ro "$ISO_DEV" "$ISO_MNT" 2>/dev/null || fail "cannot mount $ISO_DEV"
[ -f "$ISO_MNT/.treeinfo" ] && [ -f "$ISO_MNT/images/payload.tar.gz" ] ||
	fail "$ISO_DEV is not a vmstamp testdist DVD (no .treeinfo or images/payload.tar.gz)"
say "installation source: $ISO_DEV (${VOLID:-iso9660})"
[ -z "$KS_DISK" ] || [ "$DISK" = "/dev/$KS_DISK" ] || say "note: /dev/$KS_DISK not found, using $DISK"

# ---- partitioning ---------------------------------------------------------------------------------
dname=${DISK#/dev/}
disk_mib=$(($(cat "/sys/block/$dname/size") / 2048))
if grep -q " ${dname}p*[0-9][0-9]*\$" /proc/partitions && [ "$KS_CLEAR" != all ]; then
	fail "$DISK already has partitions; the kickstart must say 'clearpart --all'"
fi
case "$dname" in *[0-9]) P=${DISK}p ;; *) P=$DISK ;; esac
need=$((1 + BOOT_SIZE + ${SWAP_SIZE:-0} + ${ROOT_SIZE:-300}))
[ "$disk_mib" -ge "$need" ] || fail "$DISK is too small ($disk_mib MiB, the layout needs $need MiB)"

if [ -n "$ROOT_GROW" ]; then rootdesc="rest of disk"; else rootdesc="$ROOT_SIZE MiB"; fi
say "partitioning $DISK ($disk_mib MiB): /boot $BOOT_FS $BOOT_SIZE MiB${SWAP_SIZE:+, swap $SWAP_SIZE MiB}, / $ROOT_FS $rootdesc"
{
	echo "label: dos"
	echo ",${BOOT_SIZE}M,L,*"
	[ -z "$SWAP_SIZE" ] || echo ",${SWAP_SIZE}M,S"
	if [ -n "$ROOT_GROW" ]; then echo ",,L"; else echo ",${ROOT_SIZE}M,L"; fi
} >/run/layout.sfdisk
sfdisk -q --wipe always --wipe-partitions always "$DISK" </run/layout.sfdisk >/run/sfdisk.log 2>&1 || {
	cat /run/sfdisk.log
	fail "sfdisk failed on $DISK"
}
BOOT_DEV=${P}1
if [ -n "$SWAP_SIZE" ]; then SWAP_DEV=${P}2 ROOT_DEV=${P}3; else SWAP_DEV= ROOT_DEV=${P}2; fi
i=0
while [ ! -b "$ROOT_DEV" ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
[ -b "$ROOT_DEV" ] || fail "$ROOT_DEV did not appear after partitioning"

# mkfs with a UUID of our own choosing (for /etc/fstab and root=UUID=).
mkfs_uuid() { # mkfs_uuid <fstype> <device> <uuid>
	case "$1" in
	xfs) mkfs.xfs -f -q -m uuid="$3" "$2" ;;
	ext4) mkfs.ext4 -F -q -U "$3" "$2" ;;
	esac >/run/mkfs.log 2>&1 || { cat /run/mkfs.log; fail "mkfs.$1 failed on $2"; }
}
ROOT_UUID=$(cat /proc/sys/kernel/random/uuid)
BOOT_UUID=$(cat /proc/sys/kernel/random/uuid)
say "creating $ROOT_FS on $ROOT_DEV (/)"
mkfs_uuid "$ROOT_FS" "$ROOT_DEV" "$ROOT_UUID"
say "creating $BOOT_FS on $BOOT_DEV (/boot)"
mkfs_uuid "$BOOT_FS" "$BOOT_DEV" "$BOOT_UUID"
if [ -n "$SWAP_DEV" ]; then
	say "creating swap on $SWAP_DEV"
	mkswap "$SWAP_DEV" >/dev/null 2>&1 || fail "mkswap failed on $SWAP_DEV"
	SWAP_UUID=$(blkid -s UUID -o value "$SWAP_DEV")
fi

mount -t "$ROOT_FS" "$ROOT_DEV" "$SYSROOT" || fail "cannot mount $ROOT_DEV"
mkdir -p "$SYSROOT/boot"
mount -t "$BOOT_FS" "$BOOT_DEV" "$SYSROOT/boot" || fail "cannot mount $BOOT_DEV"

# ---- payload ---------------------------------------------------------------------------------------
say "installing the payload (images/payload.tar.gz)"
tar -x -z --numeric-owner -f "$ISO_MNT/images/payload.tar.gz" -C "$SYSROOT" ||
	fail "unpacking the payload failed"

# ---- configuration -----------------------------------------------------------------------------------
say "configuring the installed system"
{
	echo
	echo "#"
	echo "# /etc/fstab"
	echo "# Created by vmstamp testdist installer on $(date)"
	echo "#"
	printf 'UUID=%s %-23s %-7s defaults        0 0\n' "$ROOT_UUID" / "$ROOT_FS"
	printf 'UUID=%s %-23s %-7s defaults        1 2\n' "$BOOT_UUID" /boot "$BOOT_FS"
	[ -z "$SWAP_DEV" ] || printf 'UUID=%s %-23s %-7s defaults        0 0\n' "$SWAP_UUID" none swap
} >"$SYSROOT/etc/fstab"

# Root password: replace the hash field of root in /etc/shadow (keeping the
# file's mode, 0000 on EL).
if [ -n "$KS_ROOTHASH" ] || [ -n "$KS_ROOTLOCK" ]; then
	h=${KS_ROOTHASH:-'!!'}
	[ -z "$KS_ROOTLOCK" ] || case "$h" in '!'*) ;; *) h="!$h" ;; esac
	awk -F: -v OFS=: -v h="$h" '$1 == "root" { $2 = h } { print }' "$SYSROOT/etc/shadow" >/run/shadow &&
		cat /run/shadow >"$SYSROOT/etc/shadow" || fail "cannot write /etc/shadow"
	rm -f /run/shadow
	say "root password set"
fi
[ -z "$KS_HOSTNAME" ] || { echo "$KS_HOSTNAME" >"$SYSROOT/etc/hostname"; say "hostname: $KS_HOSTNAME"; }
[ -z "$KS_LANG" ] || echo "LANG=\"$KS_LANG\"" >"$SYSROOT/etc/locale.conf"
[ -z "$KS_KEYMAP" ] || echo "KEYMAP=\"$KS_KEYMAP\"" >"$SYSROOT/etc/vconsole.conf"
if [ -n "$KS_TZ" ]; then
	rm -f "$SYSROOT/etc/localtime"
	ln -s "../usr/share/zoneinfo/$KS_TZ" "$SYSROOT/etc/localtime"
fi
# The kickstart, as anaconda keeps it.
cp "$KS" "$SYSROOT/root/anaconda-ks.cfg" && chmod 0600 "$SYSROOT/root/anaconda-ks.cfg"

# ---- bootloader: extlinux on /boot, syslinux mbr.bin in the MBR ------------------------------------------
CONF=$SYSROOT/boot/extlinux.conf
[ -f "$CONF" ] || fail "the payload has no /boot/extlinux.conf"
awk -v r="root=UUID=$ROOT_UUID" -v a="$BL_APPEND" '
	/^[ \t]*APPEND / { sub(/root=[^ ]*/, r); if (a != "") $0 = $0 " " a }
	{ print }' "$CONF" >/run/extlinux.conf && cat /run/extlinux.conf >"$CONF" ||
	fail "cannot write extlinux.conf"
if [ -n "$BL_NONE" ]; then
	say "bootloader --location=none: not installing a boot loader"
else
	say "installing the boot loader (extlinux) on $DISK"
	extlinux --install "$SYSROOT/boot" >/run/extlinux.log 2>&1 || {
		cat /run/extlinux.log
		fail "extlinux failed"
	}
	dd if=/usr/share/mbr.bin of="$DISK" bs=440 count=1 conv=notrunc 2>/dev/null ||
		fail "cannot write the MBR boot code"
fi

# ---- %post scripts -------------------------------------------------------------------------------------------
if [ $NPOST -gt 0 ]; then
	for d in dev proc sys; do mount --bind "/$d" "$SYSROOT/$d"; done
	mkdir -p "$SYSROOT/tmp"
	i=1
	while [ $i -le $NPOST ]; do
		say "running %post script $i"
		run_script "$KS_STATE/post-$i" yes
		i=$((i + 1))
	done
fi

cleanup_mounts
say "installation complete in $(($(uptime_s) - T0)) s"
echo "$KS_END" >/run/installer.end
exit 0
