#!/usr/bin/env bash
# demo.sh: the README's first command. On a fresh machine: install and start
# what is needed, build vmstamp, build the bundled default template (the
# Rocky-9-like el9 test guest), stamp out 3 clones with a bigger disk, boot
# one and show what it printed on its serial console. Re-runnable: the demo
# clones of a previous run are removed first. Guests use user-mode networking.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-3}
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
VMSTAMP=$PWD/build/vmstamp

dir=/var/tmp/vmstamp-demo
mkdir -p "$dir"
chmod 755 "$dir"
src=$(scripts/build-fixtures.sh el9 | tail -n 1)
tpl=$dir/el9-template.qcow2
if ! cmp -s "$src" "$tpl"; then
  old=$("$VMSTAMP" list | awk '$1 ~ /^demo-[0-9]+$/ {print $1}')
  [ -z "$old" ] || "$VMSTAMP" rm --force $old
  cp --sparse=always "$src" "$tpl.tmp" && mv "$tpl.tmp" "$tpl"
fi
old=$("$VMSTAMP" list | awk '$1 ~ /^demo-[0-9]+$/ {print $1}')
[ -z "$old" ] || "$VMSTAMP" rm --force $old

echo "== vmstamp clone --count $COUNT (linked, grown to 4G, user networking)"
time "$VMSTAMP" clone --network user --size 4G --count "$COUNT" --name-pattern 'demo-%02d' "$tpl"
echo "== vmstamp list"
"$VMSTAMP" list
echo "== booting demo-01; its serial console says:"
virsh -q -c qemu:///system start demo-01 >/dev/null
for _ in $(seq 1 150); do
  [ "$(virsh -q -c qemu:///system domstate demo-01)" = "shut off" ] && break
  sleep 2
done
grep '^VMSTAMP-' /var/log/libvirt/qemu/demo-01-serial0.log | tr -d '\r'
echo "== done: 'build/vmstamp list' shows the clones, 'build/vmstamp rm demo-01 ...' removes them"
