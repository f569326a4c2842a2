#!/usr/bin/env bash
# forward.sh: port forwards (clone --forward, a fleet group's forwards:),
# as a sysadmin would check them:
#  1. the rules alone: `vmstamp hook qemu` (what libvirt runs) in a throwaway
#     network and mount namespace adds the nft map element and the iptables
#     FORWARD accept on start (twice: still one of each), refuses a host port
#     that another domain added, removes on stopped only what that domain's
#     UUID added (a copy of it, with h1's metadata or re-bound to its own
#     UUID, adds and removes nothing), fails the start in one line on each
#     hostile forward (off-network, 0.0.0.0, loopback, broadcast, multicast,
#     the network's own addresses, "0447", low ports, 22, a listening port;
#     allow-low-port and force in the metadata count only with root's grant
#     file for the domain's UUID);
#     with iptables only (no nft in PATH) the nat rules instead;
#  2. user errors, one line, nothing made, no hook put on this host;
#  3. in a second libvirt host (scripts/testhost.sh: its own mount and
#     network namespace, where vmstamp runs as it would on that host): a
#     clone whose test service (the fixture's init, /etc/vmstamp-serve)
#     answers through the host port from a client in a third namespace
#     (through PREROUTING and FORWARD, as from another machine) and from the
#     host itself (OUTPUT); the host's existing hooks/qemu kept and still
#     called; the port refused to a second clone at plan time; no rule after
#     a stop, rules back on a start libvirt does alone (the hook); none after
#     rm; a fleet group of two whose host ports count up, none after destroy.
# No guest traffic leaves the namespaces.
. "$(dirname "$0")/lib.sh"
start_test
command -v nft >/dev/null || { echo "SKIP: nft missing (apt-get install nftables)"; exit 77; }
TH=$SRC/scripts/testhost.sh
DIR=$SCRATCH/host
CLIENT=
fw_cleanup() {
  [ -z "$CLIENT" ] || kill $CLIENT 2>/dev/null || true
  [ -e "$DIR/.testhost" ] && "$TH" stop "$DIR" >&2 || true
  rm -f /var/lib/vmstamp/fleet/"$PREFIX"*
}
trap 'fw_cleanup; cleanup' EXIT
[ ! -e /etc/libvirt/hooks/qemu.d/vmstamp ] && host_hook_before=none || host_hook_before=$(sha256sum </etc/libvirt/hooks/qemu.d/vmstamp)

# ---- 1. the rules, through the hook command ---------------------------------
# In a throwaway network and mount namespace: a private /run (vmstamp's
# ownership records, a libvirt network status file of a network 'default'
# whose bridge thbr0 has 192.168.150.1/24 there).
note "hook: nft map element and FORWARD accept on start, none after stopped"
U1=0b6c3c4e-5d1a-4a8e-9f3e-00000000aa01
U2=0b6c3c4e-5d1a-4a8e-9f3e-00000000aa02
U3=0b6c3c4e-5d1a-4a8e-9f3e-00000000aa03
# domxml NAME UUID BOUND-UUID FORWARD-ELEMENTS: a clone's XML as libvirt gives it to the hook
domxml() {
  cat <<EOF
<domain type='qemu'><name>$1</name><uuid>$2</uuid><metadata>
<vmstamp:clone xmlns:vmstamp="http://vmstamp.org/xmlns/clone/1.0"><vmstamp:template>/t</vmstamp:template>
<vmstamp:uuid>$3</vmstamp:uuid>
$4
</vmstamp:clone></metadata><devices><interface type='network'><source network='default' bridge='thbr0'/></interface></devices></domain>
EOF
}
FW1='<vmstamp:forward proto="tcp" host="8765" guest="1337" address="192.168.150.50"/>
<vmstamp:forward proto="udp" host="5353" guest="53" address="192.168.150.50"/>'
domxml "${PREFIX}h1" $U1 $U1 "$FW1" >"$SCRATCH/dom.xml"
domxml "${PREFIX}h2" $U2 $U2 "${FW1//192.168.150.50/192.168.150.51}" >"$SCRATCH/dom2.xml"
# A copy of h1 (virt-clone, virsh dumpxml | define): its own name and UUID, h1's metadata.
domxml "${PREFIX}h1copy" $U3 $U1 "$FW1" >"$SCRATCH/copy.xml"
# The same copy with its metadata re-bound to its own UUID (as its definer can write it).
domxml "${PREFIX}h1copy" $U3 $U3 "$FW1" >"$SCRATCH/copy-bound.xml"
# h1 whose running metadata was changed (virsh metadata --live) to another address.
domxml "${PREFIX}h1" $U1 $U1 "${FW1//192.168.150.50/192.168.150.99}" >"$SCRATCH/dom-edited.xml"
# Hostile forwards, each alone, bound to the domain's own UUID (some with both flags set).
i=0
while read -r want attrs; do
  i=$((i + 1))
  domxml "${PREFIX}x$i" $U2 $U2 "<vmstamp:forward $attrs/>" >"$SCRATCH/hostile$i.xml"
  echo "$want" >"$SCRATCH/hostile$i.want"
