#!/usr/bin/env bash
# fleet.sh -- benchmark: vmstamp fleet apply vs. the stock libvirt recipe
# (virt-clone --auto-clone + virt-sysprep --hostname + virsh net-update per
# clone), same template, one run; then fleet sizes, a second apply, two hosts.
#
# Usage: scripts/bench/fleet.sh [--count N] [--sizes LIST] [--two-host N] [--family F] [--skip-stock]
#   --count N      clones in the comparison with the stock recipe (default 20, 2..99)
#   --sizes LIST   fleet sizes, each a fresh fleet (default "10 20 50", each 1..240)
#   --two-host N   clones in the fleet across two hosts (default 50, 2..240; 0: skip)
#   --family F     fixture family from scripts/build-fixtures.sh (default debian12)
#   --skip-stock   no stock recipe (quick check; vmstamp's side is still timed)
#
# Not a test: it prints figures and always exits 0 once they are printed
# (MISS is a figure, not a failure). Takes about 20 minutes with the defaults
# (the stock recipe launches one libguestfs appliance per clone, under TCG on
# this host). Progress goes to stderr, the results table to stdout.
#
# Hosts. h1 is this machine's libvirtd (qemu:///system). h2 is a second
# libvirtd in its own mount and network namespace (scripts/testhost.sh, in
# the scratch dir), whose `default` NAT network (192.168.150.0/24, dnsmasq,
# DHCP) exists only inside that namespace. No guest is ever started. Every
# DHCP reservation goes into h2's `default` (live and config, so its dnsmasq
# really reloads), except h1's half of the two-host fleet: that goes into
# PFXnet, a network defined on h1 (192.168.151.0/24) and never started (no
# bridge, no dnsmasq; a config-only update). Nothing reaches the host's own
# networks.
#
# What is timed (wall clock):
#   1. stock comparison, N = --count, both sides on h2 with their disks in
#      pool PFXshared (the same directory seen by both daemons at one path, so
#      virt-sysprep, which opens the disks on this side, reads what h2 wrote):
#      vmstamp: vmstamp fleet apply PLAN: one group of N linked clones on h2,
#               ip 192.168.150.10.. (a DHCP host and a DNS host entry each),
#               pool PFXshared
#      stock:   for each of N clones, in sequence, on h2 (--connect/-c URI2):
#                 virt-clone --original PFXstpl --name NAME --auto-clone
#                 virt-sysprep -d NAME --hostname NAME
#                 virsh domiflist NAME   (the MAC virt-clone chose)
#                 virsh net-update default add ip-dhcp-host \
#                   "<host mac='MAC' name='NAME' ip='192.168.150.150+i'/>" --live --config
#   2. sizes: for each size S, a fresh fleet of the same shape as 1 with S
#      clones: vmstamp fleet apply PLAN; cost per clone = t / S, marginal =
#      (t - t_prev) / (S - S_prev) against the previous size
#   3. after every vmstamp apply above (and 4): a second vmstamp fleet apply of
#      the unchanged plan (nothing to make; it reads the fleet from the hosts)
#   4. two hosts, N = --two-host: one fleet, N/2 clones on h1 (pool default,
#      network PFXnet, 192.168.151.10..) and the rest on h2 (h2's default pool,
#      which this machine cannot see: the template is uploaded once, in the
#      timed apply, and each linked clone is made here and uploaded; network
#      default, 192.168.150.10..)
#   disk per clone: allocated bytes (du -B1) of each clone's disk, averaged.
# After its measurement every fleet is removed (vmstamp fleet destroy PLAN,
# untimed) and the script checks that nothing of it is left on either host:
# domains, volumes and files, DHCP/DNS entries, its known_hosts file (the
# template copies vmstamp keeps in a host's pool on purpose are not counted).
# The stock clones are removed the same way (virsh undefine
# --remove-all-storage, net-update delete) and checked too.
# An untimed warm-up fleet of one clone on h2 (made and destroyed) runs
# first, so neither side pays for a cold page cache, the libguestfs
# appliance build, vmstamp's once-per-boot KVM probe or its template layout
# search, and vmstamp's template copy in PFXshared (made once per pool and
# kept for later applies, as on a real host) is there before anything is
# timed; the stock template is already in PFXshared too.
#
# Safety: everything is named with a per-run prefix (bench-PID-); the script
# refuses to start if anything on h1 has that prefix, and removes only what it
# made (EXIT trap, also on Ctrl-C/TERM/HUP): on h1 the prefixed domains, pool
# files, serial logs, known_hosts files, the network PFXnet and the layout
# vmstamp recorded for the scratch template; h2 is stopped (testhost.sh stop:
# its daemons, dnsmasq) and lives entirely in the scratch dir in /var/tmp,
# removed last. The template is a scratch copy of the cached fixture (the
# cache is never touched).

