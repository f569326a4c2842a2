# shellcheck shell=bash
# lib.sh: helpers shared by the benchmark scripts (sourced after they set
# SCRIPT_DIR; it sets REPO, URI and VMSTAMP). Each script keeps its own
# cleanup (what it made differs) and calls report_left at its end and
# cleanup_traps to install it. The helpers for what a run made use the
# script's $prefix (its per-run name prefix) and $scratch (its scratch dir).
# shellcheck disable=SC2154 # prefix, scratch: set by the sourcing script
export LC_ALL=C

REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
URI=qemu:///system
VMSTAMP=${VMSTAMP:-$REPO/build/vmstamp}
LAYOUT_DIR=/var/cache/vmstamp/layouts # the template layouts vmstamp records

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
V() { virsh -q -c "$URI" "$@"; }
now() { date +%s.%N; }
# calc EXPR: floating-point arithmetic, kept at 3 decimals between steps;
# f1 / f2 EXPR: the same, rounded to one / two decimals for display.
calc() { awk "BEGIN { printf \"%.3f\", $* }"; }
f1() { awk "BEGIN { printf \"%.1f\", $* }"; }
f2() { awk "BEGIN { printf \"%.2f\", $* }"; }
# bytes FILE: its size in bytes; mib BYTES: the same in MiB (3 decimals).
bytes() { stat -c %s -- "$1"; }
mib() { calc "$1 / 1048576"; }

# report_left LEFT DONE: what cleanup could not remove (LEFT, one per line),
# else the line DONE.
report_left() {
	if [ -n "$1" ]; then
		log "cleanup: WARNING, left behind:"
		printf '%s\n' "$1" | sed 's/^/  /' >&2
	else
		log "cleanup: $2"
	fi
}

# cleanup_traps: the function 'cleanup' runs at exit; signals exit through it.
cleanup_traps() {
	trap cleanup EXIT
	trap 'log "interrupted"; exit 130' INT
	trap 'log "terminated"; exit 143' TERM
	trap 'log "hangup"; exit 129' HUP
}

# preflight COMMAND TOOL...: the tools are installed, libvirtd answers, and
# $VMSTAMP (built into $REPO/build if missing) has COMMAND.
preflight() {
	local cmd=$1 tool
	shift
	for tool in "$@"; do
		command -v "$tool" >/dev/null || die "missing tool: $tool (bash scripts/setup.sh)"
	done
	V version >/dev/null 2>&1 || die "libvirtd not reachable at $URI (bash scripts/setup.sh)"
	if [ ! -x "$VMSTAMP" ]; then
		log "building vmstamp ($REPO/build)"
		cmake -S "$REPO" -B "$REPO/build" >&2 && cmake --build "$REPO/build" -j2 >&2 ||
			die "cannot build vmstamp"
	fi
	[ -x "$VMSTAMP" ] || die "no vmstamp binary at $VMSTAMP"
	"$VMSTAMP" "$cmd" -h >/dev/null 2>&1 ||
		die "$VMSTAMP has no '$cmd' command (stale build? cmake --build $REPO/build)"
}

# default_pool_dir: the target path of the active storage pool 'default'.
default_pool_dir() {
	local dir
	dir=$(V pool-dumpxml default 2>/dev/null | sed -n 's:.*<path>\(.*\)</path>.*:\1:p' | head -n 1)
	[ -n "$dir" ] && [ -d "$dir" ] || die "storage pool 'default' missing or inactive (bash scripts/setup.sh)"
	echo "$dir"
}

# fixture_image FAMILY: the cached fixture image (scripts/build-fixtures.sh).
fixture_image() {
	local f
	log "fixture: scripts/build-fixtures.sh $1 (may take a while if not cached)"
	f=$("$REPO/scripts/build-fixtures.sh" "$1" </dev/null | tail -n 1) ||
		die "scripts/build-fixtures.sh $1 failed"
	[ -f "$f" ] || die "fixture '$f' not found"
	echo "$f"
}

# copy_image WHAT SRC DST...: sparse copies of SRC, then all read into the page
# cache (for both sides alike); logged as "WHAT: copying SRC -> DST, ...".
copy_image() {
	local what=$1 src=$2 dst list
	shift 2
	list=$(printf ', %s' "$@")
	log "$what: copying $src -> ${list#, }"
	for dst in "$@"; do
		cp --sparse=always -- "$src" "$dst"
	done
	cat -- "$@" >/dev/null
}

