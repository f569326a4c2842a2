#!/usr/bin/env bash
# man.sh VMSTAMP BUILD_DIR SRC_DIR: the man pages the build made from doc/*.scd.
# Every option that 'vmstamp -h' and each command's -h list is in the
# rendered vmstamp(1); man renders vmstamp(1) and vmstamp-fleet(5) without a
# warning; and vmstamp-fleet(5) names every key the plan parser knows.
set -euo pipefail
VMSTAMP=$1 BUILD=$2 SRC=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v man >/dev/null || fail "man is not installed (man-db)"
for page in vmstamp.1 vmstamp-fleet.5; do
  [ -s "$BUILD/$page" ] || fail "$BUILD/$page was not built"
  warnings=$(MANWIDTH=100 man --warnings -l "$BUILD/$page" 2>&1 >/dev/null) || fail "man -l $page failed"
  [ -z "$warnings" ] || fail "man -l $page: $warnings"
done
text=$(MANWIDTH=200 man -l "$BUILD/vmstamp.1" 2>/dev/null | col -b)
opts=$("$VMSTAMP" -h | grep -oE -- '(^|[ ,[])-{1,2}[A-Za-z][A-Za-z0-9-]*' | sed 's/^[ ,[]//')
cmds=$("$VMSTAMP" -h | sed -n '/^Commands:/,$p' | awk 'NR>1 {print $1}')
n=0
for c in $cmds; do
  grep -qx -- "   $c" <<<"$text" || fail "vmstamp(1) has no section for '$c'"
  opts+=$'\n'$("$VMSTAMP" "$c" -h | { grep -oE -- '(^|[ ,[|])--[a-z][a-z0-9-]*' || true; } | sed 's/^[ ,[|]//')
done
for o in $(sort -u <<<"$opts"); do
  grep -qE -- "(^|[^A-Za-z0-9-])$o([^A-Za-z0-9-]|$)" <<<"$text" || fail "vmstamp(1) lacks option '$o'"
  n=$((n + 1))
done
ftext=$(MANWIDTH=200 man -l "$BUILD/vmstamp-fleet.5" 2>/dev/null | col -b)
# The plan's keys, as the parser names them (top level and group keys), and a host's.
keys=$(sed -n 's/^ *\[\(FLEET\|FG\)_[A-Z_]*\] = "\([a-z_]*\)",$/\2/p' "$SRC/builder/pure/fleetplan.c")
[ "$(wc -w <<<"$keys")" -ge 20 ] || fail "cannot read the plan keys from fleetplan.c"
for k in $keys uri; do
  grep -qw -- "$k" <<<"$ftext" || fail "vmstamp-fleet(5) lacks key '$k'"
done
# cmake --install puts the binary, both pages and the bash completion in place.
inst=$(mktemp -d)
trap 'rm -rf "$inst"' EXIT
cmake --install "$BUILD" --prefix "$inst" >/dev/null || fail "cmake --install failed"
for f in bin/vmstamp share/man/man1/vmstamp.1 share/man/man5/vmstamp-fleet.5 share/bash-completion/completions/vmstamp; do
  [ -s "$inst/$f" ] || fail "cmake --install did not install $f"
done
echo "man: $n options of $(wc -w <<<"$cmds") commands in vmstamp(1); both pages render without warnings"
