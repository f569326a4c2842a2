#!/usr/bin/env bash
# clone.sh -- benchmark: vmstamp linked clones vs. the stock libvirt recipe
# (virt-clone --auto-clone + virt-sysprep --hostname), same template, one run.
#
# Usage: scripts/bench/clone.sh [--count N] [--family F] [--repeat R] [--skip-stock]
#   --count N      clones per batch (default 10, 2..99)
#   --family F     fixture family from scripts/build-fixtures.sh (default el9)
#   --repeat R     time vmstamp's pair of batches (1, then N) R times and
#                  report the medians (default 1; this host's noise is
#                  +-2 s on one launch, +-0.2 s on one marginal figure)
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
#               (with --repeat R: the median of the R pairs' marginals)
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
repeat=1
while [ $# -gt 0 ]; do
	case $1 in
	--count) [ $# -ge 2 ] || die "--count needs a number"; count=$2; shift 2 ;;
	--count=*) count=${1#--count=}; shift ;;
	--family) [ $# -ge 2 ] || die "--family needs a name"; family=$2; shift 2 ;;
	--family=*) family=${1#--family=}; shift ;;
	--repeat) [ $# -ge 2 ] || die "--repeat needs a number"; repeat=$2; shift 2 ;;
	--repeat=*) repeat=${1#--repeat=}; shift ;;
	--skip-stock) skip_stock=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
[[ $count =~ ^[0-9]+$ ]] && [ "$count" -ge 2 ] && [ "$count" -le 99 ] ||
	die "--count must be 2..99 (the marginal cost needs two batch sizes; names are %02d)"
[[ $repeat =~ ^[0-9]+$ ]] && [ "$repeat" -ge 1 ] && [ "$repeat" -le 20 ] || die "--repeat must be 1..20"

# ---- prerequisites -----------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "must run as root (qemu:///system, pool files)"
preflight clone virsh qemu-img virt-clone virt-sysprep du awk

pool_dir=$(default_pool_dir)

fixture=$(fixture_image "$family")

# ---- per-run names, collision check, cleanup trap ------------------------------
prefix="bench-$$-"
tpl_dom="${prefix}tpl"
stock_pat="${prefix}k-%02d"
one_pat="${prefix}o-%02d"
many_pat="${prefix}v-%02d"
warm_pat="${prefix}w-%02d"

prefixed_files() { existing "$pool_dir/$prefix"* "$pool_dir/.$prefix"* /var/log/libvirt/qemu/"$prefix"*; }
[ -z "$(prefixed_domains)" ] && [ -z "$(prefixed_files)" ] ||
	die "domains or files named $prefix* already exist (stale run with the same pid?): remove them first"

scratch=""
cleanup() {
	local rc=$? nd nf left
	trap - EXIT INT TERM HUP
	set +e
	log "cleanup: removing everything named $prefix*"
	nd=$(remove_prefixed_domains)
	# The clones' disks (vmstamp and virt-clone both write POOL/NAME.qcow2),
	# vmstamp's in-progress .NAME.qcow2.vmstamp-tmp, the stock template link,
	# serial logs.
	nf=$(prefixed_files | remove_listed)
	V pool-refresh default >/dev/null 2>&1
	if own_scratch; then
		rm -rf -- "$scratch"
	fi
	left=$(prefixed_domains; prefixed_files)
	report_left "$left" "removed $nd domain(s), $nf file(s) and the scratch dir"
	exit "$rc"
}
cleanup_traps

scratch=$(mktemp -d "/var/tmp/${prefix}XXXXXX")
# qemu (libvirt-qemu) must be able to search it to open the template, as a
# started clone would: vmstamp refuses a template it could not open.
chmod 755 "$scratch"
template="$scratch/template.qcow2"
copy_image template "$fixture" "$template"

# ---- helpers -------------------------------------------------------------------
# domain_disk NAME: path of the domain's (first) disk
domain_disk() { V domblklist --details "$1" | awk '$2 == "disk" { print $4; exit }'; }

# avg_domain_disk_mib NAME...: average allocated size of the domains' disks, MiB
avg_domain_disk_mib() {
	local d path paths=()
	for d in "$@"; do
		path=$(domain_disk "$d")
		[ -n "$path" ] && [ -f "$path" ] || die "no disk found for domain '$d'"
		paths+=("$path")
	done
	avg_disk_mib "${paths[@]}"
}

# run_vmstamp LABEL PATTERN N: time one vmstamp clone batch; echoes seconds.
run_vmstamp() {
	local label=$1 pat=$2 n=$3
	log "vmstamp: $label: clone --network user --count $n --name-pattern '$pat'"
	timed_vmstamp "$scratch/vmstamp-$label" clone "$label" \
		-c "$URI" clone --network user --count "$n" --name-pattern "$pat" "$template"
}

