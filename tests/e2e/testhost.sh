#!/usr/bin/env bash
# testhost.sh: a second libvirt host on this machine (scripts/testhost.sh), the
# groundwork of the fleet tests. Start it in the scratch directory; its
# `default` network is active there and the host's networks are unaffected;
# its `default` pool is at /var/lib/libvirt/images, a different directory from
# ours of that path (a volume uploaded with `virsh vol-upload` lands in
# DIR/var/lib/libvirt/images, not in the host's); a linked clone of debian12
# made on it with the real vmstamp (-c URI) in a pool the test defines at
# DIR/images (a path both sides share: vmstamp writes the clone's disk on our
# side), an address reserved for its MAC in that network, booted on its NAT
# network (which exists only inside the test host's network namespace): its
# console shows its host name, MAC and the reserved address (the fixtures'
# init asks for a DHCP lease, scripts/fixture/init.sh), and `virsh domifaddr
# --source lease` shows that address (read while the guest is paused the
# moment it has its lease: it powers off right after its report);
# `vmstamp -c URI rm`; the host stopped, and no daemon, dnsmasq or qemu of it
# is left.
. "$(dirname "$0")/lib.sh"
start_test
TH=$SRC/scripts/testhost.sh
DIR=$SCRATCH/host2
NETNS=

th_cleanup() {
  [ -e "$DIR/.testhost" ] && "$TH" stop "$DIR" >&2 || true
}
trap 'th_cleanup; cleanup' EXIT

# Processes of the test host: its command lines name DIR, or they live in its
# network namespace (dnsmasq's command line does not name DIR).
th_procs() {
  local p
  pgrep -af -- "$DIR" | grep -v -e "pgrep" || true
  [ -n "$NETNS" ] || return 0
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$NETNS" ] && echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
  done
  return 0
}

t0=$SECONDS
host_nets=$($V net-list --all)
host_links=$(ip -br link | awk '{print $1}' | sort)

note "start a test host in $DIR"
URI2=$("$TH" start "$DIR")
[ "$URI2" = "qemu+unix:///system?socket=$DIR/run/libvirt/libvirt-sock" ] || fail "start printed '$URI2'"
V2="virsh -q -c $URI2"
NETNS=$(cat "$DIR/netns")
[ "$NETNS" != "$(readlink /proc/self/ns/net)" ] || fail "test host shares the host's network namespace"
[ "$("$TH" start "$DIR")" = "$URI2" ] || fail "a second start did not print the same URI"
"$TH" status "$DIR" | grep -e "^running " >/dev/null || fail "status: $("$TH" status "$DIR")"
ls_libvirtd=$(cat "$DIR/libvirtd.pid")
[ "$(pgrep -c -x libvirtd)" -ge 2 ] || fail "no second libvirtd"
note "test host up in $(( SECONDS - t0 )) s: $URI2"

# Its default network is active; the host's are as they were, and its bridge
# is not on the host.
$V2 net-list | awk '$1 == "default" && $2 == "active" {ok = 1} END {exit !ok}' \
  || fail "default network not active on the test host: $($V2 net-list --all)"
[ "$($V net-list --all)" = "$host_nets" ] || fail "host's net-list changed: $($V net-list --all)"
[ "$(ip -br link | awk '{print $1}' | sort)" = "$host_links" ] || fail "host's links changed"
! ip link show thbr0 >/dev/null 2>&1 || fail "the test host's bridge is on the host"
nsenter -t "$(cat "$DIR/holder.pid")" -n ip -br addr show thbr0 | grep -e 192.168.150.1/24 >/dev/null \
  || fail "no thbr0 with 192.168.150.1 in the test host's namespace"
$V2 pool-list | awk '$1 == "default" && $2 == "active" {ok = 1} END {exit !ok}' || fail "default pool not active"

note "its default pool: /var/lib/libvirt/images there, DIR/var/lib/libvirt/images here"
ppath=$($V2 pool-dumpxml default | sed -n 's:.*<path>\(.*\)</path>.*:\1:p' | head -n 1)
[ "$ppath" = /var/lib/libvirt/images ] || fail "test host's default pool is at '$ppath'"
probe="${PREFIX}probe.raw"
head -c 1048576 /dev/urandom >"$SCRATCH/probe.raw"
$V2 vol-create-as default "$probe" 1M --format raw >/dev/null
$V2 vol-upload --pool default "$probe" "$SCRATCH/probe.raw"
[ "$($V2 vol-path --pool default "$probe")" = "/var/lib/libvirt/images/$probe" ] \
  || fail "vol-path of the upload: $($V2 vol-path --pool default "$probe")"