done <<'EOF'
not.on.the.domain's.network proto="tcp" host="22" guest="22" address="10.9.9.9" allow-low-port="yes" force="yes"
the.unspecified.address proto="udp" host="53" guest="53" address="0.0.0.0" allow-low-port="yes" force="yes"
a.loopback.address proto="tcp" host="80" guest="8080" address="127.0.0.1" allow-low-port="yes" force="yes"
the.broadcast.address proto="tcp" host="443" guest="443" address="255.255.255.255" allow-low-port="yes" force="yes"
a.multicast.address proto="tcp" host="8443" guest="443" address="224.0.0.251"
the.network's.own.address proto="tcp" host="8443" guest="443" address="192.168.150.0"
the.network's.broadcast.address proto="tcp" host="8443" guest="443" address="192.168.150.255"
the.host's.own.address.on.the.network proto="tcp" host="8443" guest="443" address="192.168.150.1"
malformed.vmstamp.port.forward.*host="0447" proto="tcp" host="0447" guest="443" address="192.168.150.50"
malformed.vmstamp.port.forward.*address="192.168.150.050" proto="tcp" host="8443" guest="443" address="192.168.150.050"
malformed.vmstamp.port.forward.*host="8443x" proto="tcp" host="8443x" guest="443" address="192.168.150.50"
below.1024.need.--allow-low-port proto="tcp" host="80" guest="80" address="192.168.150.50"
below.1024.need.--allow-low-port proto="tcp" host="22" guest="22" address="192.168.150.50" allow-low-port="yes" force="yes"
a.service.on.this.host.listens.on.it proto="tcp" host="9999" guest="80" address="192.168.150.50"
EOF
NHOSTILE=$i
# Port 22 with both flags in its metadata: only root's grant makes them count.
domxml "${PREFIX}ssh" $U2 $U2 '<vmstamp:forward proto="tcp" host="22" guest="22" address="192.168.150.50" allow-low-port="yes" force="yes"/>' >"$SCRATCH/ssh.xml"
mkdir -p "$SCRATCH/ipt-only"
ln -s "$(command -v iptables)" "$SCRATCH/ipt-only/iptables"
VMSTAMP=$VMSTAMP P=$PREFIX S=$SCRATCH NHOSTILE=$NHOSTILE U1=$U1 U2=$U2 unshare -n -m bash -euo pipefail -c '
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "--- $*" >&2; }
mount -t tmpfs fwtest /run
mkdir -p /var/lib/vmstamp
mount -t tmpfs fwtestlib /var/lib/vmstamp
mkdir -p /run/libvirt/network
echo "<networkstatus><class_id bitmap=\"0-2\"/><floor sum=\"0\"/><network><name>default</name><bridge name=\"thbr0\" stp=\"on\" delay=\"0\"/><ip address=\"192.168.150.1\" netmask=\"255.255.255.0\"><dhcp><range start=\"192.168.150.100\" end=\"192.168.150.200\"/></dhcp></ip></network></networkstatus>" >/run/libvirt/network/default.xml
ip link set lo up
ip link add thbr0 type bridge
ip addr add 192.168.150.1/24 dev thbr0
ip link set thbr0 up
hook() { "$VMSTAMP" hook qemu "$1" "$2" begin - <"$3"; }
elements() { nft list map ip vmstamp dnat4 2>/dev/null | tr -s "\n\t " " " | sed -n "s/.*elements = { \([^}]*\) }.*/\1/p"; }
accepts() { iptables -S FORWARD | grep -c "vmstamp: " || true; }
H1="tcp . 8765 : 192.168.150.50 . 1337, udp . 5353 : 192.168.150.50 . 53"
# refused NAME FILE WANT: the hook fails the start with one line matching WANT
refused() {
  local rc=0
  hook "$1" start "$2" 2>"$S/hook.err" || rc=$?
  [ "$rc" != 0 ] || fail "$2: start not refused"
  [ "$(wc -l <"$S/hook.err")" = 1 ] || fail "$2: not one line: $(cat "$S/hook.err")"
  grep -Eq -- "$3" "$S/hook.err" || fail "$2: $(cat "$S/hook.err") does not match /$3/"
}
hook "${P}h1" start "$S/dom.xml"
hook "${P}h1" start "$S/dom.xml"
[ "$(elements)" = "$H1" ] || fail "elements after start: $(elements)"
[ "$(accepts)" = 2 ] || fail "FORWARD accepts after two starts: $(iptables -S FORWARD)"
iptables -S FORWARD | grep -q -- "-d 192.168.150.50/32 -p tcp -m tcp --dport 1337 -m conntrack --ctstate DNAT -m comment --comment \"vmstamp: ${P}h1\" -j ACCEPT" || fail "no accept for 1337: $(iptables -S FORWARD)"
[ "$(nft list chain ip vmstamp prerouting | grep -c dnat)" = 1 ] || fail "prerouting rule doubled"
[ "$(cat /run/vmstamp/forward/tcp-8765)" = "$U1 192.168.150.50 1337 ${P}h1" ] || fail "ownership record: $(cat /run/vmstamp/forward/tcp-8765)"
[ "$(stat -c %a /run/vmstamp/forward)" = 700 ] || fail "record directory not root-only"
refused "${P}h2" "$S/dom2.xml" "port 8765/tcp to .${P}h2.: it is forwarded to domain .${P}h1. \(UUID $U1\)"
hook "${P}h2" stopped "$S/dom2.xml"   # not its port: left to h1
[ "$(elements)" = "$H1" ] || fail "h2 stopped removed h1 forwards: $(elements)"
echo "ok: a host port another domain has is refused, and its stop leaves it"

