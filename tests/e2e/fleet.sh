#!/usr/bin/env bash
# fleet.sh: `vmstamp fleet` across two libvirt hosts: this machine's
# libvirtd (qemu:///system) and a second one in its own mount and network
# namespace (scripts/testhost.sh), whose `default` NAT network, dnsmasq and
# DHCP exist only inside that namespace (the only network test guests boot
# on here, besides user-mode networking).
#
# What a sysadmin would check:
#  - apply: the clones on each host as placed; the template uploaded once to
#    the second host (its default pool is not this machine's), not again on
#    a second apply; a group on a pool both hosts share gets nothing
#    uploaded; every clone's DHCP and DNS entries in the network;
#  - the clones booted there (fleet wait) get exactly their planned IPs
#    (lease) and their host names (console), and status --json agrees;
#  - a second apply changes nothing; count up and memory changed: new clone
#    made, drift reported; --prune after count down; known_hosts lines;
#  - destroy: nothing of the fleet left on either host (domains, volumes,
#    network entries), a domain that is not the fleet's untouched;
#  - bad plans: one line FILE:LINE, nothing made;
#  - the second host down: the first host's clones made, the error names
#    the host, exit non-zero; the next apply (host back) finishes.
. "$(dirname "$0")/lib.sh"
start_test
TH=$SRC/scripts/testhost.sh
DIR=$SCRATCH/host2
FLEET="${PREFIX}lab"
th_cleanup() {
  [ -e "$DIR/.testhost" ] && "$TH" stop "$DIR" >&2 || true
  $V pool-destroy "${PREFIX}shared" >/dev/null 2>&1 || true
  $V pool-undefine "${PREFIX}shared" >/dev/null 2>&1 || true
  rm -f /var/lib/vmstamp/fleet/"$FLEET".known_hosts
}
trap 'th_cleanup; cleanup' EXIT

tpl=$(fixture debian12)
U2=$("$TH" start "$DIR" | tail -n 1)
V2="virsh -q -c $U2"
# A pool both hosts share: the same directory, seen by both daemons.
mkdir -p "$DIR/shared"
$V pool-create-as "${PREFIX}shared" dir --target "$DIR/shared" >/dev/null
$V2 pool-info shared >/dev/null 2>&1 || $V2 pool-create-as shared dir --target "$DIR/shared" >/dev/null

plan=$SCRATCH/lab.yaml
write_plan() { # WEB_COUNT LOC_MEMORY
  cat >"$plan" <<EOF
fleet: $FLEET
template: $tpl
hosts:
  - {name: h1, uri: "qemu:///system"}
  - {name: h2, uri: "$U2"}
defaults: {memory: 512M, vcpus: 1, domain: lab.test}
groups:
  - {name: ${PREFIX}web-%02d, count: $1, ip: 192.168.150.10, host: h2}
  - {name: ${PREFIX}sh-01, ip: 192.168.150.30, host: h2, pool: shared}
  - {name: ${PREFIX}loc-01, host: h1, network: user, memory: $2, description: "lab <loc> & co"}
EOF
}
write_plan 2 512M

note "bad plans: one line FILE:LINE, nothing made"
bad() { # EXPECTED-TEXT (plan on stdin)
  cat >"$SCRATCH/bad.yaml"
  if "$VMSTAMP" fleet apply "$SCRATCH/bad.yaml" >"$SCRATCH/out" 2>"$SCRATCH/err"; then fail "bad plan accepted: $1"; fi
  [ "$(wc -l <"$SCRATCH/err")" = 1 ] || fail "bad plan ($1): not one line: $(cat "$SCRATCH/err")"
  grep -q "bad.yaml:[0-9]*: .*$1" "$SCRATCH/err" || fail "bad plan: expected '$1', got: $(cat "$SCRATCH/err")"
  [ -z "$($V list --all --name | grep "^$PREFIX")$($V2 list --all --name | grep "^$PREFIX")" ] ||
    fail "bad plan ($1) made something"
}
sed "s|template: .*|template: /nonexistent.qcow2|" "$plan" | bad "template: template '/nonexistent.qcow2' not found"
# A template whose backing file is gone: named as such, not "not a disk image".
qemu-img create -q -f qcow2 "$SCRATCH/gone.qcow2" 1G
qemu-img create -q -f qcow2 -F qcow2 -b "$SCRATCH/gone.qcow2" "$SCRATCH/orphan.qcow2"
rm "$SCRATCH/gone.qcow2"
sed "s|template: .*|template: $SCRATCH/orphan.qcow2|" "$plan" |
  bad "template: template '$SCRATCH/orphan.qcow2': image '$SCRATCH/orphan.qcow2' needs its backing file '$SCRATCH/gone.qcow2', which is missing"
