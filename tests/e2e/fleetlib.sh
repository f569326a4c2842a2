# shellcheck shell=bash
# fleetlib.sh: the fleet that fleet-kill9.sh and fleet-hostdown.sh make,
# and what "the fleet is exactly the plan" means for them (sourced after
# lib.sh and start_test).
#
# Two hosts: this machine's libvirtd (h1, qemu:///system) and a second one
# in its own namespace (h2, scripts/testhost.sh at $SCRATCH/host2). The plan:
# ${PREFIX}web-01/02 on h2, linked clones uploaded there, each with a DHCP
# host and a DNS host entry on h2's `default` network (192.168.150.10/11,
# MACs 52:54:c0:a8:96:0a/0b); ${PREFIX}loc-01/02 on h1 on user-mode
# networking. The template is a copy of the debian12 fixture named with the
# test prefix, so its copy on h2 is ${PREFIX}tpl-SHA12.qcow2 (TPLVOL). No
# guest is ever started.
TH=$SRC/scripts/testhost.sh
DIR=$SCRATCH/host2
H2POOL=$DIR/var/lib/libvirt/images   # h2's /var/lib/libvirt/images, seen from here
H2ETC=$DIR/etc/libvirt               # h2's /etc/libvirt, seen from here
FLEET=${PREFIX}k
KH=/var/lib/vmstamp/fleet/$FLEET.known_hosts
STAGE=/var/lib/vmstamp/stage
WEB=("${PREFIX}web-01" "${PREFIX}web-02")
WEB_IP=(192.168.150.10 192.168.150.11)
WEB_MAC=(52:54:c0:a8:96:0a 52:54:c0:a8:96:0b)
LOC=("${PREFIX}loc-01" "${PREFIX}loc-02")
KEYLINES=3   # known_hosts lines per clone (rsa, ecdsa, ed25519)
plan=$SCRATCH/fleet.yaml
U2='' V2=''

# fleet_setup: the template, the second host, the plan.
fleet_setup() {
  tpl=$SCRATCH/${PREFIX}tpl.qcow2
  mv "$(fixture debian12)" "$tpl"
  tpl_sum=$(sha256sum <"$tpl" | cut -d' ' -f1)
  TPLVOL=${PREFIX}tpl-${tpl_sum:0:12}.qcow2
  U2=$("$TH" start "$DIR" | tail -n 1)
  V2="virsh -q -c $U2"
  cat >"$plan" <<EOF
fleet: $FLEET
template: $tpl
hosts:
  - {name: h1, uri: "qemu:///system"}
  - {name: h2, uri: "$U2"}
defaults: {memory: 256M, vcpus: 1, domain: lab.test}
groups:
  - {name: ${PREFIX}web-%02d, count: 2, ip: ${WEB_IP[0]}, host: h2}
  - {name: ${PREFIX}loc-%02d, count: 2, host: h1, network: user}
EOF
}

# fleet_inventory: what exists with the test prefix on both hosts, one
# "KIND NAME" a line: domains, volumes (after a pool refresh), files in the
# pools' directories (hidden temporary disks included).
fleet_inventory() {
  $V list --all --name | grep -F "$PREFIX" | sed 's/^/h1-domain /' || true
  $V pool-refresh default >/dev/null 2>&1 || true
  $V vol-list default 2>/dev/null | awk '{print $1}' | grep -F "$PREFIX" | sed 's/^/h1-volume /' || true
  ls -A "$POOL_DIR" | grep -F "$PREFIX" | sed 's/^/h1-file /' || true
  $V2 list --all --name | grep -F "$PREFIX" | sed 's/^/h2-domain /' || true
  $V2 pool-refresh default >/dev/null 2>&1 || true
  $V2 vol-list default 2>/dev/null | awk '{print $1}' | grep -F "$PREFIX" | sed 's/^/h2-volume /' || true
  ls -A "$H2POOL" | grep -F "$PREFIX" | sed 's/^/h2-file /' || true
}

