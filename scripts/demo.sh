#!/usr/bin/env bash
# demo.sh: the README's first command. On a fresh machine: install and start
# what is needed, build vmstamp, then run the pipeline on the bundled default:
#   build: install the test installer ISO (built from Debian packages, laid
#   out like a RHEL DVD) with kickstart/testdist.ks, then template create
#   (sysprep + shrink into the template store), once;
#   clone --count 3 from the store (linked, disk grown to 4G),
#   boot one clone and show what it printed on its serial console.
# Re-runnable: the demo clones of a previous run are removed first. Guests
# use user-mode networking.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-3}
TEMPLATE=demo-testdist
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
VMSTAMP=$PWD/build/vmstamp

old=$("$VMSTAMP" list | awk '$1 ~ /^demo-[0-9]+$/ {print $1}')
[ -z "$old" ] || "$VMSTAMP" -q rm --force $old

# The bundled default, end to end: the test installer ISO (built from
# Debian packages) installed with kickstart/testdist.ks, then made into a
# template (templates/testdist.yaml). Reused while it verifies.
iso=$(scripts/build-installer-iso.sh | tail -n 1)
if ! "$VMSTAMP" -q template verify "$TEMPLATE" >/dev/null 2>&1; then
  "$VMSTAMP" -q template rm "$TEMPLATE" 2>/dev/null || true
  echo "== vmstamp build templates/testdist.yaml --iso $iso (install, then template create)"
  time "$VMSTAMP" build templates/testdist.yaml --iso "$iso" --network user --name "$TEMPLATE"
fi
echo "== vmstamp template list"
"$VMSTAMP" template list

echo "== vmstamp clone --count $COUNT (linked, grown to 4G, user networking)"
time "$VMSTAMP" clone --network user --size 4G --count "$COUNT" --name-pattern 'demo-%02d' "$TEMPLATE"
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
