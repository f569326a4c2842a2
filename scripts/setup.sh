#!/usr/bin/env bash
# setup.sh: make this host ready to build, test and run vmstamp. Idempotent.
#  - installs the Debian packages the build, the tests and the runtime need;
#  - starts virtlogd and libvirtd when they are not running (no systemd here);
#  - makes sure the libvirt storage pool `default` exists, is active and autostarts;
#  - defines the `default` NAT network if missing (it is not started here:
#    tests use user-mode networking, see README).
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config
  libguestfs-dev libvirt-dev libarchive-dev libssl-dev libxml2-dev
  libjson-c-dev libyaml-dev libcrypt-dev libcmocka-dev libosinfo-1.0-dev
  scdoc man-db groff-base  # man pages: doc/*.scd -> roff; the test renders them
  clang libclang-rt-14-dev  # libFuzzer targets (tests/fuzz/, scripts/fuzz.sh)
  acl  # setfacl: --fix-permissions
  # runtime
  libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils
  libguestfs0 libguestfs-tools libguestfs-xfs guestfs-tools openssh-client openssl dnsmasq-base
  osinfo-db libosinfo-bin  # --os-variant ids (libosinfo); osinfo-query for users
  nftables iptables  # port forwards (clone --forward): DNAT in nft table ip vmstamp, FORWARD accepts
  # fixtures (lvm2 and xfsprogs before the kernel, so its initramfs has them)
  lvm2 xfsprogs e2fsprogs initramfs-tools busybox-static
  thin-provisioning-tools  # thin LVM snapshots (clone --pool VG; the e2e-lvm test)
  extlinux syslinux-common isolinux xorriso cpio zstd xz-utils iproute2
  rpm  # an rpm database in the EL fixtures, so virt-inspector recognises them
  valgrind  # e2e-memcheck: vmstamp under memcheck
  ansible-core  # e2e-fleet: ansible-inventory reads what fleet inventory writes
  # benchmark: the stock tools we compare against
  virtinst
)

need=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -e 'install ok installed' >/dev/null || need+=("$p")
done
if ! dpkg-query -W -f='${Status}' linux-image-amd64 2>/dev/null | grep -e 'install ok installed' >/dev/null; then
  kernel_needed=1
else
  kernel_needed=0
fi
if [ ${#need[@]} -gt 0 ] || [ $kernel_needed = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    apt-get install -y -q --no-install-recommends "${need[@]}" >&2
  fi
  if [ $kernel_needed = 1 ]; then
    echo "setup: installing linux-image-amd64" >&2
    apt-get install -y -q --no-install-recommends linux-image-amd64 >&2
  fi
fi

mkdir -p /var/log/libvirt /var/run/libvirt /var/lib/libvirt/images
if ! pgrep -x virtlogd >/dev/null; then
  virtlogd -d
fi
if ! pgrep -x libvirtd >/dev/null; then
  libvirtd -d
fi
for _ in $(seq 1 50); do
  virsh -q -c qemu:///system version >/dev/null 2>&1 && break
  sleep 0.2
done
virsh -q -c qemu:///system version >/dev/null

V="virsh -q -c qemu:///system"
if ! $V pool-info default >/dev/null 2>&1; then
  $V pool-define-as default dir --target /var/lib/libvirt/images >/dev/null
fi
# (captured first: with pipefail, grep -q closing the pipe early would fail it)
pool_state=$($V pool-info default)
if ! grep -q 'State: *running' <<<"$pool_state"; then
  $V pool-build default >/dev/null 2>&1 || true
  $V pool-start default >/dev/null
fi
$V pool-autostart default >/dev/null

if ! $V net-info default >/dev/null 2>&1; then
  if [ -f /usr/share/libvirt/networks/default.xml ]; then
    $V net-define /usr/share/libvirt/networks/default.xml >/dev/null
  fi
fi
echo "setup: ready (libvirtd running, pool 'default' active)" >&2