set -euo pipefail
shopt -s inherit_errexit

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The stock tools run with the accelerator vmstamp decided (its probe result,
# cached per boot in /run/vmstamp/accel, read after the warm-up below), so
# both sides use TCG where KVM hangs and KVM where it works.
export LIBGUESTFS_BACKEND=direct
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"
TH=$REPO/scripts/testhost.sh
FLEET_DIR=/var/lib/vmstamp/fleet            # FLEET.known_hosts
NET2=192.168.150   # h2's default network (testhost.sh)
NET1=192.168.151   # PFXnet on h1, defined, never started
STOCK_IP0=150      # the stock recipe's reservations: NET2.150.. (vmstamp's: NET2.10..)
usage() { sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

# ---- arguments ---------------------------------------------------------------
count=20
sizes="10 20 50"
two=50
family=debian12
skip_stock=0
while [ $# -gt 0 ]; do
	case $1 in
	--count) [ $# -ge 2 ] || die "--count needs a number"; count=$2; shift 2 ;;
	--count=*) count=${1#--count=}; shift ;;
	--sizes) [ $# -ge 2 ] || die "--sizes needs a list"; sizes=$2; shift 2 ;;
	--sizes=*) sizes=${1#--sizes=}; shift ;;
	--two-host) [ $# -ge 2 ] || die "--two-host needs a number"; two=$2; shift 2 ;;
	--two-host=*) two=${1#--two-host=}; shift ;;
	--family) [ $# -ge 2 ] || die "--family needs a name"; family=$2; shift 2 ;;
	--family=*) family=${1#--family=}; shift ;;
	--skip-stock) skip_stock=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
[[ $count =~ ^[0-9]+$ ]] && [ "$count" -ge 2 ] && [ "$count" -le 99 ] ||
	die "--count must be 2..99 (the stock reservations are $NET2.$STOCK_IP0..248)"
read -r -a size_list <<<"$sizes"
[ ${#size_list[@]} -gt 0 ] || die "--sizes needs at least one size"
for s in "${size_list[@]}"; do
	[[ $s =~ ^[0-9]+$ ]] && [ "$s" -ge 1 ] && [ "$s" -le 240 ] ||
		die "--sizes: '$s' is not 1..240 (the addresses are $NET2.10..249)"
done
mapfile -t size_list < <(printf '%s\n' "${size_list[@]}" | sort -n -u)
[[ $two =~ ^[0-9]+$ ]] && { [ "$two" -eq 0 ] || { [ "$two" -ge 2 ] && [ "$two" -le 240 ]; }; } ||
	die "--two-host must be 0 (skip) or 2..240"
[[ $family =~ ^[a-z0-9]+$ ]] || die "bad family name '$family'"

# ---- prerequisites -----------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "must run as root (qemu:///system, a second libvirtd, pool files)"
preflight fleet virsh qemu-img virt-clone virt-sysprep unshare du awk

pool_dir=$(default_pool_dir)

fixture=$(fixture_image "$family")

# ---- per-run names, collision check, cleanup trap ------------------------------
prefix="bench-$$-"
net1="${prefix}net"        # on h1, never started
shared="${prefix}shared"   # pool on h2 at SCRATCH/shared
stpl="${prefix}stpl"       # the stock template domain on h2
stock_pat="${prefix}k-%02d"

prefixed_nets() { V net-list --all --name 2>/dev/null | grep "^${prefix}" || true; }
prefixed_files() {
	existing "$pool_dir/$prefix"* "$pool_dir/.$prefix"* /var/log/libvirt/qemu/"$prefix"* \
		"$FLEET_DIR/$prefix"*
	recorded_layouts "$prefix"
}
[ -z "$(prefixed_domains)" ] && [ -z "$(prefixed_nets)" ] && [ -z "$(prefixed_files)" ] &&
	[ -z "$(compgen -G "/var/tmp/$prefix*" || true)" ] ||
	die "domains, networks or files named $prefix* already exist (stale run with the same pid?): remove them first"

scratch=""
h2dir=""
cleanup() {
	local rc=$? d nd nf left h2_left=""
	trap - EXIT INT TERM HUP
	set +e
	log "cleanup: removing everything named $prefix*"
	# h2 lives in the scratch dir: stopping it ends its daemons, dnsmasq and
	# whatever ran there; its domains, volumes and networks go with the dir.
	if [ -n "$h2dir" ] && [ -e "$h2dir/.testhost" ]; then
		"$TH" stop "$h2dir" >&2 || h2_left="the test host in $h2dir (testhost.sh stop failed)"
	fi
	nd=$(remove_prefixed_domains)
	for d in $(prefixed_nets); do
		[[ $d == "$prefix"* ]] || continue
		V net-destroy "$d" >/dev/null 2>&1 # never started; just in case
		V net-undefine "$d" >/dev/null 2>&1
	done
	# Clone disks (and vmstamp's .NAME.qcow2.vmstamp-tmp), serial logs,
	# known_hosts files, the recorded layout of the scratch template.
	nf=$(prefixed_files | remove_listed)
	V pool-refresh default >/dev/null 2>&1
	if own_scratch && [ -z "$h2_left" ]; then
		rm -rf -- "$scratch"
	fi
	left=$(prefixed_domains; prefixed_nets; prefixed_files; [ -z "$h2_left" ] || echo "$h2_left")
	report_left "$left" "removed $nd domain(s), $nf file(s), the network $net1, the test host and the scratch dir"
	exit "$rc"
}
cleanup_traps

scratch=$(mktemp -d "/var/tmp/${prefix}XXXXXX")
chmod 755 "$scratch" # as on a real host: the daemons' users reach the disks
template="$scratch/${prefix}tpl.qcow2"
copy_image template "$fixture" "$template"

log "h2: scripts/testhost.sh start $scratch/h2"
h2dir=$scratch/h2
U2=$("$TH" start "$h2dir" </dev/null | tail -n 1) || die "scripts/testhost.sh start failed"
[[ $U2 == qemu+unix://* ]] || die "scripts/testhost.sh start printed '$U2', not a URI"
V2() { virsh -q -c "$U2" "$@"; }
mkdir -p "$scratch/shared"
V2 pool-create-as "$shared" dir --target "$scratch/shared" >/dev/null

cat >"$scratch/net1.xml" <<EOF
<network>
  <name>$net1</name>
  <bridge name='vsb$$' stp='on' delay='0'/>
  <ip address='$NET1.1' netmask='255.255.255.0'>
    <dhcp><range start='$NET1.100' end='$NET1.200'/></dhcp>
  </ip>
</network>
EOF
V net-define "$scratch/net1.xml" >/dev/null # never started
[ "$(V net-info "$net1" | awk '$1 == "Active:" { print $2 }')" = no ] ||
	die "network $net1 is active: it must never be started"

# ---- helpers -------------------------------------------------------------------
# write_plan FILE FLEET HOSTS GROUP...: a plan; HOSTS "h2" or "h1 h2".
write_plan() {
	local file=$1 fleet=$2 hosts=$3 h
	shift 3
	{
		echo "fleet: $fleet"
		echo "template: $template"
		echo "hosts:"
		for h in $hosts; do
			case $h in
			h1) echo "  - {name: h1, uri: \"$URI\"}" ;;
			h2) echo "  - {name: h2, uri: \"$U2\"}" ;;
			esac
		done
		echo "defaults: {memory: 512M, vcpus: 1}"
		echo "groups:"
		printf '  - %s\n' "$@"
	} >"$file"
}

# h2_group PATTERN N [POOL]: a group of N clones on h2 from NET2.10 (pool:
# PFXshared unless given).
h2_group() { echo "{name: $1, count: $2, ip: $NET2.10, host: h2, pool: ${3:-$shared}}"; }

# apply LABEL PLAN: vmstamp fleet apply, timed; echoes seconds. Output in
# SCRATCH/LABEL.out and .err.
apply() {
	local label=$1 plan=$2
	log "vmstamp: $label: fleet apply $(basename "$plan")"
	timed_vmstamp "$scratch/$label" "fleet apply" "$label" fleet apply "$plan"
}

# expect LABEL TEXT: vmstamp's output for LABEL has TEXT (its summary line).
expect() {
	grep -qF -- "$2" "$scratch/$1.out" ||
		die "$1: expected '$2' in vmstamp's output, got: $(grep '^fleet ' "$scratch/$1.out" || cat "$scratch/$1.out")"
}

# reservations_h2 / reservations_h1: the DHCP hosts named PFX* in h2's
# default and in PFXnet (its config: it never runs).
reservations_h2() { V2 net-dumpxml default | grep -c "<host mac=.* name='$prefix" || true; }
reservations_h1() { V net-dumpxml --inactive "$net1" | grep -c "<host mac=.* name='$prefix" || true; }

# left_over: what of this run's fleets and stock clones is still on h1 or h2
# (the template copies vmstamp keeps in a pool, PFXtpl-SHA12.FMT, and the
# stock template while the stock recipe runs excepted), one per line.
left_over() {
	local p f
	{ prefixed_domains | grep -v "^$stpl\$" | sed 's/^/h1 domain /'; } || true
	existing "$pool_dir/$prefix"* "$pool_dir/.$prefix"* | sed 's/^/h1 file /'
	for f in "$FLEET_DIR/$prefix"*.known_hosts; do
		[ -s "$f" ] && echo "h1 known_hosts lines in $f"
	done
	{ V net-dumpxml --inactive "$net1" | grep -E "name='$prefix|<hostname>$prefix" | sed "s/^ */h1 $net1: /"; } || true
	{ V2 list --all --name | grep "^$prefix" | grep -v "^$stpl\$" | sed 's/^/h2 domain /'; } || true
	for p in default "$shared"; do
		V2 pool-refresh "$p" >/dev/null || true
		{ V2 vol-list "$p" | awk '{ print $1 }' | grep "^$prefix" |
			grep -Ev "^(${prefix}tpl-[0-9a-f]{12}\.qcow2|$stpl\.qcow2)\$" | sed "s/^/h2 volume $p\//"; } || true
	done
	{ V2 net-dumpxml default | grep -E "name='$prefix|<hostname>$prefix" | sed 's/^ */h2 default: /'; } || true
	return 0
}

# destroy_fleet LABEL PLAN: vmstamp fleet destroy (untimed), then check.
notes=()
checks=0
destroy_fleet() {
	log "vmstamp: $1: fleet destroy"
	"$VMSTAMP" fleet destroy "$2" >"$scratch/$1-destroy.out" 2>&1 || {
		sed 's/^/  | /' "$scratch/$1-destroy.out" >&2
		die "vmstamp fleet destroy failed ($1)"
	}
	check_gone "$1: after vmstamp fleet destroy"
}
check_gone() {
	local left
	left=$(left_over)
	checks=$((checks + 1))
	if [ -n "$left" ]; then
		log "WARNING: $1, left behind:"
		printf '%s\n' "$left" | sed 's/^/  /' >&2
		notes+=("$1, left behind: $(printf '%s; ' "$left")")
	fi
}

# ---- header ------------------------------------------------------------------------
bench_start
header fleet
echo "  tools:     $(qemu-img --version | head -n 1), virt-clone $(virt-clone --version 2>&1), $(virt-sysprep --version 2>&1), $(virsh --version)"
echo "  template:  $family fixture, $(qemu-img info --output=json "$template" | awk -F'[:,]' '/"virtual-size"/ { printf "%d MiB virtual", $2 / 1048576 }'), $(f1 "$(du -B1 -- "$template" | cut -f1) / 1048576") MiB allocated"
echo "  hosts:     h1 $URI; h2 $U2"
echo "             (testhost.sh: own mount + network namespace)"
echo "  DHCP:      h2 'default' $NET2.0/24 (in h2's namespace, live + config);"
echo "             h1 '$net1' $NET1.0/24 (defined, never started: config only)"
echo "  runs:      stock comparison $([ "$skip_stock" -eq 1 ] && echo "skipped (vmstamp side $count)" || echo "$count"), sizes ${size_list[*]}, two hosts $([ "$two" -eq 0 ] && echo skipped || echo "$two"); prefix $prefix"
echo

# ---- warm-up (untimed) -------------------------------------------------------------
log "warm-up: a one-clone fleet on h2 (untimed), then destroyed"
write_plan "$scratch/warm.yaml" "${prefix}warm" h2 "$(h2_group "${prefix}w-%03d" 1)"
warm=$(apply warm "$scratch/warm.yaml")
expect warm "created 1, keep 0, drift 0, remove 0"
log "warm-up took $(f1 "$warm") s"
destroy_fleet warm "$scratch/warm.yaml"
stock_accel
dom_type=$(domain_type)
second=() # every second-apply time, for the target

# ---- 1. vmstamp side of the comparison ---------------------------------------------
cmp_plan=$scratch/cmp.yaml
write_plan "$cmp_plan" "${prefix}cmp" h2 "$(h2_group "${prefix}c-%03d" "$count")"
v_total=$(apply cmp "$cmp_plan")
expect cmp "created $count, keep 0, drift 0, remove 0"
[ "$(reservations_h2)" -eq "$count" ] || die "cmp: $(reservations_h2) DHCP hosts in h2's default, expected $count"
log "vmstamp: $count clones in $(f1 "$v_total") s"
v_second=$(apply cmp-2 "$cmp_plan")
expect cmp-2 "created 0, keep $count, drift 0, remove 0"
second+=("$v_second")
# shellcheck disable=SC2046 # names are [a-z0-9-]
v_disk=$(avg_disk_mib $(names "$scratch/shared/${prefix}c-%03d.qcow2" "$count"))
destroy_fleet cmp "$cmp_plan"

# ---- 1. stock recipe ----------------------------------------------------------------
s_total="" s_first="" s_disk="" s_clone_avg="" s_prep_avg="" s_net_avg="" s_note=""
if [ "$skip_stock" -eq 0 ]; then
	tpl_disk="$scratch/shared/$stpl.qcow2"
	link_or_copy "$template" "$tpl_disk"
	V2 pool-refresh "$shared" >/dev/null
	stock_template_xml "$stpl" "$dom_type" 512 "$tpl_disk" \
		"<interface type='network'><source network='default'/><model type='virtio'/></interface>" >"$scratch/stpl.xml"
	V2 define "$scratch/stpl.xml" >/dev/null
	log "stock: template domain $stpl defined on h2 ($tpl_disk)"

	s_clone_sum=0 s_prep_sum=0 s_net_sum=0
	t_start=$(now)
	i=0
	for name in $(names "$stock_pat" "$count"); do
		i=$((i + 1))
		ip="$NET2.$((STOCK_IP0 + i - 1))"
		ta=$(now)
		stock_clone "$U2" "$stpl" "$name"
		tb=$(now)
		stock_sysprep "$U2" "$name"
		tc=$(now)
		mac=$(V2 domiflist "$name" | awk '$2 == "network" { print $5; exit }')
		[ -n "$mac" ] || die "no network interface on $name"
		V2 net-update default add ip-dhcp-host "<host mac='$mac' name='$name' ip='$ip'/>" \
			--live --config >/dev/null || die "net-update failed for $name"
		td=$(now)
		s_clone_sum=$(calc "$s_clone_sum + $tb - $ta")
		s_prep_sum=$(calc "$s_prep_sum + $tc - $tb")
		s_net_sum=$(calc "$s_net_sum + $td - $tc")
		[ -n "$s_first" ] || s_first=$(calc "$td - $t_start")
		log "stock: $i/$count $name: virt-clone $(f1 "$tb - $ta") s, virt-sysprep $(f1 "$tc - $tb") s, net-update $(f2 "$td - $tc") s"
	done
	t_end=$(now)
	s_total=$(calc "$t_end - $t_start")
	s_clone_avg=$(calc "$s_clone_sum / $count")
	s_prep_avg=$(calc "$s_prep_sum / $count")
	s_net_avg=$(calc "$s_net_sum / $count")
	[ "$(reservations_h2)" -eq "$count" ] || die "stock: $(reservations_h2) DHCP hosts in h2's default, expected $count"
	# shellcheck disable=SC2046
	s_disk=$(avg_disk_mib $(names "$scratch/shared/$stock_pat.qcow2" "$count"))
	# Did the stock tools do what was asked?
	s_note=$(sysprep_note "$count")

	log "stock: removing its clones (undefine --remove-all-storage, net-update delete) and template"
	i=0
	for name in $(names "$stock_pat" "$count"); do
		i=$((i + 1))
		mac=$(V2 domiflist "$name" | awk '$2 == "network" { print $5; exit }')
		V2 net-update default delete ip-dhcp-host \
			"<host mac='$mac' name='$name' ip='$NET2.$((STOCK_IP0 + i - 1))'/>" --live --config >/dev/null ||
			log "stock: net-update delete failed for $name"
		V2 undefine "$name" --remove-all-storage >/dev/null || log "stock: undefine failed for $name"
	done
	V2 undefine "$stpl" >/dev/null || log "stock: undefine failed for $stpl"
	rm -f -- "$tpl_disk"
	check_gone "stock: after its clones are removed"
fi

# ---- 2 and 3. sizes, each with a second apply ----------------------------------------
size_t=() size_2=()
for s in "${size_list[@]}"; do
	plan=$scratch/size-$s.yaml
	write_plan "$plan" "${prefix}s$s" h2 "$(h2_group "${prefix}s$s-%03d" "$s")"
	t=$(apply "size-$s" "$plan")
	expect "size-$s" "created $s, keep 0, drift 0, remove 0"
	[ "$(reservations_h2)" -eq "$s" ] || die "size $s: $(reservations_h2) DHCP hosts in h2's default, expected $s"
	log "vmstamp: $s clones in $(f1 "$t") s"
	t2=$(apply "size-$s-2" "$plan")
	expect "size-$s-2" "created 0, keep $s, drift 0, remove 0"
	log "vmstamp: second apply of $s clones in $(f2 "$t2") s"
	size_t+=("$t")
	size_2+=("$t2")
	second+=("$t2")
	destroy_fleet "size-$s" "$plan"
done

# ---- 4. two hosts -------------------------------------------------------------------
two_t="" two_2="" two_up=""
if [ "$two" -gt 0 ]; then
	n1=$((two / 2))
	n2=$((two - n1))
	plan=$scratch/two.yaml
	write_plan "$plan" "${prefix}two" "h1 h2" \
		"{name: ${prefix}a-%03d, count: $n1, ip: $NET1.10, host: h1, network: $net1, pool: default}" \
		"$(h2_group "${prefix}b-%03d" "$n2" default)"
	two_t=$(apply two "$plan")
	expect two "created $two, keep 0, drift 0, remove 0"
	[ "$(reservations_h1)" -eq "$n1" ] || die "two hosts: $(reservations_h1) DHCP hosts in $net1, expected $n1"
	[ "$(reservations_h2)" -eq "$n2" ] || die "two hosts: $(reservations_h2) DHCP hosts in h2's default, expected $n2"
	[ "$(V net-info "$net1" | awk '$1 == "Active:" { print $2 }')" = no ] || die "network $net1 was started"
	two_up=$(grep -o 'template uploaded to [0-9]* host(s)' "$scratch/two.out" || echo "no template upload")
	log "vmstamp: $two clones on two hosts in $(f1 "$two_t") s ($two_up)"
	two_2=$(apply two-2 "$plan")
	expect two-2 "created 0, keep $two, drift 0, remove 0"
	! grep -q uploaded "$scratch/two-2.out" || die "two hosts: the second apply uploaded the template again"
	second+=("$two_2")
	destroy_fleet two "$plan"
fi

# ---- results ------------------------------------------------------------------------
# row LABEL VMSTAMP STOCK: lib.sh's, wider (longer labels)
row() { printf '  %-46s %12s %14s\n' "$@"; }

s_mean=""
[ -z "$s_total" ] || s_mean=$(calc "$s_total / $count")
echo "results (wall clock)"
echo "1. $count clones with DHCP reservations, on h2, disks in pool $shared"
row "" "vmstamp" "stock"
row "total (s)" "$(d1 "$v_total")" "$(d1 "$s_total")"
row "first clone (s)" "-" "$(d1 "$s_first")"
row "mean per clone (s)" "$(f1 "$v_total / $count")" "$(d1 "$s_mean")"
[ -z "$s_total" ] || row "  stock: virt-clone+virt-sysprep+net-update (s)" "" \
	"$(f1 "$s_clone_avg")+$(f1 "$s_prep_avg")+$(f1 "$s_net_avg")"
row "disk per clone (MiB allocated)" "$(f1 "$v_disk")" "$(d1 "$s_disk")"
row "clone type" "linked" "${s_total:+full copy}"
echo
echo "2./3. fleet apply by size (fresh fleet each, on h2 as in 1)"
printf '  %8s %12s %14s %20s %16s\n' clones "apply (s)" "per clone (s)" "marginal (s/clone)" "2nd apply (s)"
prev_s="" prev_t=""
for k in "${!size_list[@]}"; do
	s=${size_list[$k]} t=${size_t[$k]}
	if [ -n "$prev_s" ]; then marg=$(f2 "($t - $prev_t) / ($s - $prev_s)"); else marg="-"; fi
	printf '  %8s %12s %14s %20s %16s\n' "$s" "$(f1 "$t")" "$(f2 "$t / $s")" "$marg" "$(f2 "${size_2[$k]}")"
	prev_s=$s prev_t=$t
done
echo "  (second apply of the $count-clone comparison fleet: $(f2 "$v_second") s)"
echo
if [ "$two" -gt 0 ]; then
	echo "4. $two clones across two hosts: $n1 on h1 ($net1, pool default), $n2 on h2 (default, its own pool)"
	row "apply (s)" "$(f1 "$two_t")" ""
	row "mean per clone (s)" "$(f2 "$two_t / $two")" ""
	row "second apply (s)" "$(f2 "$two_2")" ""
	echo "  (the apply includes: $two_up)"
	echo
fi

max2=$(printf '%s\n' "${second[@]}" | sort -g | tail -n 1)
echo "targets"
speedup_target 48 20 "$count" "$s_total" "$v_total"
printf '  %-48s %12s  %s\n' "second apply, unchanged plan < 2 s (slowest of ${#second[@]})" "$(f2 "$max2") s" "$(status "$max2 < 2")"
if [ "$two" -gt 0 ]; then
	printf '  %-48s %12s  %s\n' "$two clones across two hosts < 3 min" "$(f1 "$two_t") s" "$(status "$two_t < 180")"
else
	printf '  %-48s %12s  %s\n' "clones across two hosts < 3 min" "-" SKIP
fi
echo
if [ ${#notes[@]} -eq 0 ]; then
	echo "leftovers: none (checked after each of $checks destroys: domains, volumes, DHCP/DNS entries, known_hosts on h1 and h2)"
else
	echo "leftovers: FOUND after $((${#notes[@]})) of $checks destroys:"
	printf '  %s\n' "${notes[@]}"
fi
[ -z "$s_note" ] || echo "note: $s_note"
bench_end fixture/template/h2
