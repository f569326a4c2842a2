#!/usr/bin/env bash
# clone.sh -- benchmark: vmstamp linked clones vs. the stock libvirt recipe
# (virt-clone --auto-clone + virt-sysprep --hostname), same template, one run.
#
# Usage: scripts/bench/clone.sh [--count N] [--family F] [--skip-stock]
#   --count N      clones per batch (default 10, 2..99)
#   --family F     fixture family from scripts/build-fixtures.sh (default el9)
#   --skip-stock   measure vmstamp only (quick check)
#
# Not a test: it prints figures and always exits 0 once they are printed
# (MISS is a figure, not a failure). Takes a few minutes (the stock recipe
# launches one libguestfs appliance per clone, under TCG on this host).
# Progress goes to stderr, the results table to stdout.
#
# What is timed (wall clock):
#   vmstamp 1:  vmstamp clone --network user --count 1 --name-pattern PFXo-%02d TPL
#   vmstamp N:  vmstamp clone --network user --count N --name-pattern PFXv-%02d TPL
#               (linked clones, one appliance launch for all N)
#               marginal cost per extra clone = (tN - t1) / (N - 1)
#   stock:      for each of N clones, in sequence:
#                 virt-clone --original PFXtpl --name NAME --auto-clone
#                 virt-sysprep -d NAME --hostname NAME
#               marginal cost per extra clone = (total - first) / (N - 1)
#   disk per clone: allocated bytes (du -B1) of each clone's disk, averaged.
# An untimed vmstamp warm-up clone (removed at once) runs first, so neither
# side pays for a cold page cache, the libguestfs appliance build or
# vmstamp's once-per-boot KVM probe.
#
# Safety: everything is named with a per-run prefix (bench-PID-); the script
# refuses to start if anything with that prefix exists, and removes only
# prefixed domains/files (EXIT trap, also on Ctrl-C/TERM/HUP). The template
# is a scratch copy of the cached fixture in /var/tmp (the cache is never
# touched). No domain is started; NICs are user-mode (no bridge, no NAT net).
# The stock template domain's disk is a hard link (or copy) of that scratch
# template named PFXtpl.qcow2 in the default pool, so --auto-clone writes the
# full copies into the default pool as NAME.qcow2, next to vmstamp's clones.

set -euo pipefail
shopt -s inherit_errexit

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
URI=qemu:///system
VMSTAMP=${VMSTAMP:-$REPO/build/vmstamp}

