#!/usr/bin/env bash
# forward-hostile.sh: port forwards that someone who may define domains
# (the libvirt group, not root) wrote, through a real libvirt daemon and
# vmstamp's hook (issue 20), in a second libvirt host (scripts/testhost.sh:
# its own mount and network namespace; nothing leaves it):
#  1. plan time, nothing made: clone --forward to the network's gateway, off
#     the network (10.9.9.9), a host port below 1024 without --allow-low-port, 22 and a
#     port the host listens on (dnsmasq's 53/udp) without --force-port, on
#     user networking, "0447"; and, on this machine, fleet apply --dry-run of
#     forwards on network: user. One line each.
#  2. a domain defined by hand with vmstamp metadata bound to its own UUID
#     and hostile forwards (22 -> 10.9.9.9, 53/udp -> 0.0.0.0, 80 ->
#     127.0.0.1:8080, 443 -> 255.255.255.255, allow-low-port and force set),
#     one with host="0447", one forwarding host port 22 to a guest's address
#     with allow-low-port and force written by hand (no grant of root's):
#     `virsh start` fails with the hook's one line, no nft element, no
#     iptables rule of it afterwards.
#  3. a copy of a forwarding clone (virsh dumpxml | define, a new name and
#     UUID), with the original's metadata and then with it re-bound to its
#     own UUID (root's grant of the original's port 80 is not its own): its
#     start fails in one line, and its start and stop leave the original's
#     DNAT and FORWARD accept in place.
. "$(dirname "$0")/lib.sh"
start_test
command -v nft >/dev/null || { echo "SKIP: nft missing (apt-get install nftables)"; exit 77; }
TH=$SRC/scripts/testhost.sh
DIR=$SCRATCH/host
GRANT=
fh_cleanup() {
  [ -e "$DIR/.testhost" ] && "$TH" stop "$DIR" >&2 || true
  # root's grant of the clone's low port: this machine's /var/lib/vmstamp (not the test host's own)
  [ -z "$GRANT" ] || rm -f "$GRANT"
}
trap 'fh_cleanup; cleanup' EXIT
[ ! -e /etc/libvirt/hooks/qemu.d/vmstamp ] && host_hook_before=none || host_hook_before=$(sha256sum </etc/libvirt/hooks/qemu.d/vmstamp)
tpl=$(fixture debian12)

note "fleet apply --dry-run: forwards on network: user refused, one line"
cat >"$SCRATCH/user.yaml" <<EOF
fleet: ${PREFIX}fu
template: $tpl
groups:
  - {name: ${PREFIX}fu-01, ip: 10.0.2.15, network: user, forwards: ["22:22"]}
EOF
expect_one_line_error "forwards on network: user" "forwards: need a libvirt network: on network 'user'" \
  fleet apply --dry-run "$SCRATCH/user.yaml"

"$TH" start "$DIR" >/dev/null
H=$(cat "$DIR/holder.pid")
inns() { nsenter -t "$H" -m -n "$@"; }
V2="inns virsh -q -c qemu:///system"
inns sh -c 'mkdir -p /run/vmstamp && cat >/run/vmstamp/accel' </run/vmstamp/accel
printf '#!/bin/sh\nexec nsenter -t %s -m -n %s "$@"\n' "$H" "$VMSTAMP" >"$SCRATCH/vmstamp-in-host"
chmod 755 "$SCRATCH/vmstamp-in-host"
VMSTAMP_SAVED=$VMSTAMP
VMSTAMP=$SCRATCH/vmstamp-in-host
rules() { inns nft list map ip vmstamp dnat4 2>/dev/null | tr -s '\n\t ' ' ' | sed -n 's/.*elements = { \([^}]*\) }.*/\1/p'; }
accepts() { inns iptables -S FORWARD | grep "vmstamp: " || true; }
natrules() { inns iptables -t nat -S | grep "vmstamp" || true; }
no_domains() { [ -z "$($V2 list --all --name | grep "^$PREFIX")" ] || fail "$1: a domain was defined"; }

# ---- 1. plan time ------------------------------------------------------------
W=${PREFIX}web
C="clone --network default --gateway 192.168.150.1 --memory 512"
expect_one_line_error "the gateway" "to 192.168.150.1: it is the host's own address on the network" \
  clone --network default --ip 192.168.150.1/24 --forward 8765:1337 "$tpl" "$W"
expect_one_line_error "off the network" "to 10.9.9.9: it is not on the domain's network; forwards go only to a guest's address on its libvirt network 'default' \(192.168.150.0/24\)" \
  clone --network default --ip 10.9.9.9/24 --forward 8765:1337 "$tpl" "$W"
expect_one_line_error "below 1024" "port 80/tcp of '$W': ports below 1024 need --allow-low-port" \
  $C --ip 192.168.150.50/24 --forward 80:80 "$tpl" "$W"
expect_one_line_error "port 22" "port 22/tcp of '$W': it is the host's ssh port" \
  $C --ip 192.168.150.50/24 --allow-low-port --forward 22:22 "$tpl" "$W"
