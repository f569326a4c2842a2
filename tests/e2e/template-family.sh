#!/usr/bin/env bash
# template-family.sh FAMILY: plant what each default sysprep operation must
# remove (and what must stay) in a copy of the fixture, make a template of
# it, read the template back with libguestfs and check every operation did
# its job, then clone the template by name from the store and boot it.
. "$(dirname "$0")/lib.sh"
family=$1
start_test

src=$(fixture "$family")
tpl="${PREFIX}tpl-$family"
lvm=0; case $family in el7|el9) lvm=1 ;; esac
ops=defaults
# el9 also turns one default off and one off-by-default operation on; el7
# turns on the other operations that are off by default.
[ "$family" = el9 ] && ops=defaults,-tmp-files,+user-account
[ "$family" = el7 ] && ops=defaults,+firewall-rules,+flag-reconfiguration,+kerberos-data,+ca-certificates

# Plant one file per operation (paths from virt-sysprep's operations) and a
# normal user, in one appliance launch.
note "plant files in the source"
gf -a "$src" -i <<'GF'
mkdir-p /var/spool/abrt/ccpp-1
write /var/spool/abrt/ccpp-1/coredump x
write /etc/fstab.bak x
write /etc/ssh/sshd_config~ x
mkdir-p /home/alice/.ssh
write /home/alice/.bash_history "ls\n"
write /home/alice/.ssh/authorized_keys "ssh-ed25519 AAAA alice\n"
write /home/alice/notes.txt "alice's file\n"
write-append /etc/passwd "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
write-append /etc/group "alice:x:1000:\n"
mkdir-p /etc/blkid
write /etc/blkid/blkid.tab x
mkdir-p /var/lib/cloud/instances/i-1
write /var/lib/cloud/instances/i-1/obj.pkl x
mkdir-p /var/crash
write /var/crash/vmcore x
mkdir-p /var/spool/cron
write /var/spool/cron/root "* * * * * true\n"
mkdir-p /var/lib/dhclient
write /var/lib/dhclient/dhclient-eth0.leases x
mkdir-p /var/lib/dhcpd
write /var/lib/dhcpd/dhcpd.leases x
mkdir-p /var/lib/dovecot
write /var/lib/dovecot/ssl-parameters.dat x
mkdir-p /etc/ipa
write /etc/ipa/ca.crt x
write /etc/krb5.keytab x
mkdir-p /var/log/audit
write /var/log/audit/audit.log x
write /var/log/secure x
write /var/log/wtmp "login records"
write /root/original-ks.cfg "rootpw --iscrypted $6$x\n"
mkdir-p /etc/lvm/devices
write /etc/lvm/devices/system.devices x
mkdir-p /var/spool/mail
write /var/spool/mail/root x
mkdir-p /var/account
write /var/account/pacct x
mkdir-p /var/cache/dnf/baseos
write /var/cache/dnf/baseos/repomd.xml x
mkdir-p /var/cache/apt/archives
write /var/cache/apt/archives/bash_5.2.deb x
write /etc/passwd- x
write /etc/shadow- x
mkdir-p /var/log/puppet
write /var/log/puppet/puppet.log x
mkdir-p /etc/pki/consumer
write /etc/pki/consumer/cert.pem x
mkdir-p /etc/sysconfig/rhn
write /etc/sysconfig/rhn/systemid x
mkdir-p /var/lib/rpm
write /var/lib/rpm/__db.001 x
mkdir-p /var/lib/samba
write /var/lib/samba/secrets.tdb x
write /etc/sysconfig/hw-uuid x
mkdir-p /root/.ssh
write /root/.ssh/authorized_keys "ssh-ed25519 AAAA root\n"
mkdir-p /var/lib/sss/db
write /var/lib/sss/db/cache.ldb x
mkdir-p /var/lib/yum
write /var/lib/yum/uuid x
write /root/.zsh_history x
write /tmp/.hidden x
mkdir-p /var/run/faillock
write /var/run/faillock/root x
write /var/run/utmp x
mkdir-p /etc/firewalld/zones
write /etc/firewalld/zones/public.xml x
mkdir-p /var/kerberos/krb5kdc
write /var/kerberos/krb5kdc/kdc.conf x
mkdir-p /etc/pki/ca-trust/source/anchors
write /etc/pki/ca-trust/source/anchors/lab.crt x
GF
# LVM families: the VG UUID (lvm-uuids changes it) and the swap LV's
# header (discarded for size, header kept: same UUID, still swap).
case $family in el7) swapdev=/dev/centos/swap ;; el9) swapdev=/dev/rl/swap ;; *) swapdev= ;; esac
lvm_facts() {
  gf --ro -a "$1" run : vgs-full : echo SWAP : vfs-uuid "$swapdev" : vfs-type "$swapdev" >"$2"
}
vg_before= swap_before=
if [ $lvm = 1 ]; then
  lvm_facts "$src" "$SCRATCH/lvm-before"
  vg_before=$(sed -n 's/^ *vg_uuid: //p' "$SCRATCH/lvm-before" | head -n1)
  swap_before=$(sed -n '/^SWAP$/{n;p}' "$SCRATCH/lvm-before")
  [ -n "$swap_before" ] || fail "fixture has no swap UUID on $swapdev"