# own_scratch: $scratch is set and is this run's (/var/tmp/$prefix*), so it may go.
own_scratch() { [ -n "$scratch" ] && [[ $scratch == /var/tmp/"$prefix"* ]]; }

# names PATTERN N: the names vmstamp makes from the printf PATTERN for 1..N.
names() {
	local i
	# shellcheck disable=SC2059 # the pattern is a printf format, like vmstamp's
	for ((i = 1; i <= $2; i++)); do printf "$1\n" "$i"; done
}

# ---- accelerator -------------------------------------------------------------
# vmstamp_accel: the accelerator vmstamp decided this boot (kvm, tcg), if probed.
vmstamp_accel() { cut -d' ' -f2 /run/vmstamp/accel 2>/dev/null; }

# probe_accel: vmstamp doctor runs if vmstamp has not probed the accelerator yet.
probe_accel() {
	if [ ! -f /run/vmstamp/accel ]; then
		log "accel: not probed yet this boot, running vmstamp doctor"
		"$VMSTAMP" -c "$URI" doctor >/dev/null 2>&1 || true
	fi
	[ -f /run/vmstamp/accel ] || die "vmstamp doctor did not record an accelerator in /run/vmstamp/accel"
}

# stock_accel: the stock libguestfs tools use the accelerator vmstamp decided.
stock_accel() {
	if [ "$(vmstamp_accel)" = kvm ]; then
		unset LIBGUESTFS_BACKEND_SETTINGS
	else
		export LIBGUESTFS_BACKEND_SETTINGS=force_tcg
	fi
}

# domain_type: the libvirt domain type for vmstamp's accelerator (kvm, qemu).
domain_type() { if [ "$(vmstamp_accel)" = kvm ]; then echo kvm; else echo qemu; fi; }

# ---- what a run made: $prefix* -----------------------------------------------
# existing PATH...: those of the PATHs that exist (an unmatched glob drops out).
existing() {
	local f
	for f in "$@"; do
		[ -e "$f" ] && printf '%s\n' "$f"
	done
	return 0
}

