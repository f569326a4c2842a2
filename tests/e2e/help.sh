#!/usr/bin/env bash
# Meta-test: vmstamp -h and every command's -h succeed and print a usage line,
# without libvirtd or root (run as nobody when we can).
set -euo pipefail
VMSTAMP=$1
run() { if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
          setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; else "$@"; fi; }
out=$(run "$VMSTAMP" -h)
grep -q '^usage: vmstamp' <<<"$out"
cmds=$(sed -n '/^Commands:/,$p' <<<"$out" | awk 'NR>1 {print $1}')
[ -n "$cmds" ]
for c in $cmds; do
  run "$VMSTAMP" "$c" -h | grep -e "^usage: vmstamp $c " >/dev/null || { echo "FAIL: $c -h"; exit 1; }
done
run "$VMSTAMP" --version | grep -e '^vmstamp [0-9]' >/dev/null
# An unknown command, directly or after help: one line naming it, exit 2.
for args in "no-such-command" "help no-such-command"; do
  rc=0; run "$VMSTAMP" $args >/tmp/help-out.$$ 2>/tmp/help-err.$$ || rc=$?
  err=$(cat /tmp/help-err.$$); out=$(cat /tmp/help-out.$$); rm -f /tmp/help-out.$$ /tmp/help-err.$$
  [ "$rc" = 2 ] || { echo "FAIL: vmstamp $args: exit $rc, not 2"; exit 1; }
  [ -z "$out" ] || { echo "FAIL: vmstamp $args: printed on stdout: $out"; exit 1; }
  [ "$(wc -l <<<"$err")" = 1 ] && grep -q "unknown command 'no-such-command'.*'vmstamp help'" <<<"$err" \
    || { echo "FAIL: vmstamp $args: '$err'"; exit 1; }
done
rc=0; run "$VMSTAMP" help clone rm >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || { echo "FAIL: vmstamp help clone rm: exit $rc, not 2"; exit 1; }
run "$VMSTAMP" help clone | grep -q '^usage: vmstamp clone ' || { echo "FAIL: vmstamp help clone"; exit 1; }
run "$VMSTAMP" help | grep -q '^usage: vmstamp' || { echo "FAIL: vmstamp help"; exit 1; }
echo "help: $(wc -w <<<"$cmds") commands answer -h"
