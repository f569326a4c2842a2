#!/usr/bin/env bash
# install.sh: vmstamp install from the test installer ISO
# (scripts/build-installer-iso.sh) with kickstart/testdist.ks, then boot the
# installed disk by itself and check what the kickstart asked for: host
# name, root password (crypted, verifies), /root/anaconda-ks.cfg, %post.
# The ISO is not modified; the password appears in no log.
. "$(dirname "$0")/lib.sh"
start_test

iso=$("$SRC/scripts/build-installer-iso.sh" | tail -n 1)
[ -f "$iso" ] || fail "installer ISO not built"
iso_sum=$(sha256sum <"$iso")
iso_owner=$(stat -c '%U:%G %a' "$iso")

N=${PREFIX}inst
PW="vmstamp-Install-$$ pw"
printf '%s\n' "$PW" >"$SCRATCH/pw"
chmod 600 "$SCRATCH/pw"

note "vmstamp install $N --os-variant centos7.0"
ls -d /var/tmp/vmstamp-install.* 2>/dev/null | sort >"$SCRATCH/tmp-before" || true
# The live install domain, as 'virsh dumpxml' shows it while it runs.
( for ((i = 0; i < 600; i++)); do
    if $V dumpxml "$N" >"$SCRATCH/live.tmp" 2>/dev/null && [ -s "$SCRATCH/live.tmp" ]; then
      mv "$SCRATCH/live.tmp" "$SCRATCH/live.xml"; exit 0
    fi
    sleep 0.2
  done; exit 1 ) &
watcher=$!
t0=$(date +%s)
"$VMSTAMP" install --iso "$iso" --kickstart "$SRC/kickstart/testdist.ks" --name "$N" --os-variant centos7.0 \
  --network user --size 2G --root-password-file "$SCRATCH/pw" --iso-sha256 "${iso_sum%% *}" \
  >"$SCRATCH/out" 2>"$SCRATCH/err" || { cat "$SCRATCH/err" >&2; fail "install failed"; }
t1=$(date +%s)
wait "$watcher" || fail "never saw the install domain with virsh dumpxml"
# --os-variant: recorded as virt-install does, and CentOS 7's anaconda gets ks=.
grep -Eq "<libosinfo:os id=[\"']http://centos.org/centos/7.0[\"']/>" "$SCRATCH/live.xml" ||
  { cat "$SCRATCH/live.xml" >&2; fail "install domain lacks libosinfo metadata for centos7.0"; }
grep -q "<cmdline>ks=file:/ks.cfg inst.stage2=hd:LABEL=VMSTAMP-TESTDIST-1 console=ttyS0,115200</cmdline>" "$SCRATCH/live.xml" ||
  fail "install domain cmdline: $(grep cmdline "$SCRATCH/live.xml")"
grep -q "<on_reboot>destroy</on_reboot>" "$SCRATCH/live.xml" || fail "install domain does not end on reboot"
cat "$SCRATCH/out"
grep -qx "$N: installed in [0-9]* s, disk default/$N.qcow2" "$SCRATCH/out" || fail "unexpected output: $(cat "$SCRATCH/out")"
disk=$POOL_DIR/$N.qcow2
[ -f "$disk" ] || fail "no disk $disk"
$V pool-refresh default >/dev/null
$V vol-info --pool default "$N.qcow2" >/dev/null || fail "volume $N.qcow2 not in pool default"
[ -z "$($V list --all --name | grep "^$PREFIX")" ] || fail "install left a domain behind"
[ "$(sha256sum <"$iso")" = "$iso_sum" ] || fail "the ISO changed"
# No temporary kernel/initrd left (unless another vmstamp runs alongside).
left=$(comm -13 "$SCRATCH/tmp-before" <(ls -d /var/tmp/vmstamp-install.* 2>/dev/null | sort))
[ -z "$left" ] || pgrep -x vmstamp >/dev/null || fail "temporary directory left: $left"
log=/var/log/libvirt/qemu/$N-install.log
[ -s "$log" ] || fail "no install console log $log"
grep -q "INSTALLER: installation complete" "$log" || fail "installer did not complete"
grep -q "hostname $N" "$log" || fail "installer did not get the host name"
grep -q "INSTALLER: kickstart: /ks.cfg (from ks=)" "$log" || fail "the installer did not read the kickstart from ks="
! grep -qF "$PW" "$log" "$SCRATCH/out" "$SCRATCH/err" || fail "the password shows in a log"
note "installed in $((t1 - t0)) s"

# Boot the installed disk by itself: a plain domain, no kernel, no ISO.
accel=$(awk '{print $2}' /run/vmstamp/accel)
type=qemu
[ "$accel" = kvm ] && type=kvm
B=${PREFIX}boot
$V define /dev/stdin >/dev/null <<XML
<domain type='$type'><name>$B</name><memory unit='MiB'>1024</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
<features><acpi/><apic/></features>
<on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>
<devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$disk'/><target dev='vda' bus='virtio'/></disk>
<interface type='user'><model type='virtio'/></interface>
<serial type='pty'><log file='/var/log/libvirt/qemu/$B-serial0.log' append='off'/><target port='0'/></serial>
<console type='pty'><target type='serial' port='0'/></console>
</devices></domain>
XML
$V start "$B" >/dev/null
wait_shutoff "$B" 600
host=$(console "$B" VMSTAMP-HOSTNAME)
[ "$host" = "$N" ] || { tail -n 20 "/var/log/libvirt/qemu/$B-serial0.log" >&2; fail "installed system says hostname '$host', not '$N'"; }
note "installed system booted: VMSTAMP-HOSTNAME=$host"
$V undefine "$B" >/dev/null

# Inside the disk: the root password hash verifies, the kickstart is kept.
gf --ro -a "$disk" -i <<'GF' >"$SCRATCH/inside"
cat /etc/shadow
echo ---
is-file /root/anaconda-ks.cfg
echo ---
cat /etc/vmstamp-install
echo ---
cat /root/anaconda-ks.cfg
GF
hash=$(awk -F: '$1 == "root" {print $2; exit}' "$SCRATCH/inside")
case "$hash" in '$6$'*) ;; *) fail "root's hash is not SHA-512 crypt: '$hash'" ;; esac
salt=$(echo "$hash" | cut -d'$' -f3)
[ "$(printf '%s' "$PW" | openssl passwd -6 -salt "$salt" -stdin)" = "$hash" ] || fail "root's hash does not verify against the password"
awk 'f == 1 {print; exit} /^---$/ {f++}' "$SCRATCH/inside" | grep -qx true || fail "/root/anaconda-ks.cfg missing"
grep -q "installed by vmstamp from testdist.ks" "$SCRATCH/inside" || fail "%post did not run"
grep -q "^rootpw --iscrypted \\\$6\\\$" "$SCRATCH/inside" || fail "anaconda-ks.cfg has no crypted rootpw"
grep -q "^network --bootproto=dhcp --hostname=$N\$" "$SCRATCH/inside" || fail "anaconda-ks.cfg: @@HOSTNAME@@ not substituted"
! grep -qF "$PW" "$SCRATCH/inside" || fail "the password is in clear on the disk"
[ "$(sha256sum <"$iso")" = "$iso_sum" ] || fail "the ISO changed"
[ "$(stat -c '%U:%G %a' "$iso")" = "$iso_owner" ] || fail "the ISO's owner or mode changed: $(stat -c '%U:%G %a' "$iso"), was $iso_owner"

note "cleanup"
cleanup
trap - EXIT
assert_nothing_left "end"
echo "PASS: install ($((t1 - t0)) s install)"