cmp "$SCRATCH/probe.raw" "$DIR/var/lib/libvirt/images/$probe" || fail "the upload is not in $DIR/var/lib/libvirt/images"
[ ! -e "$POOL_DIR/$probe" ] || fail "the upload to the test host's pool is in the host's $POOL_DIR"
$V2 vol-delete --pool default "$probe" >/dev/null
[ ! -e "$DIR/var/lib/libvirt/images/$probe" ] || fail "vol-delete left $probe"

note "copy debian12 into a pool both sides share (DIR/images); linked clone there"
mkdir -p "$DIR/images"
chmod 755 "$DIR/images"
tpl=$(fixture debian12)
cp --sparse=always "$tpl" "$DIR/images/debian12.qcow2"
chmod 644 "$DIR/images/debian12.qcow2"
$V2 pool-create-as shared dir --target "$DIR/images" >/dev/null
name="${PREFIX}th1"
out=$("$VMSTAMP" -c "$URI2" clone --linked --pool shared --network default --ip 192.168.150.10 \
        "$DIR/images/debian12.qcow2" "$name")
echo "$out"
$V2 list --all --name | grep -xe "$name" >/dev/null || fail "$name not defined on the test host"
! $V list --all --name | grep -xe "$name" >/dev/null || fail "$name defined on the host"
$V2 vol-list shared | awk '{print $1}' | grep -xe "$name.qcow2" >/dev/null || fail "$name.qcow2 not in the test host's pool shared"
[ -f "$DIR/images/$name.qcow2" ] || fail "$name's disk is not $DIR/images/$name.qcow2"
mac=$($V2 domiflist "$name" | awk 'NF >= 5 {print $5; exit}')
net=$($V2 domiflist "$name" | awk 'NF >= 5 {print $3; exit}')
[ "$net" = default ] || fail "$name's NIC is on '$net', want network default"
[ "$mac" = 52:54:c0:a8:96:0a ] || fail "--ip 192.168.150.10 gave MAC '$mac'"

note "reserve 192.168.150.10 for $mac"
$V2 net-update default add ip-dhcp-host "<host mac='$mac' name='$name' ip='192.168.150.10'/>" --live --config >/dev/null
$V2 net-dumpxml default | grep -e "mac='$mac' name='$name' ip='192.168.150.10'" >/dev/null || fail "reservation not in the network"
grep -e "$mac,192.168.150.10,$name" "$DIR/var/lib/libvirt/dnsmasq/default.hostsfile" >/dev/null \
  || fail "reservation not in dnsmasq's hosts file: $(cat "$DIR/var/lib/libvirt/dnsmasq/default.hostsfile" 2>&1)"

note "boot $name on the test host"
$V2 start "$name" >/dev/null
log=$DIR/var/log/libvirt/qemu/$name-serial0.log
qpid=$(cat "$DIR/run/libvirt/qemu/$name.pid" 2>/dev/null || true)
[ -n "$qpid" ] && [ "$(readlink "/proc/$qpid/ns/net" 2>/dev/null)" = "$NETNS" ] \
  || fail "$name's qemu (pid '$qpid') is not in the test host's namespace"
# The tap is on the namespace's bridge, not on the host.
vnet=$($V2 domiflist "$name" | awk 'NF >= 5 {print $1; exit}')
nsenter -t "$(cat "$DIR/holder.pid")" -n ip -br link show master thbr0 | grep -e "^$vnet " >/dev/null \
  || fail "$name's tap '$vnet' is not on thbr0 in the namespace"
! ip link show "$vnet" >/dev/null 2>&1 || [ -z "$vnet" ] || fail "tap $vnet is on the host"
# The guest's udhcpc prints "lease of A obtained", then configures A, prints
# its report and powers off (about a second under TCG): paused the moment
# that line shows, so domifaddr (which needs a running domain) can see it.
# On a loaded machine the guest can still power off first; it is then booted
# again (its reservation gives it the same address), at most three times.
lease=
for attempt in 1 2 3; do
  if [ "$attempt" -gt 1 ]; then
    echo "$name: powered off before it could be paused; boot $attempt"
    $V2 start "$name" >/dev/null
  fi
  for ((i = 0; i < 2400; i++)); do
    if grep -e "lease of 192.168.150.10 obtained" "$log" >/dev/null 2>&1; then
      if $V2 suspend "$name" >/dev/null 2>&1; then
        lease=$($V2 domifaddr "$name" --source lease 2>&1) || fail "$name: domifaddr --source lease: $lease"
        echo "$name: domifaddr --source lease: $lease"
        $V2 resume "$name" >/dev/null
      fi
      break
    fi
    if (( i % 20 == 19 )) && [ "$($V2 domstate "$name" 2>/dev/null)" = "shut off" ]; then
      break
    fi
    sleep 0.05
  done
  [ -n "$lease" ] && break
  for ((i = 0; i < 600; i++)); do
    [ "$($V2 domstate "$name" 2>/dev/null)" = "shut off" ] && break
    sleep 0.1
  done
