# shellcheck shell=bash
# lib.sh: helpers shared by the benchmark scripts (sourced after they set
# URI). Each script keeps its own cleanup (what it made differs) and calls
# report_left at its end and cleanup_traps to install it.
export LC_ALL=C

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
V() { virsh -q -c "$URI" "$@"; }
now() { date +%s.%N; }
# calc EXPR: floating-point arithmetic, kept at 3 decimals between steps;
# f1 / f2 EXPR: the same, rounded to one / two decimals for display.
calc() { awk "BEGIN { printf \"%.3f\", $* }"; }
f1() { awk "BEGIN { printf \"%.1f\", $* }"; }
f2() { awk "BEGIN { printf \"%.2f\", $* }"; }

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