note "a copy of h1 (another UUID, h1 metadata): start refused, its stop removes nothing"
refused "${P}h1copy" "$S/copy.xml" "metadata is not bound to it \(a copy"
hook "${P}h1copy" stopped "$S/copy.xml"
refused "${P}h1copy" "$S/copy-bound.xml" "it is forwarded to domain .${P}h1."
hook "${P}h1copy" stopped "$S/copy-bound.xml"
[ "$(elements)" = "$H1" ] || fail "a copy took h1 forwards away: $(elements)"
[ "$(accepts)" = 2 ] || fail "a copy took h1 FORWARD accepts away: $(iptables -S FORWARD)"
echo "ok: copies neither add nor remove"

note "reconnect with a malformed forward: nothing added, the running domain not killed (exit 0)"
hook "${P}x9" reconnect "$S/hostile9.xml" 2>"$S/hook.err" || fail "reconnect failed: $(cat "$S/hook.err")"
grep -q "malformed vmstamp port forward" "$S/hook.err" || fail "reconnect said nothing: $(cat "$S/hook.err")"
[ "$(elements)" = "$H1" ] || fail "reconnect changed the map: $(elements)"

note "h1 stopped with its metadata changed since its start: what h1 added goes"
hook "${P}h1" stopped "$S/dom-edited.xml"
hook "${P}h1" stopped "$S/dom.xml"
[ -z "$(elements)" ] || fail "elements after stopped: $(elements)"
[ "$(accepts)" = 0 ] || fail "FORWARD accepts after stopped: $(iptables -S FORWARD)"
[ -z "$(ls /run/vmstamp/forward)" ] || fail "records left: $(ls /run/vmstamp/forward)"
"$VMSTAMP" hook qemu "${P}h1" prepare begin - <"$S/dom.xml"
[ -z "$(elements)" ] || fail "prepare added rules"

note "hostile forwards, each alone: the start fails with one line, nothing added"
busybox nc -l -p 9999 >/dev/null 2>&1 </dev/null &
LISTENER=$!
for ((t = 0; t < 50; t++)); do grep -q ":270F 00000000:0000 0A" /proc/net/tcp && break; sleep 0.1; done
for ((i = 1; i <= NHOSTILE; i++)); do
  refused "${P}x$i" "$S/hostile$i.xml" "$(cat "$S/hostile$i.want")"
  [ -z "$(elements)" ] && [ "$(accepts)" = 0 ] && [ -z "$(iptables -t nat -S | grep vmstamp)" ] \
    || fail "hostile$i.xml added rules: $(elements) $(iptables -S FORWARD)"
  hook "${P}x$i" stopped "$S/hostile$i.xml"