# inventory_diff EXPECTED: "unexpected X; missing Y" lines, nothing if equal.
inventory_diff() {
  diff <(sort <<<"$1" | sed '/^$/d') <(fleet_inventory | sort) | sed -n -e 's/^> /unexpected /p' -e 's/^< /missing /p' || true
}

# net_problems WANT: h2's `default` network, live and persistent: with WANT
# "plan", exactly one DHCP host entry (MAC, name, IP) and one DNS host entry
# (IP, NAME.lab.test) per web clone and nothing else that names the prefix;
# with WANT "none", nothing that names the prefix.
net_problems() {
  local which xml n i want_lines=0
  [ "$1" = plan ] && want_lines=4
  for which in live persistent; do
    if [ "$which" = live ]; then xml=$($V2 net-dumpxml default); else xml=$($V2 net-dumpxml --inactive default); fi
    n=$(grep -cF "$PREFIX" <<<"$xml" || true)
    [ "$n" = "$want_lines" ] ||
      echo "$which network XML: $n lines name the test prefix, not $want_lines: $(flat "$(grep -F "$PREFIX" <<<"$xml")")"
    [ "$1" = plan ] || continue
    for i in 0 1; do
      n=$(grep -cF "<host mac='${WEB_MAC[$i]}' name='${WEB[$i]}' ip='${WEB_IP[$i]}'/>" <<<"$xml" || true)
      [ "$n" = 1 ] || echo "$which network XML: $n DHCP host entries for ${WEB[$i]} (${WEB_MAC[$i]} ${WEB_IP[$i]}), not 1"
      n=$(grep -cF "<host ip='${WEB_IP[$i]}'>" <<<"$xml" || true)
      [ "$n" = 1 ] || echo "$which network XML: $n DNS host entries for ${WEB_IP[$i]}, not 1"
      grep -A1 -F "<host ip='${WEB_IP[$i]}'>" <<<"$xml" | grep -qF "<hostname>${WEB[$i]}.lab.test</hostname>" ||
        echo "$which network XML: the DNS host entry for ${WEB_IP[$i]} is not ${WEB[$i]}.lab.test"
    done
  done
}

# disk_problems VIRSH NAME POOLDIR-HERE BACKING: the domain's disk is its
# pool's NAME.qcow2, a whole qcow2 image (checked without its backing file,
# which on h2 is not at that path here), backed by BACKING.
disk_problems() {
  local vsh=$1 name=$2 here=$3 backing=$4 disk b
  disk=$($vsh domblklist "$name" 2>/dev/null | awk '$2 ~ /^\// {print $2; exit}')
  [ "$disk" = "/var/lib/libvirt/images/$name.qcow2" ] || { echo "$name: disk '$disk', not /var/lib/libvirt/images/$name.qcow2"; return; }
  $vsh vol-info "$disk" >/dev/null 2>&1 || echo "$name: its disk is not a volume of its host"
  [ -f "$here/$name.qcow2" ] || { echo "$name: no file $here/$name.qcow2"; return; }
  qemu-img check -q -U "json:{\"driver\":\"qcow2\",\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\"$here/$name.qcow2\"}}" >/dev/null 2>&1 ||
    echo "$name: its disk fails qemu-img check"
  b=$(qemu-img info -U --output=json "json:{\"driver\":\"qcow2\",\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\"$here/$name.qcow2\"}}" 2>/dev/null |
      jq -r '."backing-filename" // ""')
  [ "$b" = "$backing" ] || echo "$name: backing file '$b', not '$backing'"
}

