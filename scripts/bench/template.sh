#!/usr/bin/env bash
# template.sh -- benchmark: vmstamp template create vs. the stock libguestfs
# recipe (virt-sysprep, then virt-sparsify --compress), same source, one run.
#
# Usage: scripts/bench/template.sh [--family F]
#   --family F     fixture family from scripts/build-fixtures.sh (default el9;
#                  el7 el9 debian12 ubuntu22)
#
# Not a test: it prints figures and always exits 0 once they are printed
# (MISS is a figure, not a failure). Takes a few minutes (both sides launch
# libguestfs appliances, under TCG on this host).
# Progress goes to stderr, the results table to stdout.
#
# What is timed (wall clock), each on its own scratch copy of the fixture:
#   vmstamp:  vmstamp template create PFXt --from SRC
#             (default sysprep operations + shrink in one appliance launch,
#             then a zstd-compressed qcow2 into the template store, checksummed)
#   stock:    virt-sysprep -a COPY                      (default operations)
#             virt-sparsify --compress COPY OUT.qcow2   (zlib-compressed qcow2)
#             timed together; the time of each is shown too.
#   size:     bytes of the resulting image file (the store's PFXt.qcow2 and
#             OUT.qcow2), shown in MiB.
# Making the scratch copies is not timed (the stock recipe edits its input in
# place; vmstamp never writes its source). An untimed appliance launch
# (guestfish -a /dev/null run) runs first, so neither side pays for a cold
# page cache or the libguestfs appliance build, and vmstamp's once-per-boot
# KVM probe is done (vmstamp doctor) before anything is timed.
#
# Safety: everything is named with a per-run prefix (bench-PID-); the script
# refuses to start if anything with that prefix exists, and removes only what
# it made (EXIT trap, also on Ctrl-C/TERM/HUP): the scratch dir in /var/tmp
# (both source copies, virt-sparsify's output and its --tmp overlay), the
# store template PFXt (vmstamp template rm, then any prefixed leftovers in the
# store and its index), the layout vmstamp recorded for it, and a vmstamp work
# dir whose overlay is backed by this run's scratch source. The cached fixture
# is only read (cp), never touched. No domain is defined or started.

set -euo pipefail
shopt -s inherit_errexit

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STORE_POOL=vmstamp-templates             # vmstamp's default template store
STORE_DEFAULT_DIR=/var/lib/vmstamp/templates
STORE_INDEX=/var/lib/vmstamp/index/$STORE_POOL