fi
sum_before=$(sha256sum <"$src")

note "template create ($ops)"
t0=$(date +%s)
"$VMSTAMP" template create "$tpl" --from "$src" --operations "$ops"
note "made in $(( $(date +%s) - t0 )) s"
[ "$(sha256sum <"$src")" = "$sum_before" ] || fail "template create changed the source disk"

"$VMSTAMP" template list | awk -v t="$tpl" '$1 == t {found=1} END {exit !found}' || fail "template list lacks $tpl"
"$VMSTAMP" template verify "$tpl" >/dev/null || fail "fresh template does not verify"
info=$("$VMSTAMP" template info "$tpl")
case $family in
  el7) want_os=centos7.0 ;; el9) want_os=rocky9 ;; debian12) want_os=debian12 ;; ubuntu22) want_os=ubuntu22.04 ;;
esac
grep -e "\"os\": *\"$want_os\"" >/dev/null <<<"$info" || fail "template info: os is not $want_os: $info"
grep -e '"sha256": *"[0-9a-f]\{64\}"' >/dev/null <<<"$info" || fail "template info: no sha256"
grep -e '"expand": *"/dev/sda[0-9]"' >/dev/null <<<"$info" || fail "template info: no expand partition"
image=/var/lib/vmstamp/templates/$tpl.qcow2
[ "$(stat -c %a "$image")" = 444 ] || fail "template image is not read-only"
src_kb=$(du -k "$src" | cut -f1); tpl_kb=$(du -k "$image" | cut -f1)
[ "$tpl_kb" -lt "$src_kb" ] || fail "template (${tpl_kb}K) not smaller than its source (${src_kb}K)"

note "read the template back"
# Every path the default operations must remove, and what must stay.
gone=(/var/spool/abrt/ccpp-1 /etc/fstab.bak /etc/ssh/sshd_config~ /root/.bash_history /home/alice/.bash_history
      /etc/blkid/blkid.tab /var/lib/cloud/instances /var/crash/vmcore /var/spool/cron/root
      /var/lib/dhclient/dhclient-eth0.leases /var/lib/dhcpd/dhcpd.leases /var/lib/dovecot/ssl-parameters.dat
      /etc/ipa/ca.crt /etc/krb5.keytab /var/log/audit/audit.log /var/log/secure /root/original-ks.cfg
      /etc/lvm/devices/system.devices /var/spool/mail/root /var/account/pacct /var/cache/dnf/baseos
      /var/cache/apt/archives/bash_5.2.deb /etc/passwd- /etc/shadow- /var/log/puppet/puppet.log
      /etc/pki/consumer/cert.pem /etc/sysconfig/rhn/systemid /var/lib/rpm/__db.001 /var/lib/samba/secrets.tdb
      /etc/sysconfig/hw-uuid /root/.ssh /home/alice/.ssh /var/lib/sss/db/cache.ldb /var/lib/yum/uuid
      /root/.zsh_history /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_rsa_key.pub
      /var/run/faillock/root /var/run/utmp)
# Off by default: kept unless asked for (el7 asks).
off=(/etc/firewalld/zones/public.xml /var/kerberos/krb5kdc/kdc.conf /etc/pki/ca-trust/source/anchors/lab.crt)
kept=(/etc/passwd /etc/shadow /etc/fstab /etc/hostname /etc/ssh/sshd_config /var/log /tmp /root /etc/hosts
      /var/log/wtmp /etc/machine-id)
