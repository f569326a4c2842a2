#!/usr/bin/env bash
# clone-family.sh FAMILY [--full]: clone 3 with --size bigger than the
# template, boot each under libvirt, and check from the serial console that
# hostname, MAC (== virsh domiflist), pinned MAC, machine-id (3 different),
# SSH host key (3 different) and root filesystem size are the new ones.
# The template file must be byte-for-byte unchanged.
. "$(dirname "$0")/lib.sh"
family=$1
mode=${2:---linked}
start_test

tpl=$(fixture "$family")
sum_before=$(sha256sum <"$tpl")
tpl_kb=$(( $(qemu-img info --output=json "$tpl" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p') / 1024 ))
names=("${PREFIX}${family}-1" "${PREFIX}${family}-2" "${PREFIX}${family}-3")
ip_octet=$(( 10 + $$ % 200 ))

extra=()
if [ "$family" = el9 ]; then
  # Secrets and keys: password from a 0600 file, an authorized key, known_hosts.
  umask 077
  printf 's3cret-%s\n' "$$" >"$SCRATCH/pw"
  ssh-keygen -q -t ed25519 -N '' -C "e2e@test" -f "$SCRATCH/id" >/dev/null
  extra=(--root-password-file "$SCRATCH/pw" --ssh-key "$SCRATCH/id.pub" --known-hosts "$SCRATCH/known_hosts")
fi

# el9 (LVM) and debian12 (ext4 on a partition), linked: two appliances at
# once, so the first and third clone share one (the first grows, the third
# gets its grown bytes copied) and the second is alone in the other.
if [ "$mode" != --full ] && { [ "$family" = el9 ] || [ "$family" = debian12 ]; }; then
  extra+=(--parallel 2)
fi

tpl_arg=$tpl
case $family in
  el7)
    # The template as a volume of a libvirt pool (POOL/VOLUME), memory, vcpus, autostart.
    $V pool-create-as "${PREFIX}tpl" dir --target "$SCRATCH" >/dev/null
    tpl_arg="${PREFIX}tpl/$(basename "$tpl")"
    extra=(--memory 512 --vcpus 2 --autostart) ;;
  ubuntu22)
    extra=(--start) ;;
esac

note "clone 3 x $family ($mode) with --size 2G from $tpl_arg"
t0=$(date +%s)
out=$("$VMSTAMP" clone "$mode" --network user --size 2G --ip "192.168.122.$ip_octet" \
        "${extra[@]}" "$tpl_arg" "${names[@]}")
echo "$out"
note "cloned in $(( $(date +%s) - t0 )) s"
[ "$(sha256sum <"$tpl")" = "$sum_before" ] || fail "template changed by cloning"

"$VMSTAMP" list | grep -e "^${names[0]} " >/dev/null || fail "vmstamp list does not show ${names[0]}"
for n in "${names[@]}"; do
  disk=$($V domblklist "$n" | awk '$1 == "vda" {print $2}')
  backing=$(qemu-img info -U --output=json "$disk" | sed -n 's/.*"backing-filename": "\([^"]*\)".*/\1/p')
  if [ "$mode" = --full ]; then
    [ -z "$backing" ] || fail "$n: full clone has a backing file $backing"
  else
    [ "$backing" = "$tpl" ] || fail "$n: linked clone backing is '$backing', want $tpl"
  fi
  $V vol-list default | awk '{print $1}' | grep -xe "$n.qcow2" >/dev/null || fail "$n: volume not in pool default"
  [ "$(stat -c %a "$disk")" = 600 ] || fail "$n: disk holding host keys is mode $(stat -c %a "$disk"), want 600"
done

if [ "$family" = el7 ]; then
  info=$($V dominfo "${names[0]}")
  grep -Eq '^Max memory: +524288 KiB' <<<"$info" || fail "--memory 512 not applied: $info"
  grep -Eq '^CPU\(s\): +2$' <<<"$info" || fail "--vcpus 2 not applied"
  grep -Eq '^Autostart: +enable' <<<"$info" || fail "--autostart not applied"
  # The accelerator clone decided (cached per boot in /run/vmstamp/accel) is the domain type.
  want=$(awk '{print ($2 == "kvm") ? "kvm" : "qemu"}' /run/vmstamp/accel)
  $V dumpxml "${names[0]}" | grep -e "<domain type='$want'" >/dev/null || fail "domain type is not '$want'"
fi

note "boot the 3 clones"
if [ "$family" = ubuntu22 ]; then
  for n in "${names[@]}"; do
    st=$($V domstate "$n"); [ "$st" = running ] || [ "$st" = "shut off" ] || fail "--start: $n is $st"
  done
else
  for n in "${names[@]}"; do $V start "$n" >/dev/null; done
fi
for n in "${names[@]}"; do wait_shutoff "$n" 300; done
[ "$(sha256sum <"$tpl")" = "$sum_before" ] || fail "template changed by booting clones"

ids=() keys=()
for i in 0 1 2; do
  n=${names[$i]}
  [ -n "$(console "$n" VMSTAMP-DONE)$(grep -c VMSTAMP-DONE "/var/log/libvirt/qemu/$n-serial0.log")" ] || fail "$n: no console output"
  host=$(console "$n" VMSTAMP-HOSTNAME)
  mac=$(console "$n" "VMSTAMP-MAC eth0")
  pinned=$(console "$n" VMSTAMP-PINNED-MAC)
  mid=$(console "$n" VMSTAMP-MACHINE-ID)
  kb=$(console "$n" VMSTAMP-ROOTFS-KB)
  key=$(console "$n" VMSTAMP-SSH-ED25519)
  want_mac=$(domiflist_mac "$n")
  printed_mac=$(sed -n "s/^$n: mac \([0-9a-f:]*\),.*/\1/p" <<<"$out")
  echo "$n: hostname=$host mac=$mac pinned=$pinned machine-id=$mid rootfs=${kb}K"
  [ "$host" = "$n" ] || fail "$n: console hostname '$host'"
  [ "$mac" = "$want_mac" ] || fail "$n: console MAC '$mac' but domiflist says '$want_mac'"
  [ "$mac" = "$printed_mac" ] || fail "$n: console MAC '$mac' but vmstamp printed '$printed_mac'"
  [ "$pinned" = "$mac" ] || fail "$n: guest network config still pins '$pinned', NIC is '$mac'"
  [[ "$mid" =~ ^[0-9a-f]{32}$ ]] || fail "$n: machine-id '$mid'"
  [ "$mid" != 0123456789abcdef0123456789abcdef ] || fail "$n: kept the template's machine-id"
  [[ "$key" =~ ^[0-9a-f]{64}$ ]] || fail "$n: SSH host key '$key'"
  [ "$kb" -gt $(( tpl_kb * 14 / 10 )) ] || fail "$n: root fs ${kb}K not grown past 1.4x the ${tpl_kb}K template disk"
  [ "$kb" -le $(( 2 * 1024 * 1024 )) ] || fail "$n: root fs ${kb}K bigger than the 2G disk"
  ids+=("$mid") keys+=("$key")
done
want_ip_mac="52:54:c0:a8:7a:$(printf %02x "$ip_octet")"
[ "$(domiflist_mac "${names[0]}")" = "$want_ip_mac" ] || fail "--ip 192.168.122.$ip_octet did not give MAC $want_ip_mac"
[ "$(printf '%s\n' "${ids[@]}" | sort -u | wc -l)" = 3 ] || fail "clones share a machine-id: ${ids[*]}"
[ "$(printf '%s\n' "${keys[@]}" | sort -u | wc -l)" = 3 ] || fail "clones share an SSH host key"

if [ "$family" = el9 ]; then
  note "read the password hash and authorized_keys out of the image"
  disk=$($V domblklist "${names[0]}" | awk '$1 == "vda" {print $2}')
  files=$(LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg \
          guestfish --ro -a "$disk" -i <<'GF'
cat /etc/shadow
echo ---
cat /root/.ssh/authorized_keys
echo ---
is-file /.autorelabel
GF
)
  hash=$(sed -n 's/^root:\([^:]*\):.*/\1/p' <<<"$files")
  [[ "$hash" == '$6$'* ]] || fail "root hash is not SHA-512: '$hash'"
  salt=$(cut -d'$' -f3 <<<"$hash")
  [ "$(head -n1 "$SCRATCH/pw" | openssl passwd -6 -salt "$salt" -stdin)" = "$hash" ] \
    || fail "root password hash does not match the password file"
  grep -qF "$(cat "$SCRATCH/id.pub")" <<<"$files" || fail "authorized_keys lacks the --ssh-key"
  grep -qx true <<<"$files" || fail "SELinux guest got new files but no /.autorelabel"
  [ "$(grep -c "^${PREFIX}el9-" "$SCRATCH/known_hosts")" -ge 3 ] || fail "known_hosts lacks the clones"
  ! grep -rqF "s3cret-$$" /var/log/libvirt "$SCRATCH/known_hosts" || fail "password leaked into logs"
fi

if [ "$family" = debian12 ]; then
  # A second run on the same template reads the recorded layout instead of
  # searching the disk again; it must still grow and customize correctly.
  note "second run: recorded layout, --size 3G, --domain"
  n4="${PREFIX}${family}-4"
  out4=$("$VMSTAMP" clone --network user --size 3G --domain lab.test "$tpl" "$n4" 2>&1)
  grep -e "recorded layout read" >/dev/null <<<"$out4" || fail "second run did not reuse the recorded layout: $out4"
  $V start "$n4" >/dev/null
  wait_shutoff "$n4" 300
  [ "$(console "$n4" VMSTAMP-HOSTNAME)" = "$n4.lab.test" ] || fail "$n4: hostname '$(console "$n4" VMSTAMP-HOSTNAME)'"
  kb=$(console "$n4" VMSTAMP-ROOTFS-KB)
  [ "$kb" -gt $(( 2 * 1024 * 1024 )) ] || fail "$n4: root fs ${kb}K not grown past 2G with --size 3G"
  names+=("$n4")
fi

if [ "$family" = el9 ]; then
  # Clones that do not grow mount their root LV straight from their own
  # partition (the recorded LV run), with no LVM rescan per clone. Two more,
  # booted: each must carry its own identity, written to its own disk.
  note "second run without --size: root LV mounted from the recorded run, no lvm_set_filter"
  n5="${PREFIX}${family}-5" n6="${PREFIX}${family}-6"
  "$VMSTAMP" -vv clone --network user "$tpl" "$n5" "$n6" >"$SCRATCH/direct.out" 2>"$SCRATCH/direct.err" \
    || { tail -n 20 "$SCRATCH/direct.err" >&2; fail "clone without --size failed"; }
  grep -q "recorded layout read" "$SCRATCH/direct.err" || fail "second run did not reuse the recorded layout"
  ! grep -q "lvm_set_filter" "$SCRATCH/direct.err" ||
    fail "clones that do not grow still rescanned LVM ($(grep -e 'LVM instead' -e 'not one linear run' "$SCRATCH/direct.err" | head -n 3 | tr '\n' ';'))"
  ids=()
  for n in "$n5" "$n6"; do
    $V start "$n" >/dev/null
    wait_shutoff "$n" 300
    [ "$(console "$n" VMSTAMP-HOSTNAME)" = "$n" ] || fail "$n: hostname '$(console "$n" VMSTAMP-HOSTNAME)'"
    want_mac=$(domiflist_mac "$n")
    [ "$(console "$n" "VMSTAMP-MAC eth0")" = "$want_mac" ] || fail "$n: console MAC is not the domain's $want_mac"
    [ "$(console "$n" VMSTAMP-PINNED-MAC)" = "$want_mac" ] || fail "$n: network config does not pin $want_mac"
    ids+=("$(console "$n" VMSTAMP-MACHINE-ID)")
  done
  [[ "${ids[0]}" =~ ^[0-9a-f]{32}$ ]] && [ "${ids[0]}" != "${ids[1]}" ] \
    || fail "direct-path clones: machine-ids '${ids[0]}' and '${ids[1]}'"
  names+=("$n5" "$n6")

  # The first run (linked, --size 2G) recorded the template grown to 2G: a
  # clone of that size now starts from a copy of it, with no LVM rescan or
  # grow of its own, and boots grown, with its own identity.
  note "third run, --size 2G again: starts from the recorded grown template"
  n7="${PREFIX}${family}-7"
  "$VMSTAMP" -vv clone --network user --size 2G "$tpl" "$n7" >"$SCRATCH/grown.out" 2>"$SCRATCH/grown.err" \
    || { tail -n 20 "$SCRATCH/grown.err" >&2; fail "clone --size 2G (third run) failed"; }
  grep -q "clones start from the recorded template grown to" "$SCRATCH/grown.err" \
    || fail "third run did not start from the recorded grown template"
  ! grep -qe "lvm_set_filter\|part_resize\|xfs_growfs" "$SCRATCH/grown.err" || fail "third run grew its clone again"
  $V start "$n7" >/dev/null
  wait_shutoff "$n7" 300
  [ "$(console "$n7" VMSTAMP-HOSTNAME)" = "$n7" ] || fail "$n7: hostname '$(console "$n7" VMSTAMP-HOSTNAME)'"
  kb=$(console "$n7" VMSTAMP-ROOTFS-KB)
  [ "$kb" -gt $(( 1536 * 1024 )) ] || fail "$n7: root fs ${kb}K, not grown with --size 2G"
  id7=$(console "$n7" VMSTAMP-MACHINE-ID)
  [[ "$id7" =~ ^[0-9a-f]{32}$ ]] && [ "$id7" != "${ids[0]}" ] && [ "$id7" != "${ids[1]}" ] \
    || fail "$n7: machine-id '$id7'"
  names+=("$n7")
fi

note "vmstamp rm"
"$VMSTAMP" rm "${names[@]}"
assert_nothing_left "after rm"
[ "$(sha256sum <"$tpl")" = "$sum_before" ] || fail "template changed"
echo "PASS: clone-family $family $mode"
