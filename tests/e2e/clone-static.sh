#!/usr/bin/env bash
# clone-static.sh: `vmstamp clone --ip ADDRESS/PREFIX --gateway --dns` writes
# a static IPv4 configuration into the guest's own network configuration,
# in its family's format, with the MAC pinning kept: one clone of each
# fixture (el7 ifcfg, el9 NetworkManager keyfile, debian12 ifupdown
# interfaces, ubuntu22 netplan), then every clone disk read in ONE
# libguestfs launch. User-mode networking only (no host bridge): the
# configuration is written whatever the network. Also the user errors (one
# line, nothing made): --gateway without --ip, --ip with --count 3, a bad
# prefix, and a template with no network configuration to write it in.
. "$(dirname "$0")/lib.sh"
start_test

families=(el7 el9 debian12 ubuntu22)
declare -A tpl sum
for f in "${families[@]}"; do
  tpl[$f]=$(fixture "$f")
  sum[$f]=$(sha256sum <"${tpl[$f]}")
done

net=10.$(( 20 + $$ % 200 )).7
gw=$net.1
dns1=$net.2 dns2=9.9.9.9
declare -A octet=([el7]=11 [el9]=12 [debian12]=13 [ubuntu22]=14)

# ---- user errors: refused before anything is made -----------------------
N=${PREFIX}bad
expect_error() {
  expect_one_line_error "$@"
  [ ! -s "$SCRATCH/out" ] || fail "$1: printed on stdout"
  assert_nothing_left "$1"
  echo "ok: $1: $(cat "$SCRATCH/err")"
}
expect_error "--gateway without --ip" "--gateway needs --ip ADDRESS/PREFIX" \
  clone --network user --gateway "$gw" "${tpl[el9]}" "$N"
expect_error "--dns without --ip" "--dns needs --ip ADDRESS/PREFIX" \
  clone --network user --dns "$dns1" "${tpl[el9]}" "$N"
expect_error "--ip with --count 3" "--ip $net.20/24 is one clone's static address, and this run makes 3" \
  clone --network user --ip "$net.20/24" --count 3 --name-pattern "${N}-%d" "${tpl[el9]}"
expect_error "--ip with two names" "one clone's static address, and this run makes 2" \
  clone --network user --ip "$net.20/24" "${tpl[el9]}" "$N-1" "$N-2"
expect_error "prefix /33" "invalid --ip '$net.20/33': the prefix length is 1 to 32" \
  clone --network user --ip "$net.20/33" "${tpl[el9]}" "$N"
expect_error "no prefix number" "invalid --ip '$net.20/': the prefix length is 1 to 32" \
  clone --network user --ip "$net.20/" "${tpl[el9]}" "$N"
expect_error "gateway off the subnet" "gateway 10.254.254.1 is not in $net.20/24" \
  clone --network user --ip "$net.20/24" --gateway 10.254.254.1 "${tpl[el9]}" "$N"
expect_error "five DNS servers" "too many --dns servers: at most 4" \
  clone --network user --ip "$net.20/24" --dns 1.1.1.1,1.0.0.1,8.8.8.8 --dns 8.8.4.4,9.9.9.9 "${tpl[el9]}" "$N"

# A template with nothing to write the address in (Debian without
# /etc/network/interfaces): the clone is named, and nothing is left.
note "template without network configuration"
cp --sparse=always "${tpl[debian12]}" "$SCRATCH/nonet.qcow2"
gf -a "$SCRATCH/nonet.qcow2" -i rm /etc/network/interfaces
expect_error "no network configuration" \
  "cannot customize clone '$N': the template has no network configuration .*: clone it without --ip, or add one to the template" \
  clone --network user --ip "$net.20/24" "$SCRATCH/nonet.qcow2" "$N"

# ---- one clone of each family, each with its static address ------------
declare -A name mac disk
for f in "${families[@]}"; do
  name[$f]="${PREFIX}$f"
  args=(--network user --ip "$net.${octet[$f]}/24" --gateway "$gw" --dns "$dns1,$dns2")
  want_mac=52:54:0a:$(printf '%02x:07:%02x' $(( 20 + $$ % 200 )) "${octet[$f]}")
  case $f in
    el9)
      # --mac wins over the MAC --ip would give.
      want_mac=52:54:00:$(printf '%02x:%02x' $(( $$ % 256 )) $(( ($$ / 256) % 256 ))):12
      args+=(--mac "$want_mac") ;;
    debian12)
      # --count 1 is one clone too.
      args+=(--count 1 --name-pattern "${PREFIX}debian%d")
      name[$f]="${PREFIX}debian1" ;;
  esac
  note "clone ${name[$f]} ($f) with --ip $net.${octet[$f]}/24"
  if [ "$f" = debian12 ]; then
    out=$("$VMSTAMP" clone "${args[@]}" "${tpl[$f]}")
  else
    out=$("$VMSTAMP" clone "${args[@]}" "${tpl[$f]}" "${name[$f]}")
  fi
  echo "$out"
  mac[$f]=$(sed -n "s/^${name[$f]}: mac \([0-9a-f:]*\),.*/\1/p" <<<"$out")
  [ "${mac[$f]}" = "$want_mac" ] || fail "${name[$f]}: MAC '${mac[$f]}', want $want_mac"
  [ "$(domiflist_mac "${name[$f]}")" = "$want_mac" ] || fail "${name[$f]}: the domain's NIC is not $want_mac"
  disk[$f]=$($V domblklist "${name[$f]}" | awk '$1 == "vda" {print $2}')
  [ "$(sha256sum <"${tpl[$f]}")" = "${sum[$f]}" ] || fail "$f: template changed by cloning"