# The stock tools run with the accelerator vmstamp decided (its probe result,
# cached per boot in /run/vmstamp/accel, read before the warm-up below), so
# both sides use TCG where KVM hangs and KVM where it works.
export LIBGUESTFS_BACKEND=direct
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"
usage() { sed -n '2,8s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

# ---- arguments ---------------------------------------------------------------
family=el9
while [ $# -gt 0 ]; do
	case $1 in
	--family) [ $# -ge 2 ] || die "--family needs a name"; family=$2; shift 2 ;;
	--family=*) family=${1#--family=}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
[[ $family =~ ^[a-z0-9]+$ ]] || die "bad family name '$family'"

# ---- prerequisites -----------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "must run as root (qemu:///system, template store)"
preflight template virsh qemu-img virt-sysprep virt-sparsify guestfish du stat awk

fixture=$(fixture_image "$family")

# store_dir: the template store's directory (the pool may not exist before
# the first vmstamp template create; then it will be vmstamp's default).
store_dir() {
	local d
	d=$(V pool-dumpxml "$STORE_POOL" 2>/dev/null | sed -n 's:.*<path>\(.*\)</path>.*:\1:p' | head -n 1)
	echo "${d:-$STORE_DEFAULT_DIR}"
}
STORE_DIR=$(store_dir)

# ---- per-run names, collision check, cleanup trap ------------------------------
prefix="bench-$$-"
tpl="${prefix}t"

# prefixed_files: the store image (and vmstamp's .NAME.qcow2.vmstamp-tmp), its
# metadata (and .json.tmp, .NAME.verified), the layout vmstamp recorded for it.
prefixed_files() {
	existing "$STORE_DIR/$prefix"* "$STORE_DIR/.$prefix"* "$STORE_INDEX/$prefix"* "$STORE_INDEX/.$prefix"*
	recorded_layouts "$tpl.qcow2 dev="
}
[ -z "$(prefixed_files)" ] && [ -z "$(compgen -G "/var/tmp/$prefix*" || true)" ] ||
	die "files named $prefix* already exist (stale run with the same pid?): remove them first"

scratch=""
cleanup() {
	local rc=$? d nf left what=""
	trap - EXIT INT TERM HUP
	set +e
	log "cleanup: removing everything named $prefix*"
	if [ -e "$STORE_DIR/$tpl.qcow2" ] || [ -e "$STORE_INDEX/$tpl.json" ]; then
		"$VMSTAMP" -q -c "$URI" template rm "$tpl" >/dev/null 2>&1 && what="the store template $tpl, "
	fi
	# Whatever template rm left (an interrupted create: .vmstamp-tmp, a
	# metadata file without its image), and the recorded layout.
	nf=$(prefixed_files | remove_listed)
	V pool-refresh "$STORE_POOL" >/dev/null 2>&1
	if own_scratch; then
		# vmstamp removes its work dir itself, unless it was killed: remove
		# one only if its overlay is backed by this run's source copy.
		for d in /var/tmp/vmstamp-work.*; do
			[ -f "$d/overlay.qcow2" ] || continue
			qemu-img info -U --output=json "$d/overlay.qcow2" 2>/dev/null |
				grep -qF "\"backing-filename\": \"$scratch/" || continue
			rm -rf -- "$d"
		done
		rm -rf -- "$scratch"
	fi
	left=$(prefixed_files; compgen -G "/var/tmp/$prefix*")
	report_left "$left" "removed ${what}$nf other file(s) and the scratch dir"
	exit "$rc"
}
cleanup_traps

scratch=$(mktemp -d "/var/tmp/${prefix}XXXXXX")
src_v="$scratch/source-vmstamp.qcow2"
src_s="$scratch/source-stock.qcow2"
out_s="$scratch/stock-out.qcow2"
copy_image source "$fixture" "$src_v" "$src_s"

# ---- accelerator: vmstamp's verdict, for the stock tools too -------------------
probe_accel
stock_accel

# ---- helpers -------------------------------------------------------------------
# compression TYPE of a qcow2 image (zlib, zstd), from qemu-img info
compression() {
	qemu-img info -U --output=json "$1" |
		awk -F'"' '/"compression-type"/ { print $4; exit }'
}
# run LOGNAME CMD...: run CMD with its output in the scratch dir; on failure
# show the tail of it and stop.
run() {
	local name=$1
	shift
	if ! "$@" >"$scratch/$name.log" 2>&1; then
		log "$1 FAILED; the end of its output:"
		tail -n 20 "$scratch/$name.log" | sed 's/^/  | /' >&2
		exit 1
	fi
}

# ---- header ------------------------------------------------------------------------
bench_start
n_vops=$("$VMSTAMP" template ops 2>/dev/null | awk '$2 == "on"' | wc -l)
n_sops=$(virt-sysprep --list-operations 2>/dev/null | awk '$2 == "*"' | wc -l)
header template
echo "  tools:     $(qemu-img --version | head -n 1), $(virt-sysprep --version 2>&1), $(virt-sparsify --version 2>&1)"
echo "  source:    $family fixture, $(qemu-img info --output=json "$src_v" | awk -F'[:,]' '/"virtual-size"/ { printf "%d MiB virtual", $2 / 1048576 }'), $(f1 "$(mib "$(bytes "$src_v")")") MiB file ($(compression "$src_v" || echo '?') qcow2)"
echo "  sysprep:   default operations on both sides (vmstamp $n_vops on, virt-sysprep $n_sops on)"
echo "  names:     prefix $prefix, template $tpl in store $STORE_POOL ($STORE_DIR), scratch $scratch"
echo

# ---- warm-up (untimed) -------------------------------------------------------------
log "warm-up: one throw-away appliance launch (guestfish -a /dev/null run, untimed)"
t0=$(now)
run warmup guestfish -a /dev/null run
log "warm-up took $(f1 "$(now) - $t0") s"

# ---- vmstamp -------------------------------------------------------------------------
log "vmstamp: template create $tpl --from $src_v"
t0=$(now)
run vmstamp "$VMSTAMP" -c "$URI" template create "$tpl" --from "$src_v"
t1=$(now)
v_time=$(calc "$t1 - $t0")
v_image="$STORE_DIR/$tpl.qcow2"
[ -f "$v_image" ] || die "vmstamp reported success but $v_image does not exist"
v_line=$(grep "^$tpl: " "$scratch/vmstamp.log" | tail -n 1 || true)
[ -n "$v_line" ] || die "vmstamp printed no '$tpl: ...' result line"
v_bytes=$(bytes "$v_image")
v_comp=$(compression "$v_image")
log "vmstamp: $(f1 "$v_time") s, $v_line"
log "vmstamp: template rm $tpl"
"$VMSTAMP" -q -c "$URI" template rm "$tpl" >&2 || die "vmstamp template rm failed"

# ---- stock recipe ------------------------------------------------------------------
log "stock: virt-sysprep -a $src_s"
t0=$(now)
run virt-sysprep virt-sysprep -a "$src_s"
t1=$(now)
log "stock: virt-sysprep took $(f1 "$t1 - $t0") s; virt-sparsify --compress -> $out_s"
run virt-sparsify virt-sparsify --compress --tmp "$scratch" --check-tmpdir=continue "$src_s" "$out_s"
t2=$(now)
s_time=$(calc "$t2 - $t0")
s_prep=$(calc "$t1 - $t0")
s_sparse=$(calc "$t2 - $t1")
log "stock: virt-sparsify took $(f1 "$s_sparse") s"
[ -f "$out_s" ] || die "virt-sparsify reported success but $out_s does not exist"
s_bytes=$(bytes "$out_s")
s_comp=$(compression "$out_s")
# Anything the stock tools warned about (they go on after warnings).
s_warn=$(cat "$scratch/virt-sysprep.log" "$scratch/virt-sparsify.log" | grep -i 'warning' | sort -u || true)

# ---- results ------------------------------------------------------------------------
src_bytes=$(bytes "$src_v")
v_mib=$(mib "$v_bytes")
s_mib=$(mib "$s_bytes")
t_ratio=$(calc "$s_time / $v_time")
z_ratio=$(calc "$s_bytes / $v_bytes")

echo "results (wall clock)"
row "" "vmstamp" "stock"
row "time (s)" "$(f1 "$v_time")" "$(f1 "$s_time")"
row "  virt-sysprep + virt-sparsify (s)" "" "$(f1 "$s_prep") + $(f1 "$s_sparse")"
row "image size (MiB)" "$(f1 "$v_mib")" "$(f1 "$s_mib")"
row "image size (bytes)" "$v_bytes" "$s_bytes"
row "image format" "qcow2 ${v_comp:-?}" "qcow2 ${s_comp:-?}"
row "source image (MiB, each side)" "$(f1 "$(mib "$src_bytes")")" "$(f1 "$(mib "$src_bytes")")"
echo "  time ratio stock/vmstamp: $(f1 "$t_ratio")x; size ratio stock/vmstamp: $(f2 "$z_ratio")x"
echo "  (vmstamp: $v_line)"
echo

echo "targets"
printf '  %-44s %12s  %s\n' "template no larger than virt-sparsify's output" \
	"$(f1 "$v_mib") MiB" "$(status "$v_bytes <= $s_bytes")"
printf '  %-44s %12s  %s\n' "made in at most half its time" "$(f1 "$t_ratio")x" "$(status "$s_time >= 2 * $v_time")"
if [ -n "$s_warn" ]; then
	echo
	echo "note: the stock tools warned:"
	printf '%s\n' "$s_warn" | sed 's/^/  /'
fi
echo
bench_end fixture/source