sed "s|, host: h2}|, host: h2, network: nosuchnet}|" "$plan" | bad "network: network 'nosuchnet' not found on host 'h2'"
sed "s|pool: shared}|pool: ${PREFIX}shared}|" "$plan" | bad "pool: on host 'h2'"
sed "s|192.168.150.10|10.9.9.10|" "$plan" | bad "ip: 10.9.9.10 .* is outside network 'default'"
sed "s|host: h1,|host: h9,|" "$plan" | bad "host: "

note "dry run"
"$VMSTAMP" fleet apply --dry-run "$plan" >"$SCRATCH/out"
grep -q "would create 4, keep 0" "$SCRATCH/out" || fail "dry run: $(cat "$SCRATCH/out")"
[ -z "$($V2 list --all --name | grep "^$PREFIX")" ] || fail "dry run made something"

note "apply across two hosts"
"$VMSTAMP" fleet apply "$plan" >"$SCRATCH/out" || fail "apply failed"
cat "$SCRATCH/out" >&2
grep -q "created 4, keep 0" "$SCRATCH/out" || fail "apply: $(cat "$SCRATCH/out")"
grep -q "template uploaded to 1 host" "$SCRATCH/out" || fail "template not uploaded once"
[ "$($V list --all --name | grep -c "^$PREFIX")" = 1 ] || fail "h1 should have one clone"
[ "$($V2 list --all --name | grep -c "^$PREFIX")" = 3 ] || fail "h2 should have three clones"
$V2 vol-list default | grep -q "\.qcow2" || fail "no template copy on h2"
[ -f "$DIR/shared/${PREFIX}sh-01.qcow2" ] || fail "the shared pool's clone is not in the shared directory"
[ ! -e "/var/lib/libvirt/images/${PREFIX}web-01.qcow2" ] || fail "h2's clone disk is on this machine's pool"
netxml=$($V2 net-dumpxml default)
for i in 01:10 02:11; do
  n=${PREFIX}web-${i%%:*} ip=192.168.150.${i##*:}
  echo "$netxml" | grep -q "<host mac='52:54:c0:a8:96:$(printf %02x "${i##*:}")' name='$n' ip='$ip'/>" ||
    fail "no DHCP entry for $n: $netxml"
  echo "$netxml" | grep -A1 "<host ip='$ip'>" | grep -q "<hostname>$n.lab.test</hostname>" || fail "no DNS entry for $n"
done
kh=/var/lib/vmstamp/fleet/$FLEET.known_hosts
grep -q "^${PREFIX}web-01,${PREFIX}web-01.lab.test,192.168.150.10 ssh-ed25519 " "$kh" || fail "known_hosts: $(cat "$kh")"

[ "$($V desc "${PREFIX}loc-01")" = "lab <loc> & co" ] || fail "description: virsh desc shows '$($V desc "${PREFIX}loc-01")'"

note "a second apply changes nothing"
"$VMSTAMP" fleet apply "$plan" >"$SCRATCH/out" || fail "second apply failed"
grep -q "created 0, keep 4, drift 0, remove 0" "$SCRATCH/out" || fail "second apply: $(cat "$SCRATCH/out")"
! grep -q "uploaded" "$SCRATCH/out" || fail "template uploaded again"

note "fleet wait: the planned addresses from the namespace's DHCP"
"$VMSTAMP" fleet wait --timeout 400 "$plan" >"$SCRATCH/out" 2>"$SCRATCH/err" || true
cat "$SCRATCH/out" >&2
for i in 01:10 02:11; do
  n=${PREFIX}web-${i%%:*}
  log=$DIR/var/log/libvirt/qemu/$n-serial0.log
  for _ in $(seq 1 60); do grep -q VMSTAMP-DONE "$log" 2>/dev/null && break; sleep 2; done
  grep -q "VMSTAMP-HOSTNAME=$n.lab.test" "$log" || fail "$n: host name: $(grep VMSTAMP "$log" || true)"
  grep -q "VMSTAMP-IP=192.168.150.${i##*:}" "$log" || fail "$n: address: $(grep VMSTAMP "$log" || true)"
done
"$VMSTAMP" fleet status --json "$plan" >"$SCRATCH/status.json"
python3 - "$SCRATCH/status.json" "$PREFIX" <<'EOF' || fail "status --json disagrees"
import json, sys
s = json.load(open(sys.argv[1])); p = sys.argv[2]
rows = {c["name"]: c for c in s["clones"]}
for n, ip in ((p + "web-01", "192.168.150.10"), (p + "web-02", "192.168.150.11")):
    assert rows[n]["ip"] == ip and rows[n]["ip_seen"] == ip and rows[n]["host"] == "h2", rows[n]
assert rows[p + "loc-01"]["host"] == "h1", rows[p + "loc-01"]
EOF

note "fleet inventory and ssh-config, read by ansible-inventory and ssh -G"
KH=/var/lib/vmstamp/fleet/$FLEET.known_hosts
for f in yaml ini; do
  "$VMSTAMP" fleet inventory --format $f "$plan" >"$SCRATCH/inv.$f" || fail "fleet inventory --format $f failed"
  if command -v ansible-inventory >/dev/null; then
    ANSIBLE_INVENTORY_UNPARSED_FAILED=1 ANSIBLE_LOCAL_TEMP=$SCRATCH/ansible ANSIBLE_HOME=$SCRATCH/ansible \
      ansible-inventory -i "$SCRATCH/inv.$f" --list >"$SCRATCH/inv.$f.json" 2>"$SCRATCH/inv.err" ||
      fail "ansible-inventory cannot read the $f inventory: $(cat "$SCRATCH/inv.err")"
  else
    echo "SKIP: no ansible-inventory; the $f inventory is checked by vmstamp's own JSON only" >&2
    "$VMSTAMP" fleet inventory --format json "$plan" >"$SCRATCH/inv.$f.json"
  fi
  python3 - "$SCRATCH/inv.$f.json" "$PREFIX" "$KH" <<'EOF' || fail "the $f inventory, as ansible-inventory reads it"
import json, sys
inv = json.load(open(sys.argv[1])); p = sys.argv[2].replace("-", "_"); kh = sys.argv[3]
hv = inv["_meta"]["hostvars"]
n = sys.argv[2]
assert hv[n + "web-01"]["ansible_host"] == "192.168.150.10", hv
assert hv[n + "web-02"]["ansible_host"] == "192.168.150.11", hv
assert "ansible_host" not in hv[n + "loc-01"], hv  # user networking: no address known
for h in hv.values():
    assert h["ansible_user"] == "root", h
    assert h["ansible_ssh_common_args"] == "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes" % kh, h
assert sorted(inv[p + "web"]["hosts"]) == [n + "web-01", n + "web-02"], inv
assert sorted(inv["host_h2"]["hosts"]) == sorted([n + "web-01", n + "web-02", n + "sh-01"]), inv
assert inv["host_h1"]["hosts"] == [n + "loc-01"], inv
EOF
done
"$VMSTAMP" fleet ssh-config "$plan" >"$SCRATCH/ssh_config" || fail "fleet ssh-config failed"
ssh -G -F "$SCRATCH/ssh_config" "${PREFIX}web-02" >"$SCRATCH/ssh-G" || fail "ssh -G cannot read the ssh-config"
for want in "hostname 192.168.150.11" "user root" "userknownhostsfile $KH" "stricthostkeychecking true"; do
  grep -qx "$want" "$SCRATCH/ssh-G" || fail "ssh -G ${PREFIX}web-02: no '$want': $(cat "$SCRATCH/ssh_config")"
done
! grep -q "^Host ${PREFIX}loc-01" "$SCRATCH/ssh_config" || fail "ssh-config has a block for a clone without an address"
echo "ok: inventory (yaml, ini) read by ansible-inventory, ssh-config read by ssh -G"
"$VMSTAMP" fleet stop --timeout 5 "$plan" >/dev/null || fail "stop failed"

note "count up and memory changed: one made, drift reported"
write_plan 3 768M
"$VMSTAMP" fleet apply "$plan" >"$SCRATCH/out" || fail "apply (count up) failed"
grep -q "created 1, keep 3, drift 1" "$SCRATCH/out" || fail "count up: $(cat "$SCRATCH/out")"
grep -q "${PREFIX}loc-01 .*memory 512 MiB, plan 768 MiB" "$SCRATCH/out" || fail "drift not named"
$V2 net-dumpxml default | grep -q "ip='192.168.150.12'" || fail "web-03 has no DHCP entry"

note "--prune after count down"
write_plan 2 512M
"$VMSTAMP" fleet apply "$plan" >"$SCRATCH/out" || fail "apply (count down) failed"
grep -q "not in the plan 1" "$SCRATCH/out" || fail "stray not reported: $(cat "$SCRATCH/out")"
$V2 dominfo "${PREFIX}web-03" >/dev/null || fail "web-03 removed without --prune"
"$VMSTAMP" fleet apply --prune "$plan" >"$SCRATCH/out" || fail "apply --prune failed"
grep -q "remove 1" "$SCRATCH/out" || fail "prune: $(cat "$SCRATCH/out")"
! $V2 dominfo "${PREFIX}web-03" >/dev/null 2>&1 || fail "web-03 still defined"
! $V2 vol-list default | grep -q "${PREFIX}web-03" || fail "web-03's volume left"
! $V2 net-dumpxml default | grep -q "192.168.150.12" || fail "web-03's network entries left"
! grep -q "^${PREFIX}web-03," "$kh" || fail "web-03's known_hosts lines left"

note "the second host down: the first host's clones made, the error names it"
"$VMSTAMP" fleet destroy "$plan" >/dev/null || fail "destroy failed"
"$TH" stop "$DIR" >/dev/null
if "$VMSTAMP" fleet apply "$plan" >"$SCRATCH/out" 2>"$SCRATCH/err"; then fail "apply with h2 down succeeded"; fi
grep -q "host 'h2'" "$SCRATCH/err" || fail "the error does not name h2: $(cat "$SCRATCH/err")"
$V dominfo "${PREFIX}loc-01" >/dev/null || fail "h1's clone not made while h2 was down"
U2=$("$TH" start "$DIR" | tail -n 1)
$V2 pool-info shared >/dev/null 2>&1 || $V2 pool-create-as shared dir --target "$DIR/shared" >/dev/null
"$VMSTAMP" fleet apply "$plan" >"$SCRATCH/out" || fail "apply after h2 is back failed: $(cat "$SCRATCH/out")"
grep -q "created 3, keep 1" "$SCRATCH/out" || fail "apply after h2 is back: $(cat "$SCRATCH/out")"

note "destroy removes exactly the fleet"
cat >"$SCRATCH/bystander.xml" <<EOF
<domain type='qemu'><name>${PREFIX}bystander</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64'>hvm</type></os></domain>
EOF
$V2 define "$SCRATCH/bystander.xml" >/dev/null
"$VMSTAMP" fleet destroy "$plan" >"$SCRATCH/out" || fail "destroy failed"
[ -z "$($V list --all --name | grep "^$PREFIX")" ] || fail "h1: fleet domain left"
[ "$($V2 list --all --name | grep "^$PREFIX")" = "${PREFIX}bystander" ] || fail "h2: $($V2 list --all --name)"
! $V2 vol-list default | grep -q "$PREFIX" || fail "h2: fleet volume left"
! $V2 vol-list shared | grep -q "$PREFIX" || fail "h2: fleet volume left in the shared pool"
! $V2 net-dumpxml default | grep -q "$PREFIX" || fail "h2: network entries left"
[ ! -s "$kh" ] || fail "known_hosts lines left: $(cat "$kh")"
echo "PASS"