done
kill $LISTENER 2>/dev/null || true
echo "ok: $NHOSTILE hostile forwards refused"

note "allow-low-port and force count only with root grant for the UUID"
mkdir -m 700 /var/lib/vmstamp/forwards
G=/var/lib/vmstamp/forwards/$U2
refused "${P}ssh" "$S/ssh.xml" "below 1024 need --allow-low-port"
printf "tcp 22 low force\n" >$G
chown nobody $G
refused "${P}ssh" "$S/ssh.xml" "port grant $G is not root.s own file"
chown root $G
chmod 666 $G
refused "${P}ssh" "$S/ssh.xml" "port grant $G is not root.s own file"
chmod 600 $G
printf "tcp 22 low\n" >$G
refused "${P}ssh" "$S/ssh.xml" "it is the host.s ssh port"
printf "tcp 22 low force\n" >$G
hook "${P}ssh" start "$S/ssh.xml" || fail "a granted forward of port 22 refused"
[ "$(elements)" = "tcp . 22 : 192.168.150.50 . 22" ] || fail "granted: $(elements)"
hook "${P}ssh" stopped "$S/ssh.xml"
[ -z "$(elements)" ] || fail "granted, stopped: $(elements)"
rm -f $G
echo "ok: grants"

nft delete table ip vmstamp
PATH=$S/ipt-only hook "${P}h1" start "$S/dom.xml"
[ "$(iptables -t nat -S PREROUTING | grep -c "vmstamp: ${P}h1")" = 2 ] || fail "iptables PREROUTING: $(iptables -t nat -S)"
iptables -t nat -S OUTPUT | grep -q -- "! -d 127.0.0.0/8 -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 8765 -m comment --comment \"vmstamp: ${P}h1\" -j DNAT --to-destination 192.168.150.50:1337" || fail "iptables OUTPUT: $(iptables -t nat -S OUTPUT)"
! nft list table ip vmstamp >/dev/null 2>&1 || fail "nft used without nft in PATH"
PATH=$S/ipt-only hook "${P}h1copy" stopped "$S/copy-bound.xml"
[ "$(iptables -t nat -S PREROUTING | grep -c "vmstamp: ${P}h1")" = 2 ] || fail "iptables: a copy removed h1 rules"
PATH=$S/ipt-only hook "${P}h1" stopped "$S/dom.xml"
[ -z "$(iptables -t nat -S | grep vmstamp)$(iptables -S | grep vmstamp)" ] || fail "iptables rules left: $(iptables -t nat -S; iptables -S)"
' || fail "hook rules"
echo "ok: hook rules (nft, iptables)"

# ---- 2. user errors -------------------------------------------------------------
tpl=$(fixture debian12)
N=${PREFIX}bad
rc=0
"$VMSTAMP" clone --forward 8765 "$tpl" "$N" 2>"$SCRATCH/err" || rc=$?
[ "$rc" = 2 ] && grep -q "invalid forward '8765'" "$SCRATCH/err" || fail "--forward 8765: rc $rc, $(cat "$SCRATCH/err")"
expect_one_line_error "--forward without an address" "port forwards to '$N' need its address: give it a static one" \
  clone --network user --forward 8765:22 "$tpl" "$N"
assert_nothing_left "--forward without an address"
expect_one_line_error "one host port twice" "host port 8765/tcp is forwarded twice" \
  clone --network user --ip 10.9.8.7/24 --forward 8765:22 --forward 8765:80 "$tpl" "$N"
assert_nothing_left "one host port twice"

# ---- 3. on a second host, in its namespaces ------------------------------------
U2=$("$TH" start "$DIR" | tail -n 1)
expect_one_line_error "--forward to another daemon's socket" "is not this machine's qemu:///system: run vmstamp there" \
  -c "$U2" clone --ip 192.168.150.9/24 --forward 8765:22 "$tpl" "$N"