expect_one_line_error "a listening port" "port 53/udp of '$W': a service on this host listens on it" \
  $C --ip 192.168.150.50/24 --allow-low-port --forward 53:53/udp "$tpl" "$W"
expect_one_line_error "user networking" "port forwards to '$W' need a libvirt network" \
  clone --network user --ip 10.0.2.15/24 --forward 8765:22 "$tpl" "$W"
expect_one_line_error "0447" "invalid forward '0447:22': ports are 1 to 65535 \(decimal, no leading zero\)" \
  $C --ip 192.168.150.50/24 --forward 0447:22 "$tpl" "$W"
expect_one_line_error "--force-port alone" "--force-port is for --forward" \
  $C --ip 192.168.150.50/24 --force-port "$tpl" "$W"
no_domains "refused plans"
echo "ok: plans refused, nothing made"

# ---- a forwarding clone (its hook installed), started ------------------------
note "clone --forward 8765:1337, started"
VMSTAMP=$VMSTAMP_SAVED
inns "$VMSTAMP" clone --network default --ip 192.168.150.50/24 --gateway 192.168.150.1 --memory 512 \
  --forward 8765:1337 --forward 80:80 --allow-low-port --start "$tpl" "$W" >"$SCRATCH/out" 2>"$SCRATCH/err" \
  || fail "clone --forward: $(cat "$SCRATCH/err")"
ORIG="tcp . 8765 : 192.168.150.50 . 1337, tcp . 80 : 192.168.150.50 . 80"
[ "$(rules)" = "$ORIG" ] || fail "after the clone's start: '$(rules)'"
[ "$(accepts | wc -l)" = 2 ] || fail "FORWARD accepts: $(accepts)"
$V2 dumpxml "$W" | grep -q '<vmstamp:forward proto="tcp" host="80" guest="80" address="192.168.150.50" allow-low-port="yes"/>' \
  || fail "allow-low-port not recorded in the metadata"
GRANT=/var/lib/vmstamp/forwards/$($V2 domuuid "$W")
[ "$(inns cat "$GRANT")" = "tcp 80 low" ] && [ "$(inns stat -c %a:%U "$GRANT")" = 600:root ] \
  || fail "root's grant $GRANT: $(inns ls -l "$GRANT"; inns cat "$GRANT")"
accept_before=$(accepts)

# start_refused NAME WANT: virsh start NAME fails, with the hook's one line matching WANT
start_refused() {
  if $V2 start "$1" >"$SCRATCH/out" 2>"$SCRATCH/err"; then fail "$1 started"; fi
  [ "$(grep -c 'vmstamp: error:' "$SCRATCH/err")" = 1 ] || fail "$1: not the hook's one line: $(cat "$SCRATCH/err")"
  grep -Eq -- "$2" "$SCRATCH/err" || fail "$1: '$(cat "$SCRATCH/err")' does not match /$2/"
  [ "$($V2 domstate "$1")" = "shut off" ] || fail "$1 is $($V2 domstate "$1")"
  grep 'vmstamp: error:' "$SCRATCH/err" | sed 's/.*\(vmstamp: error:\)/  \1/'
}
# unchanged LABEL: the original's forward is all there is
unchanged() {
  [ "$(rules)" = "$ORIG" ] || fail "$1: the map is now '$(rules)'"
  [ "$(accepts)" = "$accept_before" ] || fail "$1: FORWARD accepts now: $(accepts)"
  [ -z "$(natrules)" ] || fail "$1: nat rules: $(natrules)"
}

# ---- 2. hostile forwards in a domain defined by hand -----------------------------
note "a domain defined by hand, metadata bound to its own UUID, hostile forwards"
hostile_xml() { # NAME UUID FORWARDS
  cat <<EOF
<domain type='qemu'><name>$1</name><uuid>$2</uuid><memory unit='MiB'>64</memory>
<os><type arch='x86_64'>hvm</type></os>
<metadata><vmstamp:clone xmlns:vmstamp="http://vmstamp.org/xmlns/clone/1.0">
<vmstamp:template>/t</vmstamp:template><vmstamp:uuid>$2</vmstamp:uuid>
$3
</vmstamp:clone></metadata>
<devices><interface type='network'><source network='default'/></interface></devices></domain>
EOF
}
hostile_xml "${PREFIX}hx1" 5d1a0b6c-3c4e-4a8e-9f3e-0000000000e1 '
<vmstamp:forward proto="tcp" host="22" guest="22" address="10.9.9.9" allow-low-port="yes" force="yes"/>
<vmstamp:forward proto="udp" host="53" guest="53" address="0.0.0.0" allow-low-port="yes" force="yes"/>
<vmstamp:forward proto="tcp" host="80" guest="8080" address="127.0.0.1" allow-low-port="yes" force="yes"/>
<vmstamp:forward proto="tcp" host="443" guest="443" address="255.255.255.255" allow-low-port="yes" force="yes"/>' \
  >"$SCRATCH/hx1.xml"