# fleet_problems: how the two hosts differ from the plan (nothing if they
# do not). Also known_hosts and `fleet status --json`.
fleet_problems() {
  local i n mac expect
  expect=$(for n in "${LOC[@]}"; do printf 'h1-domain %s\nh1-volume %s.qcow2\nh1-file %s.qcow2\n' "$n" "$n" "$n"; done
           for n in "${WEB[@]}"; do printf 'h2-domain %s\nh2-volume %s.qcow2\nh2-file %s.qcow2\n' "$n" "$n" "$n"; done
           printf 'h2-volume %s\nh2-file %s\n' "$TPLVOL" "$TPLVOL")
  inventory_diff "$expect"
  for i in 0 1; do
    mac=$(domiflist_mac_of "$V2" "${WEB[$i]}")
    [ "$mac" = "${WEB_MAC[$i]}" ] || echo "${WEB[$i]}: MAC '$mac', not ${WEB_MAC[$i]}"
    disk_problems "$V2" "${WEB[$i]}" "$H2POOL" "/var/lib/libvirt/images/$TPLVOL"
    mac=$(domiflist_mac_of "$V" "${LOC[$i]}")
    [ -n "$mac" ] || echo "${LOC[$i]}: no NIC"
    disk_problems "$V" "${LOC[$i]}" "$POOL_DIR" "$tpl"
  done
  [ "$(domiflist_mac_of "$V" "${LOC[0]}")" != "$(domiflist_mac_of "$V" "${LOC[1]}")" ] || echo "the loc clones have one MAC"
  if [ -f "$H2POOL/$TPLVOL" ] && [ "$(sha256sum <"$H2POOL/$TPLVOL" | cut -d' ' -f1)" != "$tpl_sum" ]; then
    echo "the template copy on h2 is not the template's bytes"
  fi
  net_problems plan
  fleet_files | grep -vx "$KH" | sed 's/^/unexpected /' || true
  # known_hosts: KEYLINES lines for each clone, no other.
  for n in "${WEB[@]}" "${LOC[@]}"; do
    i=$(grep -c "^$n," "$KH" 2>/dev/null || true)
    [ "$i" = "$KEYLINES" ] || echo "known_hosts: $i lines for $n, not $KEYLINES"
  done
  i=$(grep -c . "$KH" 2>/dev/null || true)
  [ "$i" = $((4 * KEYLINES)) ] || echo "known_hosts: $i lines, not $((4 * KEYLINES))"
  # What vmstamp itself says: every clone kept, on its host, no stray.
  if "$VMSTAMP" fleet status --json "$plan" >"$SCRATCH/status.json" 2>"$SCRATCH/status.err"; then
    jq -r '(.clones[] | "\(.name) \(.host) \(.action) \(.mac)"), (.host_errors[] | "host error \(.)")' \
      "$SCRATCH/status.json" | sort >"$SCRATCH/status.rows"
    expect=$(for i in 0 1; do
               echo "${WEB[$i]} h2 keep ${WEB_MAC[$i]}"
               echo "${LOC[$i]} h1 keep $(domiflist_mac_of "$V" "${LOC[$i]}")"
             done | sort)
    [ "$(cat "$SCRATCH/status.rows")" = "$expect" ] || echo "fleet status: $(flat "$(cat "$SCRATCH/status.rows")")"
  else
    echo "fleet status failed: $(tail -n 1 "$SCRATCH/status.err")"
  fi
}

# destroyed_problems [COPY]: what is left of the fleet on either host after
# `fleet destroy`; with COPY "copy", the template's copy on h2 is expected
# (it stays: other fleets may use it).
destroyed_problems() {
  if [ "${1:-}" = copy ]; then
    inventory_diff "$(printf 'h2-volume %s\nh2-file %s\n' "$TPLVOL" "$TPLVOL")"
  else
    inventory_diff ""
  fi
  net_problems none
  [ ! -s "$KH" ] || echo "known_hosts lines left: $(wc -l <"$KH")"
  fleet_files | grep -vx "$KH" | sed 's/^/unexpected /' || true
}

# fleet_files: the fleet's files in vmstamp's state directory (its
# known_hosts; a temporary file beside it would be an orphan).
fleet_files() {
  ls -A /var/lib/vmstamp/fleet 2>/dev/null | grep -F "$FLEET" | sed 's|^|/var/lib/vmstamp/fleet/|' || true
}

domiflist_mac_of() { # VIRSH NAME
  $1 domiflist "$2" 2>/dev/null | awk 'NF >= 5 {print $5; exit}'
}