[ -z "$(virsh -q -c "$U2" list --all --name | grep "^$PREFIX")" ] || fail "refused --forward made a domain"
H=$(cat "$DIR/holder.pid")
inns() { nsenter -t "$H" -m -n "$@"; }
V2="inns virsh -q -c qemu:///system"
# vmstamp's accelerator decision, as on this machine (its /run is the namespace's own).
inns sh -c 'mkdir -p /run/vmstamp && cat >/run/vmstamp/accel' </run/vmstamp/accel

note "that host already has a qemu hook of its own"
inns sh -c 'mkdir -p /etc/libvirt/hooks && printf "#!/bin/sh\necho \"\$1 \$2 \$3\" >>/var/log/libvirt/own-hook.log\n" >/etc/libvirt/hooks/qemu && chmod 755 /etc/libvirt/hooks/qemu'
own_hook=$(sha256sum <"$DIR/etc/libvirt/hooks/qemu")

note "a template whose guest serves TCP port 1337"
cp --sparse=always "$tpl" "$SCRATCH/serve.qcow2"
gf --rw -a "$SCRATCH/serve.qcow2" -i write /etc/vmstamp-serve "1337"
chmod 644 "$SCRATCH/serve.qcow2"

note "a client in a third namespace: 10.77.0.2, routed through the host's 10.77.0.1"
inns ip link add vmstfw0 type veth peer name vmstfw1
inns ip addr add 10.77.0.1/24 dev vmstfw0
inns ip link set vmstfw0 up
inns unshare -n sleep infinity >/dev/null 2>&1 &
CLIENT=$!
for ((i = 0; i < 50; i++)); do
  cpid=$(pgrep -P "$CLIENT" sleep || pgrep -x -P "$(pgrep -P "$CLIENT" | head -n 1)" sleep || true)
  [ -n "$cpid" ] && [ "$(readlink "/proc/$cpid/ns/net")" != "$(readlink "/proc/$H/ns/net")" ] && break
  sleep 0.1
done
[ -n "$cpid" ] || fail "no client namespace"
CLIENT="$CLIENT $cpid"
inns ip link set vmstfw1 netns "$cpid"
nsenter -t "$cpid" -n sh -c 'ip link set lo up; ip addr add 10.77.0.2/24 dev vmstfw1; ip link set vmstfw1 up; ip route add default via 10.77.0.1'
client() { nsenter -t "$cpid" -n "$@"; }
# ask PORT [FROM]: the line the service answers on the host's 10.77.0.1:PORT, from the client (or the host)
ask() {
  if [ "${2:-client}" = client ]; then client busybox nc -w 3 10.77.0.1 "$1" </dev/null 2>/dev/null || true
  else inns busybox nc -w 3 10.77.0.1 "$1" </dev/null 2>/dev/null || true; fi
}
wait_service() { # PORT WANT SECONDS [FROM: client (default) or host]
  local i out
  for ((i = 0; i < $3; i += 3)); do
    out=$(ask "$1" "${4:-client}")
    case "$out" in *"$2"*) return 0 ;; esac
    sleep 2
  done
  fail "no '$2' on host port $1 after $3 s (last answer '$out'); console: $(tail -n 5 "$DIR"/var/log/libvirt/qemu/*-serial0.log 2>/dev/null)"
}
rules() { inns nft list map ip vmstamp dnat4 2>/dev/null | grep -c ' : 192.168.150' || true; }
accepts() { inns iptables -S FORWARD | grep -c "vmstamp: " || true; }

note "clone --forward 8765:1337, started"
W=${PREFIX}web
$V2 net-update default add ip-dhcp-host "<host mac='52:54:c0:a8:96:32' name='$W' ip='192.168.150.50'/>" --live --config >/dev/null
inns "$VMSTAMP" clone --network default --ip 192.168.150.50/24 --gateway 192.168.150.1 --memory 512 \
  --forward 8765:1337 --start "$SCRATCH/serve.qcow2" "$W" >"$SCRATCH/out" 2>"$SCRATCH/err" \
  || fail "clone --forward: $(cat "$SCRATCH/err")"
cat "$SCRATCH/out" "$SCRATCH/err"
grep -q "forward host port 8765/tcp to 192.168.150.50:1337" "$SCRATCH/out" || fail "clone output names no forward"
grep -q "installed libvirt's qemu hook /etc/libvirt/hooks/qemu.d/vmstamp" "$SCRATCH/err" || fail "no word of the hook"
[ -x "$DIR/etc/libvirt/hooks/qemu.d/vmstamp" ] || fail "no hook in the host's hooks/qemu.d"
[ "$(sha256sum <"$DIR/etc/libvirt/hooks/qemu")" = "$own_hook" ] || fail "the host's own hooks/qemu was changed"
$V2 dumpxml "$W" | grep -q '<vmstamp:forward proto="tcp" host="8765" guest="1337" address="192.168.150.50"/>' \
  || fail "forward not in the domain's metadata"