# recorded_layouts KEY: the layout files vmstamp recorded for a path with /KEY
# (the layout key is "PATH dev=... ino=...", JSON-escaped: '/' as '\/').
recorded_layouts() {
	[ -d "$LAYOUT_DIR" ] || return 0
	grep -lF -- "\\/$1" "$LAYOUT_DIR"/*.json 2>/dev/null || true
}

# prefixed_domains: the domains (on $URI) named $prefix*, one per line.
prefixed_domains() { V list --all --name 2>/dev/null | grep "^${prefix}" || true; }

# remove_prefixed_domains: destroy and undefine them; echoes how many.
remove_prefixed_domains() {
	local d n=0
	for d in $(prefixed_domains); do
		[[ $d == "$prefix"* ]] || continue
		if [ "$(V domstate "$d" 2>/dev/null)" != "shut off" ]; then V destroy "$d" >/dev/null 2>&1; fi
		V undefine "$d" --managed-save --snapshots-metadata >/dev/null 2>&1 ||
			V undefine "$d" >/dev/null 2>&1
		n=$((n + 1))
	done
	echo "$n"
}

# remove_listed: remove the files named on stdin, one per line; echoes how many.
remove_listed() {
	local f n=0
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		rm -f -- "$f" && n=$((n + 1))
	done
	echo "$n"
}

# ---- measuring ---------------------------------------------------------------
# avg_disk_mib FILE...: average allocated size, MiB
avg_disk_mib() {
	local f total=0 n=0 bytes
	for f in "$@"; do
		[ -f "$f" ] || die "no disk '$f'"
		bytes=$(du -B1 -- "$f" | cut -f1)
		total=$((total + bytes))
		n=$((n + 1))
	done
	calc "$total / $n / 1048576"
}

# timed_vmstamp OUT WHAT LABEL ARG...: vmstamp ARG..., output in OUT.out and
# OUT.err; echoes seconds. On failure: "vmstamp WHAT FAILED (LABEL)", both, exit.
timed_vmstamp() {
	local out=$1.out err=$1.err what=$2 label=$3 t0 t1
	shift 3
	t0=$(now)
	if ! "$VMSTAMP" "$@" >"$out" 2>"$err"; then
		log "vmstamp $what FAILED ($label); its stdout:"
		sed 's/^/  | /' "$out" >&2
		log "its stderr:"
		sed 's/^/  | /' "$err" >&2
		exit 1
	fi
	t1=$(now)
	calc "$t1 - $t0"
}

# ---- the stock recipe --------------------------------------------------------
# link_or_copy SRC DST [CP_OPTION...]: DST a hard link to SRC, else a sparse copy.
link_or_copy() { ln -- "$1" "$2" 2>/dev/null || cp --sparse=always "${@:3}" -- "$1" "$2"; }

# stock_template_xml NAME TYPE MIB DISK INTERFACE: the stock template domain's XML.
stock_template_xml() {
	cat <<EOF
<domain type='$2'>
  <name>$1</name>
  <memory unit='MiB'>$3</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$4'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    $5
    <serial type='pty'/>
  </devices>
</domain>
EOF
}

# stock_clone URI ORIGINAL NAME: virt-clone --auto-clone (log in $scratch), or die.
stock_clone() {
	virt-clone --connect "$1" --original "$2" --name "$3" --auto-clone \
		>>"$scratch/virt-clone.log" 2>&1 ||
		{ tail -n 20 "$scratch/virt-clone.log" >&2; die "virt-clone failed for $3"; }
}

# stock_sysprep URI NAME: virt-sysprep --hostname NAME (log in $scratch), or die.
stock_sysprep() {
	virt-sysprep --connect "$1" -d "$2" --hostname "$2" \
		>"$scratch/virt-sysprep-$2.log" 2>&1 ||
		{ tail -n 20 "$scratch/virt-sysprep-$2.log" >&2; die "virt-sysprep failed for $2"; }
}

# sysprep_note COUNT: a note if virt-sysprep could not set host names (it warns).
sysprep_note() {
	local nwarn
	# virt-customize 1.48 cannot set the host name of some distros and only warns.
	nwarn=$(cat "$scratch"/virt-sysprep-*.log | grep -c 'warning: hostname could not be set' || true)
	[ "$nwarn" -eq 0 ] ||
		echo "virt-sysprep warned 'hostname could not be set for this type of guest' on $nwarn/$1 clones: the stock clones keep the template's host name"
}

# ---- the results -------------------------------------------------------------
# bench_start: the clock starts ($start); the load and accelerator for the header.
bench_start() {
	start=$(now)
	read -r load1 load5 _ </proc/loadavg
	accel=$(cut -d' ' -f2- /run/vmstamp/accel 2>/dev/null || echo "not probed yet")
}

# header WHAT [ACCEL_NOTE]: the first lines: benchmark, host, vmstamp, accelerator.
header() {
	echo "vmstamp $1 benchmark, $(date -u '+%Y-%m-%d %H:%M:%SZ')"
	echo "  host:      $(uname -r), $(nproc) cpu, load $load1/$load5 (1/5 min)"
	echo "  vmstamp:   $VMSTAMP ($("$VMSTAMP" -V 2>/dev/null || echo '?'), built $(date -u -r "$VMSTAMP" '+%Y-%m-%d %H:%M:%SZ'))"
	echo "  accel:     $accel${2:+ $2}"
}

# bench_end SETUP: the last line: wall time since bench_start, load at the end.
bench_end() {
	read -r load1 load5 _ </proc/loadavg
	echo "benchmark wall time $(f1 "$(now) - $start") s (after $1 setup; cleanup follows), load at end $load1/$load5"
}

# status EXPR: PASS if the awk EXPR holds, else MISS.
status() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo MISS; fi; }

# speedup_target WIDTH N COUNT STOCK VMSTAMP: the target row "stock / vmstamp >= N".
speedup_target() {
	local ratio=- st=SKIP
	if [ -n "$4" ]; then
		ratio="$(f1 "$4 / $5")x"
		st=$(status "$4 / $5 >= $2")
	fi
	printf "  %-${1}s %12s  %s\n" ">= $2x faster than stock at $3 clones" "$ratio" "$st"
}

# row LABEL VMSTAMP STOCK: a line of a results table.
row() { printf '  %-36s %12s %12s\n' "$@"; }
# d1 / d2 VALUE: VALUE to one / two decimals, or "-" when there is none
d1() { if [ -n "$1" ]; then f1 "$1"; else echo "-"; fi; }
d2() { if [ -n "$1" ]; then f2 "$1"; else echo "-"; fi; }
