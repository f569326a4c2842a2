#!/usr/bin/env bash
# install.sh -- benchmark: vmstamp install vs. the stock libvirt recipe
# (virt-install --location ISO --initrd-inject ks.cfg), same ISO and kickstart,
# one run.
#
# Usage: scripts/bench/install.sh [--skip-stock] [--timeout S]
#   --skip-stock   measure vmstamp only (quick check)
#   --timeout S    give up on either install after S seconds (default 1800)
#
# Not a test: it prints figures and always exits 0 once they are printed
# (MISS is a figure, not a failure). Takes several minutes (two installs,
# under TCG on this host). Progress goes to stderr, the results table to stdout.
#
# Both sides install from the test installer ISO (scripts/build-installer-iso.sh)
# with kickstart/testdist.ks (@@HOSTNAME@@ = the domain name), 1024 MiB, 1 vCPU,
# a 2 GiB qcow2 disk in the default pool, a user-mode NIC, and the accelerator
# vmstamp decided (/run/vmstamp/accel: --virt-type kvm or qemu for virt-install).
#
# What is timed (wall clock):
#   vmstamp:  vmstamp -v install --iso ISO --kickstart kickstart/testdist.ks
#               --name PFXv --network user --size 2G
#             (returns once the installer has powered the guest off)
#   stock:    virt-install --name PFXs --memory 1024 --vcpus 1
#               --disk size=2,format=qcow2,pool=default --location ISO
#               --initrd-inject SCRATCH/ks.cfg --extra-args 'inst.ks=file:/ks.cfg
#               inst.stage2=hd:LABEL=VOLID console=ttyS0,115200' --network user
#               --graphics none --serial pty,log.file=... --noautoconsole
#               --noreboot --wait -1 --os-variant rocky9 --virt-type qemu|kvm
#             (ks.cfg: the kickstart with @@HOSTNAME@@ replaced by sed; the
#             --serial only adds a log file to the console --graphics none makes)
#   pre-boot: the time from start until the domain shows up in 'virsh list'
#             (polled every 0.05 s, so up to ~0.1 s late), for both sides; for
#             vmstamp also until its "installing from" line (printed right after
#             the domain was created; stderr lines timestamped as they arrive).
#   ISO read: the bytes vmstamp read from the ISO to find the kernel and initrd
#             (its -v "read N bytes of ISO" line), next to the sizes of
#             .treeinfo + kernel + initrd in the ISO (xorriso) and the ISO size.
# Both sides must leave "INSTALLER: installation complete" in their console
# log, or the run stops (an installer that fails also powers off).
#
# Safety: everything is named with a per-run prefix (benchinst-PID-); the script
# refuses to start if anything with that prefix exists, and removes only
# prefixed domains/files (EXIT trap, also on Ctrl-C/TERM/HUP): both domains
# (destroyed; virt-install's persistent one undefined with
# --remove-all-storage), both disks, their console/qemu logs, the scratch dir
# in /var/tmp (the ISO copy both sides install from, ks.cfg, logs), and
# virt-install kernel/initrd copies in /var/lib/libvirt/boot that appeared
# during the run (virt-install removes them itself unless it was killed).
# The cached ISO is only read (cp): libvirt may relabel an ISO it attaches, so
# both sides use the scratch copy. vmstamp removes its own
# /var/tmp/vmstamp-install.* dir (unless killed: then it is left alone).