# ---- header ------------------------------------------------------------------------
bench_start
header clone
echo "  tools:     $(qemu-img --version | head -n 1), virt-clone $(virt-clone --version 2>&1), $(virt-sysprep --version 2>&1)"
echo "  template:  $family fixture, $(qemu-img info --output=json "$template" | awk -F'[:,]' '/"virtual-size"/ { printf "%d MiB virtual", $2 / 1048576 }'), $(f1 "$(du -B1 -- "$template" | cut -f1) / 1048576") MiB allocated"
echo "  clones:    $count per batch, prefix $prefix, pool dir $pool_dir"
echo

# ---- warm-up (untimed) -------------------------------------------------------------
log "warm-up: one throw-away vmstamp clone (untimed)"
warm=$(run_vmstamp warmup "$warm_pat" 1)
log "warm-up took $(f1 "$warm") s; removing it"
stock_accel
# shellcheck disable=SC2046 # names are [a-z0-9-]
"$VMSTAMP" -q -c "$URI" rm $(names "$warm_pat" 1) >&2 || die "vmstamp rm failed"

# median X...: the middle value (the mean of the two middle ones for an even count)
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---- vmstamp -------------------------------------------------------------------------
# Each pair is timed one clone, then N; all but the last pair's clones are
# removed before the next (the last pair's are checked and measured below).
v1s=() vNs=() margs=()
for r in $(seq 1 "$repeat"); do
	v1=$(run_vmstamp one "$one_pat" 1)
	log "vmstamp: 1 clone in $(f1 "$v1") s"
	vN=$(run_vmstamp many "$many_pat" "$count")
	log "vmstamp: $count clones in $(f1 "$vN") s"
	got=$(grep -c "^${prefix}v-[0-9]*: " "$scratch/vmstamp-many.out" || true)
	[ "$got" -eq "$count" ] || die "vmstamp printed $got clone lines, expected $count"
	v1s+=("$v1") vNs+=("$vN") margs+=("$(calc "($vN - $v1) / ($count - 1)")")
	[ "$repeat" -gt 1 ] && log "vmstamp: pair $r/$repeat: $(f1 "${margs[-1]}") s per extra clone"
	if [ "$r" -lt "$repeat" ]; then
		# shellcheck disable=SC2046 # names are [a-z0-9-]
		"$VMSTAMP" -q -c "$URI" rm $(names "$one_pat" 1) $(names "$many_pat" "$count") >&2 || die "vmstamp rm failed"
	fi
done
v1=$(median "${v1s[@]}")
vN=$(median "${vNs[@]}")
v_marg=$(median "${margs[@]}")
# shellcheck disable=SC2046
v_disk=$(avg_domain_disk_mib $(names "$many_pat" "$count"))

# ---- stock recipe ------------------------------------------------------------------
s_total="" s_first="" s_marg="" s_disk="" s_clone_avg="" s_prep_avg="" s_note=""
if [ "$skip_stock" -eq 0 ]; then
	tpl_disk="$pool_dir/$tpl_dom.qcow2"
	link_or_copy "$template" "$tpl_disk" --reflink=auto
	V pool-refresh default >/dev/null
	stock_template_xml "$tpl_dom" qemu 1024 "$tpl_disk" \
		"<interface type='user'><model type='virtio'/></interface>" >"$scratch/tpl.xml"
	V define "$scratch/tpl.xml" >/dev/null
	log "stock: template domain $tpl_dom defined ($tpl_disk)"

	s_clone_sum=0 s_prep_sum=0
	t_start=$(now)
	i=0
	for name in $(names "$stock_pat" "$count"); do
		i=$((i + 1))
		ta=$(now)
		stock_clone "$URI" "$tpl_dom" "$name"
		tb=$(now)
		stock_sysprep "$URI" "$name"
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
	s_disk=$(avg_domain_disk_mib $(names "$stock_pat" "$count"))
	# Did the stock tools do what was asked?
	s_note=$(sysprep_note "$count")
fi

# ---- results ------------------------------------------------------------------------
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
[ "$repeat" -eq 1 ] || echo "   vmstamp: medians of $repeat pairs; marginals $(for m in "${margs[@]}"; do printf '%s ' "$(f1 "$m")"; done)s"
echo "   stock first clone = its first iteration; marginal = (total - first) / $((count - 1)))"
echo

echo "targets"
speedup_target 44 10 "$count" "$s_total" "$vN"
printf '  %-44s %12s  %s\n' "< 2 s added per extra vmstamp clone" "$(f1 "$v_marg") s" "$(status "$v_marg < 2")"
# Issue 9's targets: LVM guests (the el fixtures) under 0.6 s, ext4 under 0.5 s.
case $family in
el*) printf '  %-44s %12s  %s\n' "< 0.6 s per extra clone (LVM + XFS guest)" "$(calc "$v_marg") s" "$(status "$v_marg < 0.6")" ;;
*) printf '  %-44s %12s  %s\n' "< 0.5 s per extra clone (ext4 guest)" "$(calc "$v_marg") s" "$(status "$v_marg < 0.5")" ;;
esac
printf '  %-44s %12s  %s\n' "< 10 MiB disk per linked clone" "$(f1 "$v_disk") MiB" "$(status "$v_disk < 10")"
[ -z "$s_note" ] || { echo; echo "note: $s_note"; }
echo
bench_end fixture/template
