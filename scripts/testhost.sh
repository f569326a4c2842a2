#!/usr/bin/env bash
# testhost.sh: a second libvirt "host" on this machine, for tests.
#
#   testhost.sh start DIR    start it (prints its URI), or print the URI if running
#   testhost.sh stop DIR     stop everything it started; nothing is left running
#   testhost.sh status DIR   "running URI" (exit 0) or "stopped" (exit 3)
#
# A root libvirtd and virtlogd run in their own mount and network namespace
# (unshare --mount --net --propagation private): a private tmpfs on /run, and
# /run/libvirt, /var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt and
# /etc/libvirt bind-mounted from DIR/run/libvirt, DIR/var/lib/libvirt, ... so
# nothing clashes with the host's daemons (pid files, sockets, state). The
# daemon's socket directory is DIR/run/libvirt, seen from both sides:
#   qemu+unix:///system?socket=DIR/run/libvirt/libvirt-sock
# It has a `default` NAT network (bridge thbr0, dnsmasq, DHCP
# 192.168.150.100-200 on 192.168.150.0/24) that exists only inside the
# namespace (the namespace has no link but lo and that bridge: nothing it
# carries reaches the host's networks), and a `default` dir pool at
# /var/lib/libvirt/images, as on a real host. Inside the namespace that path
# is DIR/var/lib/libvirt/images (bind-mounted), so the same path names a
# DIFFERENT directory for the caller: like a remote host whose pool has the
# same path as ours, paths in that pool are NOT valid for the caller (get disks
# in with `virsh vol-upload`, out with `vol-download`). Paths outside the bind
# mounts (DIR itself, /var/tmp) are the same from both sides: a test that
# wants a pool both sides share defines one itself at such a path (e.g.
# `virsh pool-create-as shared dir --target DIR/images`).
#
# DIR holds .testhost (the marker: a non-empty DIR without it is refused),
# holder.pid (a sleep that keeps the namespaces), libvirtd.pid, virtlogd.pid,
# netns (the namespace's id) and unshare.log; the daemon log is
# DIR/var/log/libvirt/libvirtd.log, guest consoles DIR/var/log/libvirt/qemu/.
# TESTHOST_GROUP=GROUP (at the first start): members of GROUP may use the
# daemon's read-write socket with no further authentication, as
# `unix_sock_group = "libvirt"` with `auth_unix_rw = "none"` sets up a host
# (tests of what a non-root user in the libvirt group can do).
# stop ends, by pid, the daemons and then every process left in the namespace
# (dnsmasq, qemu, the holder); the mounts die with the namespace.
set -euo pipefail

MARK=.testhost
die() { echo "testhost: $*" >&2; exit 1; }

usage() { echo "usage: testhost.sh start|stop|status DIR" >&2; exit 2; }

# ---- inside the namespaces (run by unshare, never by hand) -------------------
if [ "${1:-}" = __inner ]; then
  DIR=$2 HOSTNS=$3
  # The one guard that matters: never start a daemon (and so a bridge) in the
  # host's network namespace.
  [ "$(readlink /proc/self/ns/net)" != "$HOSTNS" ] || { echo "inner: still in the host's network namespace" >&2; exit 1; }
  mount -t tmpfs -o mode=0755,size=64m testhost-run /run
  mkdir -p /run/libvirt /run/lock
  mount --bind "$DIR/run/libvirt" /run/libvirt
  for d in /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /etc/libvirt; do
    mkdir -p "$d"
    mount --bind "$DIR$d" "$d"
  done
  ip link set lo up
  readlink /proc/self/ns/net >"$DIR/netns"
  echo $$ >"$DIR/holder.pid"
  virtlogd -d -p "$DIR/virtlogd.pid"
  libvirtd -d -p "$DIR/libvirtd.pid"
  exec sleep infinity
fi