case $family in
  el7) gone+=(/var/log/messages /root/anaconda-ks.cfg /var/log/anaconda/anaconda.log) ;;
  el9) gone+=(/var/log/messages /root/anaconda-ks.cfg /etc/NetworkManager/system-connections/eth0.nmconnection)
       kept+=(/tmp/.hidden) ;;
  debian12) gone+=(/var/log/syslog /var/log/installer/syslog /etc/udev/rules.d/70-persistent-net.rules) ;;
  ubuntu22) gone+=(/var/log/syslog /etc/systemd/network/10-eth0.link) ;;
esac
[[ "$ops" == *-tmp-files* ]] || gone+=(/tmp/.hidden /tmp/some-file)
if [ "$family" = el7 ]; then gone+=("${off[@]}") kept+=(/.unconfigured); else kept+=("${off[@]}"); fi
script=""
for p in "${gone[@]}" "${kept[@]}"; do script+="echo $p"$'\n'"exists $p"$'\n'; done
script+=$'echo ---machine-id\ncat /etc/machine-id\necho ---hosts\ncat /etc/hosts\necho ---net\n'
case $family in
  el7) script+=$'cat /etc/sysconfig/network-scripts/ifcfg-eth0\n' ;;
  debian12) script+=$'cat /etc/network/interfaces\n' ;;
  ubuntu22) script+=$'cat /etc/netplan/50-cloud-init.yaml\n' ;;
esac
script+=$'echo ---wtmp\nfilesize /var/log/wtmp\necho ---relabel\nexists /.autorelabel\necho ---passwd\ncat /etc/passwd\necho ---alice\nexists /home/alice\n'
out=$(gf --ro -a "$image" -i <<<"$script")
declare -A exists
while read -r path; do read -r val; exists[$path]=$val; done < <(sed -n '1,/^---machine-id$/p' <<<"$out" | sed '$d')
for p in "${gone[@]}"; do [ "${exists[$p]:-}" = false ] || fail "$p is still in the template (${exists[$p]:-no answer})"; done
for p in "${kept[@]}"; do [ "${exists[$p]:-}" = true ] || fail "$p was removed from the template (${exists[$p]:-no answer})"; done
section() { sed -n "/^---$1\$/,/^---/p" <<<"$out" | sed '1d;/^---/d'; }
[ -z "$(section machine-id | tr -d '[:space:]')" ] || fail "machine-id not empty: $(section machine-id)"
! grep -e "tpl-$family" >/dev/null <<<"$(section hosts)" || fail "/etc/hosts still names the template: $(section hosts)"
! grep -Ei -e 'HWADDR|DHCP_HOSTNAME|hwaddress|macaddress' >/dev/null <<<"$(section net)" \
  || fail "network config still pinned: $(section net)"
[ "$(section wtmp)" = 0 ] || fail "/var/log/wtmp not emptied"
case $family in el7|el9) want_relabel=true ;; *) want_relabel=false ;; esac
[ "$(section relabel)" = "$want_relabel" ] || fail "/.autorelabel is $(section relabel), want $want_relabel"
if [ "$family" = el9 ]; then
  ! grep -e '^alice:' >/dev/null <<<"$(section passwd)" || fail "+user-account kept alice"
  [ "$(section alice)" = false ] || fail "+user-account kept /home/alice"
else
  grep -e '^alice:' >/dev/null <<<"$(section passwd)" || fail "user-account ran though it is off by default"
fi
if [ $lvm = 1 ]; then
  lvm_facts "$image" "$SCRATCH/lvm-after"
  vg_after=$(sed -n 's/^ *vg_uuid: //p' "$SCRATCH/lvm-after" | head -n1)
  [ -n "$vg_before" ] && [ "$vg_before" != "$vg_after" ] || fail "lvm-uuids did not change the VG UUID ($vg_before)"
  [ "$(sed -n '/^SWAP$/{n;p}' "$SCRATCH/lvm-after")" = "$swap_before" ] || fail "swap header (UUID $swap_before) not kept"
  [ "$(sed -n '/^SWAP$/{n;n;p}' "$SCRATCH/lvm-after")" = swap ] || fail "$swapdev is no longer swap"