# The stock tools run with the accelerator vmstamp decided (its probe result,
# cached per boot in /run/vmstamp/accel, read after the warm-up below), so
# both sides use TCG where KVM hangs and KVM where it works.
export LIBGUESTFS_BACKEND=direct
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"
usage() { sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

# ---- arguments ---------------------------------------------------------------
count=10
family=el9
skip_stock=0
while [ $# -gt 0 ]; do
	case $1 in
	--count) [ $# -ge 2 ] || die "--count needs a number"; count=$2; shift 2 ;;
	--count=*) count=${1#--count=}; shift ;;
	--family) [ $# -ge 2 ] || die "--family needs a name"; family=$2; shift 2 ;;
	--family=*) family=${1#--family=}; shift ;;
	--skip-stock) skip_stock=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
[[ $count =~ ^[0-9]+$ ]] && [ "$count" -ge 2 ] && [ "$count" -le 99 ] ||
	die "--count must be 2..99 (the marginal cost needs two batch sizes; names are %02d)"

# ---- prerequisites -----------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "must run as root (qemu:///system, pool files)"
preflight clone virsh qemu-img virt-clone virt-sysprep du awk

pool_dir=$(default_pool_dir)

log "fixture: scripts/build-fixtures.sh $family (may take a while if not cached)"
fixture=$("$REPO/scripts/build-fixtures.sh" "$family" </dev/null | tail -n 1) ||
	die "scripts/build-fixtures.sh $family failed"
[ -f "$fixture" ] || die "fixture '$fixture' not found"

# ---- per-run names, collision check, cleanup trap ------------------------------
prefix="bench-$$-"
tpl_dom="${prefix}tpl"
stock_pat="${prefix}k-%02d"
one_pat="${prefix}o-%02d"
many_pat="${prefix}v-%02d"
warm_pat="${prefix}w-%02d"

prefixed_domains() { V list --all --name 2>/dev/null | grep "^${prefix}" || true; }
prefixed_files() {
	local f
	for f in "$pool_dir/$prefix"* "$pool_dir/.$prefix"* /var/log/libvirt/qemu/"$prefix"*; do
		[ -e "$f" ] && printf '%s\n' "$f"
	done
	return 0
}
[ -z "$(prefixed_domains)" ] && [ -z "$(prefixed_files)" ] ||
	die "domains or files named $prefix* already exist (stale run with the same pid?): remove them first"

scratch=""
cleanup() {
	local rc=$? d f nd=0 nf=0 left
	trap - EXIT INT TERM HUP
	set +e
	log "cleanup: removing everything named $prefix*"
	for d in $(prefixed_domains); do
		[[ $d == "$prefix"* ]] || continue
		if [ "$(V domstate "$d" 2>/dev/null)" != "shut off" ]; then V destroy "$d" >/dev/null 2>&1; fi
		V undefine "$d" --managed-save --snapshots-metadata >/dev/null 2>&1 ||
			V undefine "$d" >/dev/null 2>&1
		nd=$((nd + 1))
	done
	# The clones' disks (vmstamp and virt-clone both write POOL/NAME.qcow2),
	# vmstamp's in-progress .NAME.qcow2.vmstamp-tmp, the stock template link,
	# serial logs.
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		rm -f -- "$f" && nf=$((nf + 1))
	done < <(prefixed_files)
	V pool-refresh default >/dev/null 2>&1
	if [ -n "$scratch" ] && [[ $scratch == /var/tmp/"$prefix"* ]]; then
		rm -rf -- "$scratch"
	fi
	left=$(prefixed_domains; prefixed_files)
	report_left "$left" "removed $nd domain(s), $nf file(s) and the scratch dir"
	exit "$rc"
}
cleanup_traps

scratch=$(mktemp -d "/var/tmp/${prefix}XXXXXX")
template="$scratch/template.qcow2"
log "template: copying $fixture -> $template"
cp --sparse=always -- "$fixture" "$template"
cat -- "$template" >/dev/null # into the page cache, for both sides alike

# ---- helpers -------------------------------------------------------------------
# names PATTERN N: the clone names vmstamp makes for --name-pattern PATTERN --count N
names() {
	local i
	# shellcheck disable=SC2059 # the pattern is a printf format, like vmstamp's
	for ((i = 1; i <= $2; i++)); do printf "$1\n" "$i"; done
}

# domain_disk NAME: path of the domain's (first) disk
domain_disk() { V domblklist --details "$1" | awk '$2 == "disk" { print $4; exit }'; }

# avg_disk_mib NAME...: average allocated size of the domains' disks, MiB
avg_disk_mib() {
	local d path total=0 n=0 bytes
	for d in "$@"; do
		path=$(domain_disk "$d")
		[ -n "$path" ] && [ -f "$path" ] || die "no disk found for domain '$d'"
		bytes=$(du -B1 -- "$path" | cut -f1)
		total=$((total + bytes))
		n=$((n + 1))
	done
	calc "$total / $n / 1048576"
}

# run_vmstamp LABEL PATTERN N: time one vmstamp clone batch; echoes seconds.
run_vmstamp() {
	local label=$1 pat=$2 n=$3 t0 t1 out="$scratch/vmstamp-$1.out" err="$scratch/vmstamp-$1.err"
	log "vmstamp: $label: clone --network user --count $n --name-pattern '$pat'"
	t0=$(now)
	if ! "$VMSTAMP" -c "$URI" clone --network user --count "$n" --name-pattern "$pat" "$template" \
		>"$out" 2>"$err"; then
		log "vmstamp clone FAILED ($label); its stdout:"
		sed 's/^/  | /' "$out" >&2
		log "its stderr:"
		sed 's/^/  | /' "$err" >&2
		exit 1
	fi
	t1=$(now)
	calc "$t1 - $t0"
}

# ---- header ------------------------------------------------------------------------
start=$(now)
read -r load1 load5 _ </proc/loadavg
accel=$(cut -d' ' -f2- /run/vmstamp/accel 2>/dev/null || echo "not probed yet")
echo "vmstamp clone benchmark, $(date -u '+%Y-%m-%d %H:%M:%SZ')"
echo "  host:      $(uname -r), $(nproc) cpu, load $load1/$load5 (1/5 min)"
echo "  vmstamp:   $VMSTAMP ($("$VMSTAMP" -V 2>/dev/null || echo '?'), built $(date -u -r "$VMSTAMP" '+%Y-%m-%d %H:%M:%SZ'))"
echo "  accel:     $accel"
echo "  tools:     $(qemu-img --version | head -n 1), virt-clone $(virt-clone --version 2>&1), $(virt-sysprep --version 2>&1)"
echo "  template:  $family fixture, $(qemu-img info --output=json "$template" | awk -F'[:,]' '/"virtual-size"/ { printf "%d MiB virtual", $2 / 1048576 }'), $(f1 "$(du -B1 -- "$template" | cut -f1) / 1048576") MiB allocated"
echo "  clones:    $count per batch, prefix $prefix, pool dir $pool_dir"
echo

# ---- warm-up (untimed) -------------------------------------------------------------
log "warm-up: one throw-away vmstamp clone (untimed)"
warm=$(run_vmstamp warmup "$warm_pat" 1)
log "warm-up took $(f1 "$warm") s; removing it"
if [ "$(cut -d' ' -f2 /run/vmstamp/accel 2>/dev/null)" = kvm ]; then
  unset LIBGUESTFS_BACKEND_SETTINGS
else
  export LIBGUESTFS_BACKEND_SETTINGS=force_tcg
fi
# shellcheck disable=SC2046 # names are [a-z0-9-]
"$VMSTAMP" -q -c "$URI" rm $(names "$warm_pat" 1) >&2 || die "vmstamp rm failed"

# ---- vmstamp -------------------------------------------------------------------------
v1=$(run_vmstamp one "$one_pat" 1)
log "vmstamp: 1 clone in $(f1 "$v1") s"
vN=$(run_vmstamp many "$many_pat" "$count")
log "vmstamp: $count clones in $(f1 "$vN") s"
got=$(grep -c "^${prefix}v-[0-9]*: " "$scratch/vmstamp-many.out" || true)
[ "$got" -eq "$count" ] || die "vmstamp printed $got clone lines, expected $count"
v_marg=$(calc "($vN - $v1) / ($count - 1)")
# shellcheck disable=SC2046
v_disk=$(avg_disk_mib $(names "$many_pat" "$count"))

# ---- stock recipe ------------------------------------------------------------------
s_total="" s_first="" s_marg="" s_disk="" s_clone_avg="" s_prep_avg="" s_note=""
if [ "$skip_stock" -eq 0 ]; then
	tpl_disk="$pool_dir/$tpl_dom.qcow2"
	ln -- "$template" "$tpl_disk" 2>/dev/null ||
		cp --sparse=always --reflink=auto -- "$template" "$tpl_disk"
	V pool-refresh default >/dev/null
	cat >"$scratch/tpl.xml" <<EOF
<domain type='qemu'>
  <name>$tpl_dom</name>
  <memory unit='MiB'>1024</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$tpl_disk'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='user'><model type='virtio'/></interface>
    <serial type='pty'/>
  </devices>
</domain>
EOF
	V define "$scratch/tpl.xml" >/dev/null
	log "stock: template domain $tpl_dom defined ($tpl_disk)"

	s_clone_sum=0 s_prep_sum=0
	t_start=$(now)
	i=0
	for name in $(names "$stock_pat" "$count"); do
		i=$((i + 1))
		ta=$(now)
		virt-clone --connect "$URI" --original "$tpl_dom" --name "$name" --auto-clone \
			>>"$scratch/virt-clone.log" 2>&1 ||
			{ tail -n 20 "$scratch/virt-clone.log" >&2; die "virt-clone failed for $name"; }
		tb=$(now)
		virt-sysprep --connect "$URI" -d "$name" --hostname "$name" \
			>"$scratch/virt-sysprep-$name.log" 2>&1 ||
			{ tail -n 20 "$scratch/virt-sysprep-$name.log" >&2; die "virt-sysprep failed for $name"; }
		tc=$(now)
		s_clone_sum=$(calc "$s_clone_sum + $tb - $ta")
		s_prep_sum=$(calc "$s_prep_sum + $tc - $tb")
		[ -n "$s_first" ] || s_first=$(calc "$tc - $t_start")
		log "stock: $i/$count $name: virt-clone $(f1 "$tb - $ta") s, virt-sysprep $(f1 "$tc - $tb") s"
	done
	t_end=$(now)
	s_total=$(calc "$t_end - $t_start")
	s_marg=$(calc "($s_total - $s_first) / ($count - 1)")
	s_clone_avg=$(calc "$s_clone_sum / $count")
	s_prep_avg=$(calc "$s_prep_sum / $count")
	# shellcheck disable=SC2046
	s_disk=$(avg_disk_mib $(names "$stock_pat" "$count"))
	# Did the stock tools do what was asked? (virt-customize 1.48 cannot set
	# the host name of some distros and only warns.)
	nwarn=$(cat "$scratch"/virt-sysprep-*.log | grep -c 'warning: hostname could not be set' || true)
	[ "$nwarn" -eq 0 ] ||
		s_note="virt-sysprep warned 'hostname could not be set for this type of guest' on $nwarn/$count clones: the stock clones keep the template's host name"
fi

# ---- results ------------------------------------------------------------------------
status() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo MISS; fi; }
row() { printf '  %-36s %12s %12s\n' "$@"; }
# d1 VALUE: VALUE to one decimal, or "-" when there is none (--skip-stock)
d1() { if [ -n "$1" ]; then f1 "$1"; else echo "-"; fi; }