done

# ---- read the four clones' files in one appliance launch ----------------
note "read the network configuration out of the 4 clone disks (one launch)"
gfargs=(--listen --ro)
for f in "${families[@]}"; do gfargs+=(--format=qcow2 -a "${disk[$f]}"); done
eval "$(gf "${gfargs[@]}")"
[ -n "${GUESTFISH_PID:-}" ] || fail "guestfish --listen did not start"
trap 'guestfish --remote exit >/dev/null 2>&1 || true; cleanup' EXIT
guestfish --remote run
declare -A files
files[el7]="/etc/sysconfig/network-scripts/ifcfg-eth0"
files[el9]="/etc/NetworkManager/system-connections/eth0.nmconnection"
files[debian12]="/etc/network/interfaces /etc/udev/rules.d/70-persistent-net.rules"
files[ubuntu22]="/etc/netplan/50-cloud-init.yaml /etc/systemd/network/10-eth0.link"
declare -A text
for root in $(guestfish --remote inspect-os); do
  guestfish --remote mount-ro "$root" /
  host=$(guestfish --remote cat /etc/hostname)
  for f in "${families[@]}"; do
    [ "$host" = "${name[$f]}" ] || continue
    for p in ${files[$f]}; do
      text[$f]+="$(guestfish --remote cat "$p")"$'\n'
    done
  done
  guestfish --remote umount-all
done
guestfish --remote exit
trap cleanup EXIT

# has FAMILY LABEL PATTERN: the family's files hold a line matching PATTERN (ERE, whole line).
has() {
  grep -Eqix -- "$3" <<<"${text[$1]}" || { printf '%s\n' "${text[$1]}" >&2; fail "${name[$1]} ($1): no $2 line /$3/"; }
}
for f in "${families[@]}"; do
  [ -n "${text[$f]:-}" ] || fail "${name[$f]} ($f): its disk was not found or its files were not read"
done
ip=${net//./\\.} m=""
# el7: ifcfg-eth0
f=el7; a="$ip\.${octet[$f]}"; m=${mac[$f]}
has $f BOOTPROTO "BOOTPROTO=none"
has $f IPADDR "IPADDR=$a"
has $f PREFIX "PREFIX=24"
has $f GATEWAY "GATEWAY=$ip\.1"
has $f DNS1 "DNS1=$ip\.2"
has $f DNS2 "DNS2=9\.9\.9\.9"
has $f "pinned MAC" "HWADDR=$m"
has $f "device" "DEVICE=eth0"
# el9: NetworkManager keyfile
f=el9; a="$ip\.${octet[$f]}"; m=${mac[$f]}
has $f method "method=manual"
has $f address1 "address1=$a/24,$ip\.1"
has $f dns "dns=$ip\.2;9\.9\.9\.9;"
has $f "pinned MAC" "mac-address=$m"
has $f "IPv6 kept" "method=auto"
# debian12: ifupdown interfaces (+ the udev rule)
f=debian12; a="$ip\.${octet[$f]}"; m=${mac[$f]}
has $f iface "iface eth0 inet static"
has $f address " *address $a/24"
has $f gateway " *gateway $ip\.1"
has $f dns-nameservers " *dns-nameservers $ip\.2 9\.9\.9\.9"
has $f "pinned MAC" " *hwaddress ether $m"
has $f "udev rule" ".*ATTR\{address\}==\"$m\".*NAME=\"eth0\""
# ubuntu22: netplan (+ the .link file)
f=ubuntu22; a="$ip\.${octet[$f]}"; m=${mac[$f]}
has $f dhcp4 " *dhcp4: false"
has $f address " *- $a/24"
has $f route " *- to: default"
has $f via " *via: $ip\.1"
has $f nameservers " *addresses: \[$ip\.2, 9\.9\.9\.9\]"
has $f "pinned MAC" " *macaddress: $m"
has $f set-name " *set-name: eth0"
has $f ".link MAC" "MACAddress=$m"
! grep -q "dhcp4: true" <<<"${text[$f]}" || fail "${name[$f]}: netplan still has dhcp4: true"
echo "ok: static IPv4 and MAC pinning in ifcfg, keyfile, interfaces and netplan"

note "vmstamp rm"
"$VMSTAMP" rm "${name[@]}"
assert_nothing_left "after rm"
for f in "${families[@]}"; do
  [ "$(sha256sum <"${tpl[$f]}")" = "${sum[$f]}" ] || fail "$f: template changed"
done
echo "PASS: clone-static"
