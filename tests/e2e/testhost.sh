#!/usr/bin/env bash
# testhost.sh: a second libvirt host on this machine (scripts/testhost.sh), the
# groundwork of the fleet tests. Start it in the scratch directory; its
# `default` network is active there and the host's networks are unaffected;
# a linked clone of debian12 made on it with the real vmstamp (-c URI), an
# address reserved for its MAC in that network, booted on its NAT network
# (which exists only inside the test host's network namespace), its console
# shows its host name and MAC; `vmstamp -c URI rm`; the host stopped, and no
# daemon, dnsmasq or qemu of it is left.
#
# Not checked: the guest's DHCP lease. The fixtures' init (scripts/fixture/
# init.sh) runs no DHCP client (it prints its report and powers off), so
# `virsh domifaddr --source lease` has nothing to show for it. What is
# checked instead: the reservation is in the network and in its dnsmasq's
# hosts file, and the namespace's dnsmasq hands out a reserved address (a
# busybox udhcpc on a veth in the namespace, with a MAC of its own: not the
# guest's, so no lease is ever reported for the guest).
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

note "copy debian12 into the test host's pool; linked clone there"
tpl=$(fixture debian12)
cp --sparse=always "$tpl" "$DIR/images/debian12.qcow2"
chmod 644 "$DIR/images/debian12.qcow2"
$V2 pool-refresh default >/dev/null
name="${PREFIX}th1"
out=$("$VMSTAMP" -c "$URI2" clone --linked --network default --ip 192.168.150.10 \
        "$DIR/images/debian12.qcow2" "$name")
echo "$out"
$V2 list --all --name | grep -xe "$name" >/dev/null || fail "$name not defined on the test host"
! $V list --all --name | grep -xe "$name" >/dev/null || fail "$name defined on the host"
$V2 vol-list default | awk '{print $1}' | grep -xe "$name.qcow2" >/dev/null || fail "$name.qcow2 not in the test host's pool"
mac=$($V2 domiflist "$name" | awk 'NF >= 5 {print $5; exit}')
net=$($V2 domiflist "$name" | awk 'NF >= 5 {print $3; exit}')
[ "$net" = default ] || fail "$name's NIC is on '$net', want network default"
[ "$mac" = 52:54:c0:a8:96:0a ] || fail "--ip 192.168.150.10 gave MAC '$mac'"

note "reserve 192.168.150.10 for $mac"
$V2 net-update default add ip-dhcp-host "<host mac='$mac' name='$name' ip='192.168.150.10'/>" --live --config >/dev/null
$V2 net-dumpxml default | grep -e "mac='$mac' name='$name' ip='192.168.150.10'" >/dev/null || fail "reservation not in the network"
grep -e "$mac,192.168.150.10,$name" "$DIR/var/lib/libvirt/dnsmasq/default.hostsfile" >/dev/null \
  || fail "reservation not in dnsmasq's hosts file: $(cat "$DIR/var/lib/libvirt/dnsmasq/default.hostsfile" 2>&1)"

note "the namespace's dnsmasq hands out a reservation (udhcpc on a veth, its own MAC)"
vmac=52:54:00:e2:e2:0b
$V2 net-update default add ip-dhcp-host "<host mac='$vmac' name='${PREFIX}probe' ip='192.168.150.11'/>" --live --config >/dev/null
# shellcheck disable=SC2016 # expanded inside the namespace
nsenter -t "$(cat "$DIR/holder.pid")" -n sh -c '
  ip link add thp0 type veth peer name thp1 &&
  ip link set thp1 master thbr0 && ip link set thp1 up &&
  ip link set thp0 address "$1" && ip link set thp0 up &&
  busybox udhcpc -i thp0 -n -q -f -t 10 -T 1 -s /bin/true 2>&1 | grep -i "lease of"; rc=$?
  ip link del thp0; exit $rc' sh "$vmac" >"$SCRATCH/udhcpc" 2>&1 || true
grep -e "lease of 192.168.150.11 obtained" "$SCRATCH/udhcpc" >/dev/null \
  || fail "the test host's dnsmasq did not hand out 192.168.150.11: $(cat "$SCRATCH/udhcpc")"
wait_for 10 sh -c "$V2 net-dhcp-leases default | grep -e '$vmac' | grep -e 192.168.150.11/ >/dev/null" \
  || fail "net-dhcp-leases does not show the probe's lease: $($V2 net-dhcp-leases default)"

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
for ((i = 0; i < 120; i += 2)); do
  [ "$($V2 domstate "$name" 2>/dev/null)" = "shut off" ] && break
  grep -e VMSTAMP-DONE "$log" >/dev/null 2>&1 && break
  sleep 2
done
grep -e VMSTAMP-DONE "$log" >/dev/null 2>&1 || { tail -n 20 "$log" >&2 || true; fail "$name: no report on its console within 120 s"; }
tr -d '\r' <"$log" >"$SCRATCH/console"
host=$(sed -n 's/^VMSTAMP-HOSTNAME=//p' "$SCRATCH/console" | tail -n 1)
gmac=$(sed -n 's/^VMSTAMP-MAC eth0=//p' "$SCRATCH/console" | tail -n 1)
echo "$name: console hostname=$host mac=$gmac (booted in $(( SECONDS - t0 )) s since start)"
[ "$host" = "$name" ] || fail "$name: console hostname '$host'"
[ "$gmac" = "$mac" ] || fail "$name: console MAC '$gmac', domiflist '$mac'"
lease=$($V2 domifaddr "$name" --source lease 2>/dev/null || true)
echo "$name: domifaddr --source lease: '${lease:-none}' (the fixture runs no DHCP client: not checked)"

note "destroy, vmstamp -c URI rm, stop the test host"
$V2 destroy "$name" >/dev/null 2>&1 || true
"$VMSTAMP" -c "$URI2" rm "$name"
! $V2 list --all --name | grep -xe "$name" >/dev/null || fail "$name still defined after rm"
$V2 pool-refresh default >/dev/null
! $V2 vol-list default | awk '{print $1}' | grep -xe "$name.qcow2" >/dev/null || fail "$name.qcow2 left after rm"
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