v_mean=$(calc "$vN / $count")
s_mean=""
[ -z "$s_total" ] || s_mean=$(calc "$s_total / $count")

echo "results (wall clock)"
row "" "vmstamp" "stock"
row "first clone (s)" "$(d1 "$v1")" "$(d1 "$s_first")"
row "$count clones, total (s)" "$(d1 "$vN")" "$(d1 "$s_total")"
row "marginal per extra clone (s)" "$(d1 "$v_marg")" "$(d1 "$s_marg")"
row "mean per clone (s)" "$(d1 "$v_mean")" "$(d1 "$s_mean")"
[ -z "$s_total" ] || row "  stock: virt-clone + virt-sysprep (s)" "" "$(f1 "$s_clone_avg") + $(f1 "$s_prep_avg")"
row "disk per clone (MiB allocated)" "$(d1 "$v_disk")" "$(d1 "$s_disk")"
row "clone type" "linked" "${s_total:+full copy}"
echo "  (vmstamp first clone = a --count 1 run; marginal = (t$count - t1) / $((count - 1)));"
echo "   stock first clone = its first iteration; marginal = (total - first) / $((count - 1)))"
echo

if [ -n "$s_total" ]; then
	ratio="$(f1 "$s_total / $vN")x"
	ratio_st=$(status "$s_total / $vN >= 10")
else
	ratio="-"
	ratio_st=SKIP
fi
echo "targets"
printf '  %-44s %12s  %s\n' ">= 10x faster than stock at $count clones" "$ratio" "$ratio_st"
printf '  %-44s %12s  %s\n' "< 2 s added per extra vmstamp clone" "$(f1 "$v_marg") s" "$(status "$v_marg < 2")"
printf '  %-44s %12s  %s\n' "< 10 MiB disk per linked clone" "$(f1 "$v_disk") MiB" "$(status "$v_disk < 10")"
[ -z "$s_note" ] || { echo; echo "note: $s_note"; }
echo
read -r load1 load5 _ </proc/loadavg
echo "benchmark wall time $(f1 "$(now) - $start") s (after fixture/template setup; cleanup follows), load at end $load1/$load5"