fi

note "clone the template by name and boot it"
n="${PREFIX}${family}-c"
"$VMSTAMP" clone --network user --size 2G "$tpl" "$n" | grep -v "host key"
# The clone's domain names its OS for virt-manager and osinfo tools, as a
# virt-install'ed domain does (when this host's osinfo-db knows the OS).
case $family in
el7) os_id=http://centos.org/centos/7.0 ;;
el9) os_id=http://rockylinux.org/rocky/9 ;;
ubuntu22) os_id=http://ubuntu.com/ubuntu/22.04 ;;
debian12) os_id=$(osinfo-query os short-id=debian12 --fields=id 2>/dev/null | sed -n 's/^ *\(http[^ ]*\).*/\1/p' || true) ;;
esac
if [ -n "$os_id" ]; then
  $V dumpxml "$n" | grep -E "<libosinfo:os id=[\"']$os_id[\"']/>" >/dev/null || fail "$n: no libosinfo metadata for $os_id"
else
  ! $V dumpxml "$n" | grep -e "libosinfo:os" >/dev/null || fail "$n: libosinfo metadata for an OS osinfo-db does not know"
fi
$V start "$n" >/dev/null
wait_shutoff "$n" 300
[ "$(console "$n" VMSTAMP-HOSTNAME)" = "$n" ] || fail "$n: hostname '$(console "$n" VMSTAMP-HOSTNAME)'"
[ "$(console "$n" "VMSTAMP-MAC eth0")" = "$(domiflist_mac "$n")" ] || fail "$n: MAC"
mid=$(console "$n" VMSTAMP-MACHINE-ID)
[[ "$mid" =~ ^[0-9a-f]{32}$ ]] && [ "$mid" != 0123456789abcdef0123456789abcdef ] || fail "$n: machine-id '$mid'"
[[ "$(console "$n" VMSTAMP-SSH-ED25519)" =~ ^[0-9a-f]{64}$ ]] || fail "$n: no SSH host key"
[ "$(console "$n" VMSTAMP-ROOTFS-KB)" -gt 1468006 ] || fail "$n: root fs not grown"
"$VMSTAMP" template list | awk -v t="$tpl" '$1 == t {exit !($NF == 1)}' || fail "template list does not count the clone"
# The same, as --json (README "JSON output"): parsed, with the keys it documents.
"$VMSTAMP" template list --json >"$SCRATCH/tl.json"
"$VMSTAMP" template info --json "$tpl" >"$SCRATCH/ti.json"
"$VMSTAMP" list --json >"$SCRATCH/l.json"
python3 - "$SCRATCH" "$tpl" "$n" "$image" "$want_os" <<'EOF' || fail "--json output"
import json, sys
d, tpl, n, image, os_ = sys.argv[1:]
tl = json.load(open(d + "/tl.json")); ti = json.load(open(d + "/ti.json")); l = json.load(open(d + "/l.json"))
assert tl["version"] == ti["version"] == l["version"] == 1
t = [x for x in tl["templates"] if x["name"] == tpl][0]
assert t["os"] == os_ and t["image"] == image and t["clones"] == [n], t
assert len(t["sha256"]) == 64 and t["virtual_size"] > 0 and t["stored_size"] > 0, t
assert ti["template"]["name"] == tpl and ti["template"]["sha256"] == t["sha256"] and ti["clones"] == [n], ti
assert ti["image"] == image, ti
c = [x for x in l["domains"] if x["name"] == n][0]
assert c["vmstamp"] is True and c["template"] == image and c["state"] == "shut-off", c
assert c["disk"].endswith("/" + n + ".qcow2") and c["disk_capacity"] == 2 * 1024**3, c
assert c["mac"].startswith("52:54:") and c["fleet"] is None, c
EOF
if "$VMSTAMP" template rm "$tpl" 2>/dev/null; then fail "template rm allowed while a clone uses it"; fi
"$VMSTAMP" rm "$n" >/dev/null
"$VMSTAMP" template rm "$tpl"
[ ! -e "$image" ] || fail "template rm left the image"
assert_nothing_left "end"
echo "PASS: template-family $family"
