#!/usr/bin/env bash
# forward.sh: port forwards (clone --forward, a fleet group's forwards:),
# as a sysadmin would check them:
#  1. the rules alone: `vmstamp hook qemu` (what libvirt runs) in a throwaway
#     network namespace adds the nft map element and the iptables FORWARD
#     accept on start (twice: still one of each), refuses a host port that
#     another guest has, removes them on stopped; with iptables only (no nft
#     in PATH) the nat rules instead;
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
note "hook: nft map element and FORWARD accept on start, none after stopped"
cat >"$SCRATCH/dom.xml" <<EOF
<domain type='qemu'><name>${PREFIX}h1</name><metadata>
<vmstamp:clone xmlns:vmstamp="http://vmstamp.org/xmlns/clone/1.0"><vmstamp:template>/t</vmstamp:template>
<vmstamp:forward proto="tcp" host="8765" guest="1337" address="192.168.150.50"/>
<vmstamp:forward proto="udp" host="5353" guest="53" address="192.168.150.50"/>
</vmstamp:clone></metadata></domain>
EOF
sed -e "s/${PREFIX}h1/${PREFIX}h2/" -e 's/192.168.150.50/192.168.150.51/' "$SCRATCH/dom.xml" >"$SCRATCH/dom2.xml"
mkdir -p "$SCRATCH/ipt-only"
ln -s "$(command -v iptables)" "$SCRATCH/ipt-only/iptables"
VMSTAMP=$VMSTAMP P=$PREFIX S=$SCRATCH unshare -n bash -euo pipefail -c '
fail() { echo "FAIL: $*" >&2; exit 1; }
hook() { "$VMSTAMP" hook qemu "$1" "$2" begin - <"$3"; }
elements() { nft list map ip vmstamp dnat4 | tr -s "\n\t " " " | sed -n "s/.*elements = { \([^}]*\) }.*/\1/p"; }
accepts() { iptables -S FORWARD | grep -c "vmstamp: " || true; }
hook "${P}h1" start "$S/dom.xml"
hook "${P}h1" start "$S/dom.xml"
[ "$(elements)" = "tcp . 8765 : 192.168.150.50 . 1337, udp . 5353 : 192.168.150.50 . 53" ] || fail "elements after start: $(elements)"
[ "$(accepts)" = 2 ] || fail "FORWARD accepts after two starts: $(iptables -S FORWARD)"
iptables -S FORWARD | grep -q -- "-d 192.168.150.50/32 -p tcp -m tcp --dport 1337 -m conntrack --ctstate DNAT -m comment --comment \"vmstamp: ${P}h1\" -j ACCEPT" || fail "no accept for 1337: $(iptables -S FORWARD)"
[ "$(nft list chain ip vmstamp prerouting | grep -c dnat)" = 1 ] || fail "prerouting rule doubled"
if hook "${P}h2" start "$S/dom2.xml" 2>"$S/hook.err"; then fail "a second guest got host port 8765"; fi
grep -q "host port 8765/tcp to .${P}h2.: it is forwarded to another guest" "$S/hook.err" || fail "conflict message: $(cat "$S/hook.err")"
hook "${P}h2" stopped "$S/dom2.xml"   # not its port: left to h1
[ "$(elements)" = "tcp . 8765 : 192.168.150.50 . 1337, udp . 5353 : 192.168.150.50 . 53" ] || fail "h2 stopped removed h1 forwards: $(elements)"
hook "${P}h1" stopped "$S/dom.xml"
hook "${P}h1" stopped "$S/dom.xml"
[ -z "$(elements)" ] || fail "elements after stopped: $(elements)"
[ "$(accepts)" = 0 ] || fail "FORWARD accepts after stopped: $(iptables -S FORWARD)"
"$VMSTAMP" hook qemu "${P}h1" prepare begin - <"$S/dom.xml"
[ -z "$(elements)" ] || fail "prepare added rules"
nft delete table ip vmstamp
PATH=$S/ipt-only hook "${P}h1" start "$S/dom.xml"
[ "$(iptables -t nat -S PREROUTING | grep -c "vmstamp: ${P}h1")" = 2 ] || fail "iptables PREROUTING: $(iptables -t nat -S)"
iptables -t nat -S OUTPUT | grep -q -- "! -d 127.0.0.0/8 -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 8765 -m comment --comment \"vmstamp: ${P}h1\" -j DNAT --to-destination 192.168.150.50:1337" || fail "iptables OUTPUT: $(iptables -t nat -S OUTPUT)"
! nft list table ip vmstamp >/dev/null 2>&1 || fail "nft used without nft in PATH"
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
