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
if run "$VMSTAMP" no-such-command 2>/dev/null; then echo "FAIL: unknown command accepted"; exit 1; fi
echo "help: $(wc -w <<<"$cmds") commands answer -h"