# run_left RID: what a run (id pid-start) left that is named after it: its
# journal, key / work / install directories, staged files.
run_left() {
  run_things "$1"
  ls -d "$STAGE/$1" 2>/dev/null || true
}

# claims_left: claim files that name the test prefix (a run holds them
# while it lives; none is left once the runs are over).
claims_left() {
  find /run/vmstamp/claims -type f 2>/dev/null | grep -F "$PREFIX" || true
}

# fleet_scrub: remove by hand whatever of the fleet is left on both hosts
# (after a failed check, so the next round starts clean).
fleet_scrub() {
  local d x
  "$VMSTAMP" fleet destroy "$plan" >/dev/null 2>&1 || true
  for d in $($V list --all --name | grep -F "$PREFIX" || true); do
    $V destroy "$d" >/dev/null 2>&1 || true
    $V undefine "$d" >/dev/null 2>&1 || true
  done
  for d in $($V2 list --all --name | grep -F "$PREFIX" || true); do
    $V2 destroy "$d" >/dev/null 2>&1 || true
    $V2 undefine "$d" >/dev/null 2>&1 || true
  done
  rm -f "$POOL_DIR/$PREFIX"* "$POOL_DIR/.$PREFIX"*
  $V pool-refresh default >/dev/null 2>&1 || true
  $V2 pool-refresh default >/dev/null 2>&1 || true
  for d in $($V2 vol-list default 2>/dev/null | awk '{print $1}' | grep -F "$PREFIX" || true); do
    $V2 vol-delete --pool default "$d" >/dev/null 2>&1 || true
  done
  rm -f "$H2POOL/$PREFIX"* "$H2POOL/.$PREFIX"*
  $V2 pool-refresh default >/dev/null 2>&1 || true
  for x in "" --inactive; do
    # shellcheck disable=SC2086 # x: an option or nothing
    { $V2 net-dumpxml $x default | grep -F "<host mac=" | grep -F "name='$PREFIX" | sed 's/^ *//' || true; } |
      while read -r d; do
        $V2 net-update default delete ip-dhcp-host "$d" --live --config >/dev/null 2>&1 ||
          $V2 net-update default delete ip-dhcp-host "$d" --config >/dev/null 2>&1 || true
      done
  done
  for x in 0 1; do
    d="<host ip='${WEB_IP[$x]}'><hostname>${WEB[$x]}.lab.test</hostname></host>"
    $V2 net-update default delete dns-host "$d" --live --config >/dev/null 2>&1 ||
      $V2 net-update default delete dns-host "$d" --config >/dev/null 2>&1 || true
  done
  rm -f "$KH" "$KH".tmp.*
}

# fleet_exit_cleanup RID...: the EXIT trap's part for the fleet (before
# lib.sh's cleanup): dead runs' journals name the second host, so they are
# replayed (vmstamp gc) while it is up (started again if it is not); what gc could not undo of the
# runs RID... is removed by hand, the host stopped.
fleet_exit_cleanup() {
  local r
  # (a test that failed while the host was down: up again for the replay)
  if [ -e "$DIR/.testhost" ] && ! "$TH" status "$DIR" >/dev/null 2>&1; then
    "$TH" start "$DIR" >/dev/null 2>&1 || true
  fi
  if [ -e "$DIR/.testhost" ] && "$TH" status "$DIR" >/dev/null 2>&1; then
    "$VMSTAMP" gc >/dev/null 2>&1 || true
    [ ! -f "$plan" ] || "$VMSTAMP" fleet destroy "$plan" >/dev/null 2>&1 || true
  fi
  [ -e "$DIR/.testhost" ] && "$TH" stop "$DIR" >&2 || true
  for r in "$@"; do
    if [ -e "$JOURNAL_DIR/$r.json" ]; then
      echo "note: removing $JOURNAL_DIR/$r.json, which gc could not replay (its second host is gone)" >&2
      rm -f "$JOURNAL_DIR/$r.json"
    fi
    rm -rf "${STAGE:?}/$r" "/run/vmstamp/keys.$r"
  done
  rm -f "$KH" "$KH".tmp.*
}