hostile_xml "${PREFIX}hx2" 5d1a0b6c-3c4e-4a8e-9f3e-0000000000e2 '
<vmstamp:forward proto="tcp" host="0447" guest="443" address="192.168.150.77"/>' >"$SCRATCH/hx2.xml"
hostile_xml "${PREFIX}hx3" 5d1a0b6c-3c4e-4a8e-9f3e-0000000000e3 '
<vmstamp:forward proto="tcp" host="8080" guest="8080" address="127.0.0.1" allow-low-port="yes" force="yes"/>' \
  >"$SCRATCH/hx3.xml"
hostile_xml "${PREFIX}hx4" 5d1a0b6c-3c4e-4a8e-9f3e-0000000000e4 '
<vmstamp:forward proto="tcp" host="443" guest="443" address="255.255.255.255" allow-low-port="yes" force="yes"/>' \
  >"$SCRATCH/hx4.xml"
# A guest's address, but host port 22 with flags only its definer wrote (no grant of root's).
hostile_xml "${PREFIX}hx5" 5d1a0b6c-3c4e-4a8e-9f3e-0000000000e5 '
<vmstamp:forward proto="tcp" host="22" guest="22" address="192.168.150.77" allow-low-port="yes" force="yes"/>' \
  >"$SCRATCH/hx5.xml"
for n in 1 2 3 4 5; do $V2 define "$SCRATCH/hx$n.xml" >/dev/null; done
start_refused "${PREFIX}hx1" "cannot forward host port 22/tcp of '${PREFIX}hx1' to 10.9.9.9: it is not on the domain's network"
unchanged "hx1"
start_refused "${PREFIX}hx2" "malformed vmstamp port forward \(proto=\"tcp\" host=\"0447\""
unchanged "hx2"
start_refused "${PREFIX}hx3" "to 127.0.0.1: it is a loopback address"
unchanged "hx3"
start_refused "${PREFIX}hx4" "to 255.255.255.255: it is the broadcast address"
unchanged "hx4"
start_refused "${PREFIX}hx5" "host port 22/tcp of '${PREFIX}hx5': ports below 1024 need --allow-low-port"
unchanged "hx5"
echo "ok: hostile forwards fail the start, nothing added"

# ---- 3. a copy of the forwarding clone -------------------------------------------
note "a copy of '$W' (dumpxml | define: new name and UUID, the same metadata)"
CP=${PREFIX}copy
$V2 dumpxml --inactive "$W" | sed -e "s|<name>$W</name>|<name>$CP</name>|" -e '/<uuid>/d' -e '/<mac address/d' \
  -e '/<disk type/,/<\/disk>/d' -e '/<log file/d' >"$SCRATCH/copy.xml"
grep -q '<vmstamp:forward proto="tcp" host="8765" guest="1337" address="192.168.150.50"/>' "$SCRATCH/copy.xml" \
  || fail "the copy has no forward: $(cat "$SCRATCH/copy.xml")"
$V2 define "$SCRATCH/copy.xml" >/dev/null
start_refused "$CP" "domain '$CP' has vmstamp port forwards, but its vmstamp metadata is not bound to it \(a copy"
unchanged "the copy's start"
$V2 dumpxml "$CP" | inns "$VMSTAMP" hook qemu "$CP" stopped end - || fail "the copy's stopped hook failed"
unchanged "the copy's stop"
note "the copy with its metadata re-bound to its own UUID"
cu=$($V2 domuuid "$CP")
$V2 dumpxml --inactive "$CP" | sed "s|<vmstamp:uuid>.*</vmstamp:uuid>|<vmstamp:uuid>$cu</vmstamp:uuid>|" >"$SCRATCH/copy2.xml"
$V2 define "$SCRATCH/copy2.xml" >/dev/null
start_refused "$CP" "host port 80/tcp of '$CP': ports below 1024 need --allow-low-port"
unchanged "the re-bound copy's start"
$V2 dumpxml "$CP" | inns "$VMSTAMP" hook qemu "$CP" stopped end - || fail "the re-bound copy's stopped hook failed"
unchanged "the re-bound copy's stop"
echo "ok: a copy neither adds nor removes the original's forward"

note "the original stopped: its forward goes"
$V2 destroy "$W" >/dev/null
[ -z "$(rules)" ] && [ -z "$(accepts)" ] || fail "after the original's stop: '$(rules)' $(accepts)"
for n in 1 2 3 4 5; do $V2 undefine "${PREFIX}hx$n" >/dev/null; done
$V2 undefine "$CP" >/dev/null
# Its forwards edited out of the metadata first (as its definer can): rm
# still removes root's grant, which a domain later defined with the same
# UUID would otherwise find.
$V2 dumpxml --inactive "$W" | sed '/<vmstamp:forward /d' >"$SCRATCH/w.xml"
$V2 define "$SCRATCH/w.xml" >/dev/null
inns "$VMSTAMP" rm --force "$W" >/dev/null 2>&1 || fail "rm --force $W"
! inns test -e "$GRANT" || fail "rm left root's grant $GRANT"
no_domains "the end"

[ ! -e /etc/libvirt/hooks/qemu.d/vmstamp ] && now=none || now=$(sha256sum </etc/libvirt/hooks/qemu.d/vmstamp)
[ "$now" = "$host_hook_before" ] || fail "this machine's own hooks/qemu.d changed"
echo "PASS"