[ $# = 2 ] || usage
cmd=$1
case $2 in /*) DIR=$2 ;; *) DIR=$PWD/$2 ;; esac
DIR=${DIR%/}
URI="qemu+unix:///system?socket=$DIR/run/libvirt/libvirt-sock"
V=(virsh -q -c "$URI")
HOSTNS=$(readlink /proc/self/ns/net)

# pid_ok FILE: the pid in FILE if that process lives in our namespace.
netns_id() { cat "$DIR/netns" 2>/dev/null || true; }
pid_ok() {
  local pid id
  pid=$(cat "$DIR/$1" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  id=$(netns_id)
  [ -n "$id" ] && [ "$id" != "$HOSTNS" ] || return 1
  [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$id" ] || return 1
  echo "$pid"
}
# Every process in the namespace (by its network namespace id).
ns_pids() {
  local id p
  id=$(netns_id)
  [ -n "$id" ] && [ "$id" != "$HOSTNS" ] || return 0
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$id" ] && echo "${p#/proc/}"
  done
  return 0
}
running() { pid_ok holder.pid >/dev/null && pid_ok libvirtd.pid >/dev/null; }

# kill_wait SECONDS PID...: SIGTERM, then SIGKILL what is left after SECONDS.
kill_wait() {
  local t=$1 p left i
  shift
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  for ((i = 0; i < t * 10; i++)); do
    left=()
    for p in "$@"; do [ -e "/proc/$p" ] && left+=("$p"); done
    [ ${#left[@]} -gt 0 ] || return 0
    sleep 0.1
  done
  kill -KILL "${left[@]}" 2>/dev/null || true
  sleep 0.2
}

check_dir() {
  case $DIR/ in
    /run/*|/var/run/*|/var/lib/libvirt/*|/var/log/libvirt/*|/var/cache/libvirt/*|/etc/libvirt/*|/)
      die "$DIR: not usable (under a directory the namespace hides or replaces)" ;;
  esac
  if [ -d "$DIR" ] && [ ! -e "$DIR/$MARK" ] && [ -n "$(ls -A "$DIR")" ]; then
    die "$DIR is not empty and not a test host's directory (no $MARK): refused"
  fi
}

do_stop() {
  local pid pids i
  [ -e "$DIR/$MARK" ] || return 0
  if running; then
    # Through the daemon first: it tears down its bridges, dnsmasq and qemu.
    for i in $("${V[@]}" list --name 2>/dev/null || true); do
      "${V[@]}" destroy "$i" >/dev/null 2>&1 || true
    done
    for i in $("${V[@]}" net-list --name 2>/dev/null || true); do
      "${V[@]}" net-destroy "$i" >/dev/null 2>&1 || true
    done
  fi
  pids=()
  for i in libvirtd.pid virtlogd.pid; do
    pid=$(pid_ok "$i") && pids+=("$pid")
  done
  kill_wait 10 "${pids[@]}"
  # Whatever is left in the namespace: dnsmasq, qemu, the holder.
  mapfile -t pids < <(ns_pids)
  kill_wait 5 "${pids[@]}"
  mapfile -t pids < <(ns_pids)
  [ ${#pids[@]} = 0 ] || die "$DIR: processes left in the namespace: ${pids[*]}"
  # The mounts lived in the namespace's own mount table and went with it;
  # anything mounted under DIR from outside is not ours to leave either.
  awk -v d="$DIR/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done
  rm -f "$DIR"/{holder,libvirtd,virtlogd}.pid "$DIR/netns" "$DIR/run/libvirt/libvirt-sock"
}

# Same owner and mode as the host's directory of that name (the daemon's
# users must reach their directories), content not copied.
mkdir_like() {
  mkdir -p "$DIR$1"
  if [ -e "$1" ]; then
    chown --reference="$1" "$DIR$1"
    chmod --reference="$1" "$DIR$1"
  fi
}

# (a restarted daemon may be autostarting them right now: asked again after a
# failed start; output captured first: with pipefail, grep -q closing the pipe
# early would fail it)
net_active() { local o; o=$("${V[@]}" net-info default 2>/dev/null) && grep -Eq '^Active: +yes' <<<"$o"; }
pool_active() { local o; o=$("${V[@]}" pool-info default 2>/dev/null) && grep -Eq '^State: +running' <<<"$o"; }

do_start() {
  local d f i upid log
  check_dir
  [ "$(id -u)" = 0 ] || die "needs root"
  if [ -e "$DIR/$MARK" ] && running; then echo "$URI"; return 0; fi
  [ ${#URI} -lt 150 ] && [ $(( ${#DIR} + 28 )) -lt 108 ] || die "$DIR: path too long for a unix socket"
  mkdir -p "$DIR"
  echo "vmstamp testhost" >"$DIR/$MARK"
  do_stop   # a stale run's leftovers
  chmod 755 "$DIR"
  mkdir -p "$DIR/run/libvirt" "$DIR/etc/libvirt"
  chmod 755 "$DIR/run"
  # (/var/lib/libvirt/images among them: the default pool, a directory of
  # its own under DIR, empty, not the host's)
  for d in /var/lib/libvirt /var/lib/libvirt/* /var/lib/libvirt/images /var/log/libvirt \
           /var/log/libvirt/qemu /var/cache/libvirt /var/cache/libvirt/qemu; do
    [ -d "$d" ] || [ ! -e "$d" ] || continue
    mkdir_like "$d"
  done
  chmod 755 "$DIR/var" "$DIR/var/lib" "$DIR/var/log" "$DIR/var/cache"
  # The host's qemu capabilities (saves a probe; revalidated by libvirtd).
  if [ -d /var/cache/libvirt/qemu/capabilities ] && [ ! -d "$DIR/var/cache/libvirt/qemu/capabilities" ]; then
    cp -a /var/cache/libvirt/qemu/capabilities "$DIR/var/cache/libvirt/qemu/" 2>/dev/null || true
  fi
  # The host's daemon settings, none of its objects (domains, networks,
  # pools, secrets, hooks).
  if [ ! -e "$DIR/etc/libvirt/libvirtd.conf" ]; then
    for f in /etc/libvirt/*.conf; do cp -p "$f" "$DIR/etc/libvirt/"; done
    [ -d /etc/libvirt/nwfilter ] && cp -a /etc/libvirt/nwfilter "$DIR/etc/libvirt/"
    if [ -n "${TESTHOST_GROUP:-}" ]; then
      printf 'unix_sock_group = "%s"\nunix_sock_rw_perms = "0770"\nauth_unix_rw = "none"\n' \
        "$TESTHOST_GROUP" >>"$DIR/etc/libvirt/libvirtd.conf"
    fi
  fi
  mkdir -p "$DIR/etc/libvirt/qemu/networks/autostart" "$DIR/etc/libvirt/storage/autostart"

  log=$DIR/var/log/libvirt/libvirtd.log
  setsid unshare --mount --net --propagation private --fork -- \
    bash "$0" __inner "$DIR" "$HOSTNS" </dev/null >>"$DIR/unshare.log" 2>&1 &
  upid=$!
  for ((i = 0; i < 300; i++)); do
    if [ -S "$DIR/run/libvirt/libvirt-sock" ] && running &&
       "${V[@]}" version >/dev/null 2>&1; then
      break
    fi
    if ! kill -0 "$upid" 2>/dev/null; then i=300; break; fi
    sleep 0.1
  done
  if [ "$i" -ge 300 ]; then
    do_stop >/dev/null 2>&1 || true
    die "$DIR: libvirtd did not answer within 30 s (see $log and $DIR/unshare.log: $(tail -n 1 "$DIR/unshare.log" 2>/dev/null))"
  fi
  # Again, before any bridge: the daemon is not in the host's network namespace.
  upid=$(pid_ok libvirtd.pid) || die "$DIR: libvirtd pid unknown"
  [ "$(readlink "/proc/$upid/ns/net")" != "$HOSTNS" ] || { do_stop; die "$DIR: libvirtd runs in the host's network namespace: stopped"; }

  if ! "${V[@]}" net-info default >/dev/null 2>&1; then
    "${V[@]}" net-define /dev/stdin >/dev/null <<'EOF'
<network>
  <name>default</name>
  <forward mode='nat'/>
  <bridge name='thbr0' stp='on' delay='0'/>
  <ip address='192.168.150.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.150.100' end='192.168.150.200'/>
    </dhcp>
  </ip>
</network>
EOF
  fi
  if ! net_active; then
    "${V[@]}" net-start default >/dev/null 2>&1 || net_active || { do_stop >/dev/null 2>&1 || true; die "$DIR: network default did not start (see $log)"; }
  fi
  "${V[@]}" net-autostart default >/dev/null
  # (a DIR from before the pool moved has it at DIR/images: defined again)
  if "${V[@]}" pool-info default >/dev/null 2>&1 &&
     [ "$("${V[@]}" pool-dumpxml default | sed -n 's:.*<path>\(.*\)</path>.*:\1:p' | head -n 1)" != /var/lib/libvirt/images ]; then
    "${V[@]}" pool-destroy default >/dev/null 2>&1 || true
    "${V[@]}" pool-undefine default >/dev/null
  fi
  if ! "${V[@]}" pool-info default >/dev/null 2>&1; then
    "${V[@]}" pool-define-as default dir --target /var/lib/libvirt/images >/dev/null
  fi
  if ! pool_active; then
    "${V[@]}" pool-start default >/dev/null 2>&1 || pool_active || { do_stop >/dev/null 2>&1 || true; die "$DIR: pool default did not start (see $log)"; }
  fi
  "${V[@]}" pool-autostart default >/dev/null
  echo "$URI"
}

case $cmd in
  start) do_start ;;
  stop)
    check_dir
    [ "$(id -u)" = 0 ] || die "needs root"
    do_stop ;;
  status)
    check_dir
    if [ -e "$DIR/$MARK" ] && running && "${V[@]}" version >/dev/null 2>&1; then
      echo "running $URI (libvirtd $(pid_ok libvirtd.pid), virtlogd $(pid_ok virtlogd.pid || echo '?'))"
    else
      echo "stopped"
      exit 3
    fi ;;
  *) usage ;;
esac
