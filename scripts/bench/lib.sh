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