wait_service 8765 "VMSTAMP-SERVICE $W 192.168.150.50" 240
echo "ok: the guest's service answers on the host's port 8765 (from the client)"
wait_service 8765 "VMSTAMP-SERVICE $W 192.168.150.50" 60 host
echo "ok: and from the host itself"
grep -q "^$W start begin" "$DIR/var/log/libvirt/own-hook.log" || fail "the host's own hook was not called: $(cat "$DIR/var/log/libvirt/own-hook.log" 2>&1)"
[ "$(rules)" = 1 ] && [ "$(accepts)" = 1 ] || fail "rules: $(rules) elements, $(accepts) accepts"

note "the same host port for another clone: refused at plan time"
VMSTAMP_SAVED=$VMSTAMP
printf '#!/bin/sh\nexec nsenter -t %s -m -n %s "$@"\n' "$H" "$VMSTAMP" >"$SCRATCH/vmstamp-in-host"
chmod 755 "$SCRATCH/vmstamp-in-host"
VMSTAMP=$SCRATCH/vmstamp-in-host
expect_one_line_error "host port taken" "host port 8765/tcp is already forwarded to domain '$W'" \
  clone --network default --ip 192.168.150.51/24 --forward 8765:22 "$SCRATCH/serve.qcow2" "${PREFIX}web2"
VMSTAMP=$VMSTAMP_SAVED
[ -z "$($V2 list --all --name | grep -x "${PREFIX}web2")" ] || fail "refused clone defined"

note "stop: no rule left; a start by libvirt alone (the hook): rules back"
$V2 destroy "$W" >/dev/null
[ "$(rules)" = 0 ] && [ "$(accepts)" = 0 ] || fail "after stop: $(rules) elements, $(accepts) accepts"
[ -z "$(ask 8765)" ] || fail "something answers on 8765 after the stop"
$V2 start "$W" >/dev/null
[ "$(rules)" = 1 ] && [ "$(accepts)" = 1 ] || fail "after virsh start: $(rules) elements, $(accepts) accepts"
wait_service 8765 "VMSTAMP-SERVICE $W" 240
echo "ok: forwards follow the domain's start and stop"

note "rm: no rule left"
inns "$VMSTAMP" rm --force "$W" >/dev/null 2>&1 || fail "rm --force $W"
[ "$(rules)" = 0 ] && [ "$(accepts)" = 0 ] || fail "after rm: $(rules) elements, $(accepts) accepts"

note "fleet: a group of two, host ports 9000 and 9001"
cat >"$SCRATCH/fw.yaml" <<EOF
fleet: ${PREFIX}fw
template: $SCRATCH/serve.qcow2
defaults: {memory: 512M, network: default}
groups:
  - {name: ${PREFIX}fw-%02d, count: 2, ip: 192.168.150.60, forwards: ["9000:1337"]}
EOF
inns "$VMSTAMP" fleet apply --start "$SCRATCH/fw.yaml" >"$SCRATCH/out" 2>"$SCRATCH/err" \
  || fail "fleet apply: $(cat "$SCRATCH/err")"
wait_service 9000 "VMSTAMP-SERVICE ${PREFIX}fw-01 192.168.150.60" 240
wait_service 9001 "VMSTAMP-SERVICE ${PREFIX}fw-02 192.168.150.61" 240
echo "ok: fleet forwards 9000 and 9001"
inns "$VMSTAMP" fleet destroy "$SCRATCH/fw.yaml" >/dev/null 2>&1 || fail "fleet destroy"
[ "$(rules)" = 0 ] && [ "$(accepts)" = 0 ] || fail "after fleet destroy: $(rules) elements, $(accepts) accepts"
[ -z "$($V2 list --all --name | grep "^$PREFIX")" ] || fail "fleet destroy left domains"

[ ! -e /etc/libvirt/hooks/qemu.d/vmstamp ] && now=none || now=$(sha256sum </etc/libvirt/hooks/qemu.d/vmstamp)
[ "$now" = "$host_hook_before" ] || fail "this machine's own hooks/qemu.d changed"
echo "PASS"