set -euo pipefail
shopt -s inherit_errexit

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"
KICKSTART=$REPO/kickstart/testdist.ks
VIRTINST_BOOT=/var/lib/libvirt/boot
usage() { sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

# ---- arguments ---------------------------------------------------------------
skip_stock=0
timeout_s=1800
while [ $# -gt 0 ]; do
	case $1 in
	--skip-stock) skip_stock=1; shift ;;
	--timeout) [ $# -ge 2 ] || die "--timeout needs seconds"; timeout_s=$2; shift 2 ;;
	--timeout=*) timeout_s=${1#--timeout=}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
[[ $timeout_s =~ ^[0-9]+$ ]] && [ "$timeout_s" -ge 60 ] || die "--timeout must be a number of seconds >= 60"

# ---- prerequisites -----------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "must run as root (qemu:///system, pool files)"
preflight install virsh virt-install xorriso qemu-img timeout du stat awk sed
[ -f "$KICKSTART" ] || die "no kickstart $KICKSTART"

pool_dir=$(default_pool_dir)

log "ISO: scripts/build-installer-iso.sh (may take a while if not cached)"
iso_cached=$("$REPO/scripts/build-installer-iso.sh" </dev/null | tail -n 1) ||
	die "scripts/build-installer-iso.sh failed"
[ -f "$iso_cached" ] || die "installer ISO '$iso_cached' not found"

# ---- per-run names, collision check, cleanup trap ------------------------------
prefix="benchinst-$$-"
v_name="${prefix}v"
s_name="${prefix}s"
qemu_log_dir=/var/log/libvirt/qemu

prefixed_files() { existing "$pool_dir/$prefix"* "$pool_dir/.$prefix"* "$qemu_log_dir/$prefix"*; }
[ -z "$(prefixed_domains)" ] && [ -z "$(prefixed_files)" ] &&
	[ -z "$(compgen -G "/var/tmp/$prefix*" || true)" ] ||
	die "domains or files named $prefix* already exist (stale run with the same pid?): remove them first"

scratch="" poller="" boot_before=""
cleanup() {
	local rc=$? d f nd=0 nf left
	trap - EXIT INT TERM HUP
	set +e
	log "cleanup: removing everything named $prefix*"
	if [ -n "$poller" ]; then kill "$poller" 2>/dev/null; wait "$poller" 2>/dev/null; fi
	for d in $(prefixed_domains); do
		[[ $d == "$prefix"* ]] || continue
		if [ "$(V domstate "$d" 2>/dev/null)" != "shut off" ]; then V destroy "$d" >/dev/null 2>&1; fi
		# vmstamp's install domain is transient (gone once destroyed);
		# virt-install's is persistent, with its disk in the pool.
		if V dominfo "$d" >/dev/null 2>&1; then
			V undefine "$d" --remove-all-storage --managed-save --snapshots-metadata >/dev/null 2>&1 ||
				V undefine "$d" --remove-all-storage >/dev/null 2>&1 ||
				V undefine "$d" >/dev/null 2>&1
		fi
		nd=$((nd + 1))
	done
	# Both disks (POOL/NAME.qcow2), the console logs (vmstamp's
	# NAME-install.log, our NAME-serial.log), libvirt's qemu logs.
	nf=$(prefixed_files | remove_listed)
	V pool-refresh default >/dev/null 2>&1
	# virt-install's kernel/initrd copies, if it was killed before removing them.
	if [ -n "$boot_before" ]; then
		for f in "$VIRTINST_BOOT"/virtinst-*; do
			[ -e "$f" ] || continue
			grep -qxF -- "$f" "$boot_before" && continue
			rm -f -- "$f" && nf=$((nf + 1))
		done
	fi
	if own_scratch; then
		rm -rf -- "$scratch"
	fi
	left=$(prefixed_domains; prefixed_files; compgen -G "/var/tmp/$prefix*")
	report_left "$left" "removed $nd domain(s), $nf file(s) and the scratch dir"
	exit "$rc"
}
cleanup_traps

scratch=$(mktemp -d "/var/tmp/${prefix}XXXXXX")
chmod 0755 "$scratch" # qemu reads the ISO copy from here
boot_before="$scratch/virtinst-boot-before"
{ compgen -G "$VIRTINST_BOOT/virtinst-*" || true; } >"$boot_before"
iso="$scratch/testdist.iso"
log "ISO: copying $iso_cached -> $iso"
cp -- "$iso_cached" "$iso"
chmod 0644 "$iso"
cat -- "$iso" >/dev/null # into the page cache, for both sides alike

# The stock side's kickstart: what vmstamp does to @@HOSTNAME@@, by sed; named
# ks.cfg because virt-install injects a file under its base name.
mkdir "$scratch/ks"
ks_rendered="$scratch/ks/ks.cfg"
sed "s/@@HOSTNAME@@/$s_name/g" "$KICKSTART" >"$ks_rendered"
! grep -q '@@[A-Z_]*@@' "$ks_rendered" || die "kickstart has variables other than @@HOSTNAME@@"

# ---- accelerator: vmstamp's verdict, for virt-install too ------------------------
probe_accel
virt_type=$(domain_type)

# ---- helpers -------------------------------------------------------------------
volid=$(xorriso -indev "$iso" -pvd_info 2>/dev/null | sed -n 's/^Volume Id *: *//p' | head -n 1)
[ -n "$volid" ] || die "cannot read the volume id of $iso"
# iso_size PATH: size of a file inside the ISO (xorriso lsdl), empty if absent
iso_size() {
	xorriso -indev "$iso" -find "$1" -exec lsdl 2>/dev/null |
		awk -v p="'$1'" '$NF == p { print $5; exit }'
}

# start_poller NAME FILE: in the background, write the time NAME first shows
# up in 'virsh list' (running domains) to FILE; sets $poller.
start_poller() {
	local name=$1 file=$2
	(
		trap - EXIT INT TERM HUP
		while :; do
			if virsh -q -c "$URI" list --name 2>/dev/null | grep -qxF -- "$name"; then
				date +%s.%N >"$file"
				exit 0
			fi
			sleep 0.05
		done
	) &
	poller=$!
}
stop_poller() {
	[ -n "$poller" ] || return 0
	kill "$poller" 2>/dev/null || true
	wait "$poller" 2>/dev/null || true
	poller=""
}
# stamp: prefix each line of stdin with the time it arrived
stamp() {
	local l
	while IFS= read -r l || [ -n "$l" ]; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done
}
# console_ok LOG: the test installer finished (it powers off on failure too)
console_ok() { [ -f "$1" ] && grep -q 'INSTALLER: installation complete' "$1"; }
show_tail() {
	log "$1; the end of $2:"
	tail -n 20 "$2" 2>/dev/null | sed 's/^/  | /' >&2
}

# ---- header ------------------------------------------------------------------------
bench_start
iso_bytes=$(bytes "$iso")
header install "(virt-install --virt-type $virt_type)"
echo "  tools:     virt-install $(virt-install --version 2>&1), $(virsh --version 2>&1 | sed 's/^/libvirt /'), $(qemu-img --version | head -n 1)"
echo "  ISO:       $iso_cached ($volid, $(f1 "$(mib "$iso_bytes")") MiB), copied to the scratch dir"
echo "  kickstart: kickstart/testdist.ks; guests: 1024 MiB, 1 vCPU, 2 GiB qcow2 in pool default, user-mode NIC"
echo "  names:     prefix $prefix, domains $v_name (vmstamp) and $s_name (stock), scratch $scratch"
echo

# ---- vmstamp -------------------------------------------------------------------------
log "vmstamp: install --iso ISO --kickstart kickstart/testdist.ks --name $v_name --network user --size 2G"
v_out="$scratch/vmstamp.out" v_err="$scratch/vmstamp.err" v_seen="$scratch/vmstamp.seen"
start_poller "$v_name" "$v_seen"
sleep 0.2 # let the poller's first virsh call start before the clock does
t0=$(now)
set +e
timeout --foreground "$timeout_s" "$VMSTAMP" -v -c "$URI" install --iso "$iso" --kickstart "$KICKSTART" \
	--name "$v_name" --os-variant rocky9 --network user --size 2G 2>&1 >"$v_out" | stamp >"$v_err"
rc=${PIPESTATUS[0]}
set -e
t1=$(now)
stop_poller
if [ "$rc" -ne 0 ]; then
	log "vmstamp install FAILED (exit $rc); its stdout:"
	sed 's/^/  | /' "$v_out" >&2
	show_tail "its stderr" "$v_err"
	exit 1
fi
console_ok "$qemu_log_dir/$v_name-install.log" ||
	{ show_tail "vmstamp's installer did not complete" "$qemu_log_dir/$v_name-install.log"; exit 1; }
v_time=$(calc "$t1 - $t0")
v_line=$(grep "^$v_name: installed in " "$v_out" | tail -n 1 || true)
[ -n "$v_line" ] || die "vmstamp printed no '$v_name: installed in ...' result line"
v_pre_poll=""
[ -s "$v_seen" ] && v_pre_poll=$(calc "$(cat "$v_seen") - $t0")
# Until the line vmstamp prints right after creating the domain.
v_pre_line=$(awk -v t0="$t0" -v pat=" $v_name: installing " \
	'index($0, pat) { printf "%.3f", $1 - t0; exit }' "$v_err")
# Bytes read from the ISO, as vmstamp reports it (-v), and the paths it used.
read_line=$(grep -m1 ' vmstamp: read [0-9]* bytes of ISO ' "$v_err" || true)
v_pre_read=""
[ -z "$read_line" ] || v_pre_read=$(calc "${read_line%% *} - $t0") # ISO read + ks injection
v_iso_read=$(sed -n 's/.* vmstamp: read \([0-9]*\) bytes of ISO .*/\1/p' <<<"$read_line")
k_path=$(sed -n 's/.*(kernel \([^,]*\), initrd \([^)]*\)).*/\1/p' <<<"$read_line")
i_path=$(sed -n 's/.*(kernel \([^,]*\), initrd \([^)]*\)).*/\2/p' <<<"$read_line")
k_path=/${k_path:-images/pxeboot/vmlinuz}
k_path=${k_path//\/\//\/}
i_path=/${i_path:-images/pxeboot/initrd.img}
i_path=${i_path//\/\//\/}
sz_tree=$(iso_size /.treeinfo)
sz_kernel=$(iso_size "$k_path")
sz_initrd=$(iso_size "$i_path")
iso_files_bytes=$((${sz_tree:-0} + ${sz_kernel:-0} + ${sz_initrd:-0}))
log "vmstamp: $(f1 "$v_time") s, $v_line; pre-boot $(f2 "${v_pre_poll:-0}") s (poll)"
v_disk_alloc=$(du -B1 -- "$pool_dir/$v_name.qcow2" 2>/dev/null | cut -f1 || true)

# ---- stock recipe ------------------------------------------------------------------
s_time="" s_pre_poll="" s_disk_alloc=""
if [ "$skip_stock" -eq 0 ]; then
	s_serial="$qemu_log_dir/$s_name-serial.log"
	s_log="$scratch/virt-install.log" s_seen="$scratch/stock.seen"
	log "stock: virt-install --name $s_name --location ISO --initrd-inject ks.cfg ... --virt-type $virt_type --wait -1"
	start_poller "$s_name" "$s_seen"
	sleep 0.2
	t0=$(now)
	set +e
	timeout --foreground "$timeout_s" virt-install --connect "$URI" --name "$s_name" --memory 1024 --vcpus 1 \
		--disk size=2,format=qcow2,pool=default --location "$iso" --initrd-inject "$ks_rendered" \
		--extra-args "inst.ks=file:/ks.cfg inst.stage2=hd:LABEL=$volid console=ttyS0,115200" \
		--network user --graphics none --serial "pty,log.file=$s_serial" --noautoconsole --noreboot \
		--wait -1 --os-variant rocky9 --virt-type "$virt_type" </dev/null >"$s_log" 2>&1
	rc=$?
	set -e
	t1=$(now)
	stop_poller
	[ "$rc" -eq 0 ] || { show_tail "virt-install FAILED (exit $rc)" "$s_log"; exit 1; }
	console_ok "$s_serial" || { show_tail "the stock installer did not complete" "$s_serial"; exit 1; }
	s_time=$(calc "$t1 - $t0")
	[ -s "$s_seen" ] && s_pre_poll=$(calc "$(cat "$s_seen") - $t0")
	s_disk_alloc=$(du -B1 -- "$pool_dir/$s_name.qcow2" 2>/dev/null | cut -f1 || true)
	log "stock: $(f1 "$s_time") s; pre-boot $(f2 "${s_pre_poll:-0}") s (poll)"
fi

# ---- results ------------------------------------------------------------------------
# dmib BYTES: in MiB to one decimal, or "-" when there is none
dmib() { if [ -n "$1" ]; then f1 "$(mib "$1")"; else echo "-"; fi; }

echo "results (wall clock)"
row "" "vmstamp" "stock"
row "end to end (s)" "$(d1 "$v_time")" "$(d1 "$s_time")"
row "pre-boot, until in virsh list (s)" "$(d2 "$v_pre_poll")" "$(d2 "$s_pre_poll")"
row "pre-boot, until 'installing from' (s)" "$(d2 "$v_pre_line")" ""
row "  of which ISO read + ks injection (s)" "$(d2 "$v_pre_read")" ""
row "ISO bytes read for kernel+initrd" "${v_iso_read:--}" ""
row "installed disk (MiB allocated)" "$(dmib "$v_disk_alloc")" "$(dmib "$s_disk_alloc")"
if [ -n "$s_time" ]; then
	echo "  time ratio stock/vmstamp: $(f2 "$s_time / $v_time")x"
fi
echo "  ISO: $iso_bytes bytes; .treeinfo + ${k_path#/} + ${i_path#/} = ${sz_tree:-?} + ${sz_kernel:-?} + ${sz_initrd:-?} = $iso_files_bytes bytes"
if [ -n "$v_iso_read" ] && [ "$iso_files_bytes" -gt 0 ]; then
	echo "  vmstamp read $(f2 "$v_iso_read / $iso_bytes")x the ISO's size, $(f1 "$v_iso_read / $iso_files_bytes")x those three files (its own count, -v)"
fi
echo "  (vmstamp: $v_line)"
echo "  (pre-boot = from start until the guest's domain runs: ISO read, kickstart"
echo "   injection, volume, domain XML. virsh list shows a domain once libvirt starts"
echo "   creating it (polled, up to ~0.1 s late); vmstamp prints 'installing from'"
echo "   once the domain runs. The target uses the later of the two.)"
echo

echo "targets"
if [ -n "$s_time" ]; then
	printf '  %-44s %12s  %s\n' "vmstamp no slower end to end" "$(f2 "$s_time / $v_time")x" "$(status "$v_time <= $s_time")"
else
	printf '  %-44s %12s  %s\n' "vmstamp no slower end to end" "-" SKIP
fi
# The target is judged on the later of the two figures (virsh list shows the
# domain as soon as libvirt starts creating it, the line comes once qemu runs).
pre=""
for x in $v_pre_poll $v_pre_line; do
	if [ -z "$pre" ] || awk "BEGIN { exit !($x > $pre) }"; then pre=$x; fi
done
if [ -n "$pre" ]; then
	printf '  %-44s %12s  %s\n' "its own work before the guest starts < 1 s" "$(f2 "$pre") s" "$(status "$pre < 1")"
else
	printf '  %-44s %12s  %s\n' "its own work before the guest starts < 1 s" "-" "MISS (not measured)"
fi
echo
bench_end ISO