done
for ((i = 0; i < 1200; i++)); do
  grep -e VMSTAMP-DONE "$log" >/dev/null 2>&1 && break
  [ "$($V2 domstate "$name" 2>/dev/null)" = "shut off" ] && break
  sleep 0.1
done
grep -e VMSTAMP-DONE "$log" >/dev/null 2>&1 || { tail -n 20 "$log" >&2 || true; fail "$name: no report on its console within 120 s"; }
tr -d '\r' <"$log" >"$SCRATCH/console"
host=$(sed -n 's/^VMSTAMP-HOSTNAME=//p' "$SCRATCH/console" | tail -n 1)
gmac=$(sed -n 's/^VMSTAMP-MAC eth0=//p' "$SCRATCH/console" | tail -n 1)
gip=$(sed -n 's/^VMSTAMP-IP=//p' "$SCRATCH/console" | tail -n 1)
echo "$name: console hostname=$host mac=$gmac ip=$gip (booted in $(( SECONDS - t0 )) s since start)"
[ "$host" = "$name" ] || fail "$name: console hostname '$host'"
[ "$gmac" = "$mac" ] || fail "$name: console MAC '$gmac', domiflist '$mac'"
[ "$gip" = 192.168.150.10 ] || { grep -e udhcpc "$SCRATCH/console" >&2 || true; fail "$name: console VMSTAMP-IP '$gip', want the reserved 192.168.150.10"; }
[ -n "$lease" ] || fail "$name: not paused with its lease of 192.168.150.10 in 3 boots"
awk -v m="$mac" '$2 == m && $3 == "ipv4" && $4 == "192.168.150.10/24" {ok = 1} END {exit !ok}' <<<"$lease" \
  || fail "$name: domifaddr --source lease does not show 192.168.150.10 for $mac: $lease"
$V2 net-dhcp-leases default --mac "$mac" | grep -e "192.168.150.10/24" | grep -e "$name" >/dev/null \
  || fail "$name: net-dhcp-leases: $($V2 net-dhcp-leases default)"

note "destroy, vmstamp -c URI rm, stop the test host"
$V2 destroy "$name" >/dev/null 2>&1 || true
"$VMSTAMP" -c "$URI2" rm "$name"
! $V2 list --all --name | grep -xe "$name" >/dev/null || fail "$name still defined after rm"
$V2 pool-refresh shared >/dev/null
! $V2 vol-list shared | awk '{print $1}' | grep -xe "$name.qcow2" >/dev/null || fail "$name.qcow2 left after rm"
[ ! -e "$DIR/images/$name.qcow2" ] || fail "$DIR/images/$name.qcow2 left after rm"

dns_pids=$(cat "$DIR/run/libvirt/network/default.pid" 2>/dev/null || true)
[ -n "$dns_pids" ] || fail "no dnsmasq pid for the test host's network"
"$TH" stop "$DIR"
left=$(th_procs)
[ -z "$left" ] || fail "left running after stop: $left"
for p in $ls_libvirtd $dns_pids $qpid; do
  [ ! -e "/proc/$p" ] || [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" != "$NETNS" ] || fail "pid $p still running"
done
$V version >/dev/null || fail "the host's libvirtd does not answer"
[ "$($V net-list --all)" = "$host_nets" ] || fail "host's net-list changed"
"$TH" stop "$DIR" || fail "a second stop failed"
st=0; "$TH" status "$DIR" >/dev/null || st=$?
[ "$st" = 3 ] || fail "status after stop: exit $st"
awk -v d="$DIR/" 'index($2, d) == 1' /proc/mounts | grep . && fail "mounts left under $DIR"
echo "e2e-testhost: passed in $(( SECONDS - t0 )) s"
