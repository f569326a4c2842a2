#!/usr/bin/env bash
# fleet-adapters.sh: the libvirt building blocks of `vmstamp fleet`
# (adapters/virtnet.c, adapters/volume.c and their journal steps) against a
# second libvirt host (scripts/testhost.sh: its own network and mount
# namespace, its NAT network `default` only in there), through the test-only
# driver tests/e2e/fleet-adapters-driver.c.
#
# - network: reserve an address (DHCP host + DNS host) on the test host's
#   active `default` network, live and persistent, in dnsmasq's files too;
#   again (nothing new); a clash refused in one line; a second name for the
#   address joins its DNS host and stays when ours goes; unreserve (gone),
#   again (0); a lease handed out by the namespace's dnsmasq is listed;
# - volumes: a 10 GiB qcow2 with 8 MiB of data and a 2 GiB sparse raw image
#   uploaded to the test host's `default` pool; the SHA-256 read back equals
#   sha256sum of the local file; the bytes sent are the data's, not the
#   virtual or file size (measured twice: the data bytes the driver's source
#   callback handed to the stream, and the bytes the driver process wrote,
#   libvirt socket included, from /proc/self/io wchar); the volume's file is
#   sparse on the other side; a second upload of a name is refused; delete
#   (1, then 0);
# - shared storage: a pool at DIR/shared (the same directory from both
#   sides) is shared with local DIR/shared; pools are not shared with a
#   local directory that is another one;
# - the journal: a driver run that uploaded a volume and reserved an
#   address, killed with -9, is undone by `vmstamp gc` (one line per thing
#   removed); while the test host is down gc fails naming its URI and keeps
#   the journal, and once it is back the next gc undoes it; a run that ends
#   without committing rolls both back.
. "$(dirname "$0")/lib.sh"
start_test
DRIVER=${FLEET_DRIVER:-$(dirname "$VMSTAMP")/tests/fleet-adapters-driver}
[ -x "$DRIVER" ] || fail "no test driver at '$DRIVER' (set FLEET_DRIVER)"
TH=$SRC/scripts/testhost.sh
DIR=$SCRATCH/host
t0=$SECONDS

th_cleanup() {
  [ -e "$DIR/.testhost" ] && "$TH" stop "$DIR" >&2 || true
}
trap 'th_cleanup; cleanup' EXIT

note "start a test host in $DIR"
URI2=$("$TH" start "$DIR")
V2="virsh -q -c $URI2"
$V2 net-list | awk '$1 == "default" && $2 == "active" {ok = 1} END {exit !ok}' \
  || fail "default network not active on the test host: $($V2 net-list --all)"

# drv ARGS...: the driver, its stdout in $SCRATCH/out, stderr in $SCRATCH/err.
drv() {
  "$DRIVER" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" || { cat "$SCRATCH/err" >&2; fail "driver $1 failed"; }
}
# drv_err PATTERN ARGS...: the driver fails with one line matching PATTERN.
drv_err() {
  local pattern=$1 rc=0
  shift
  "$DRIVER" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
  [ "$rc" != 0 ] || fail "driver $1 succeeded, want an error /$pattern/"
  [ "$(wc -l <"$SCRATCH/err")" = 1 ] || { cat "$SCRATCH/err" >&2; fail "driver $1: error is not one line"; }
  grep -Eq -- "$pattern" "$SCRATCH/err" || fail "driver $1: error '$(cat "$SCRATCH/err")' does not match /$pattern/"
}
out() { cat "$SCRATCH/out"; }
# cmd | has [-F] PATTERN: grep -q that reads all of its input first (with
# pipefail, a grep -q that stops early can fail the pipeline by SIGPIPE).
has() {
  local text
  text=$(cat)
  if [ "$1" = -F ]; then grep -Fq -- "$2" <<<"$text"; else grep -Eq -- "$1" <<<"$text"; fi
}

# live / config dumps of the test host's default network
dump_live() { $V2 net-dumpxml default; }
dump_config() { $V2 net-dumpxml --inactive default; }
HOSTSFILE=$DIR/var/lib/libvirt/dnsmasq/default.hostsfile
ADDNHOSTS=$DIR/var/lib/libvirt/dnsmasq/default.addnhosts

# ---- network reservations ----------------------------------------------------------
MAC=52:54:c0:a8:96:0a IP=192.168.150.10 NAME=${PREFIX}web-1 HOST=${PREFIX}web-1.lab.example
dhcp_line="<host mac='$MAC' name='$NAME' ip='$IP'/>"

note "reserve $IP for $MAC ($NAME, DNS $HOST) on the test host's network default"
drv reserve "$URI2" default $MAC $IP "$NAME" "$HOST"
[ "$(out)" = reserved ] || fail "reserve printed '$(out)'"
for d in live config; do
  x=$(dump_$d)
  grep -Fq -- "$dhcp_line" <<<"$x" || fail "$d XML has no $dhcp_line: $x"
  grep -A2 -F -- "<host ip='$IP'>" <<<"$x" | has -F "<hostname>$HOST</hostname>" || fail "$d XML has no DNS host $IP -> $HOST: $x"
done
grep -Fxq -- "$MAC,$IP,$NAME" "$HOSTSFILE" || fail "not in dnsmasq's hosts file: $(cat "$HOSTSFILE" 2>&1)"
grep -Eq -- "^$IP[[:space:]]+$HOST\b" "$ADDNHOSTS" || fail "not in dnsmasq's addnhosts: $(cat "$ADDNHOSTS" 2>&1)"

note "reserve again: nothing new"
drv reserve "$URI2" default $MAC $IP "$NAME" "$HOST"
[ "$(out)" = "reserved already" ] || fail "second reserve printed '$(out)'"
[ "$(dump_live | grep -c "<host mac=")" = 1 ] || fail "two DHCP hosts after a second reserve: $(dump_live)"
[ "$(dump_config | grep -c "<hostname>")" = 1 ] || fail "two DNS names after a second reserve: $(dump_config)"

note "a clash is refused, in one line naming what is in the way"
drv_err "network 'default' on .* already has DHCP host <host mac=\"$MAC\" name=\"$NAME\" ip=\"$IP\"/>, in the way of" \
  reserve "$URI2" default 52:54:c0:a8:96:0b $IP "${PREFIX}web-2" -
drv_err "host name '$HOST' already resolves to $IP" \
  reserve "$URI2" default 52:54:c0:a8:96:0c 192.168.150.12 "${PREFIX}web-3" "$HOST"
dump_live | has "web-2|web-3|:0b'|:0c'" && fail "a refused reservation got in: $(dump_live)"

note "a second name for $IP joins its DNS host; ours goes, it stays"
drv reserve "$URI2" default $MAC $IP "$NAME" "${PREFIX}alias.lab.example"
[ "$(out)" = reserved ] || fail "reserve of a second name printed '$(out)'"
[ "$(dump_config | grep -c "<host ip='$IP'>")" = 1 ] || fail "two DNS hosts for $IP: $(dump_config)"
drv unreserve "$URI2" default $MAC $IP "$NAME" "$HOST"
[ "$(out)" = "removed 1" ] || fail "unreserve printed '$(out)'"
for d in live config; do
  x=$(dump_$d)
  grep -q -- "<host mac=" <<<"$x" && fail "$d: DHCP host left after unreserve: $x"
  grep -Fq -- "<hostname>$HOST</hostname>" <<<"$x" && fail "$d: $HOST left after unreserve: $x"
  grep -Fq -- "<hostname>${PREFIX}alias.lab.example</hostname>" <<<"$x" || fail "$d: the other name went too: $x"
done
drv unreserve "$URI2" default $MAC $IP "$NAME" "${PREFIX}alias.lab.example"
[ "$(out)" = "removed 1" ] || fail "unreserve of the second name printed '$(out)'"
dump_config | has "<host" && fail "entries left: $(dump_config)"
grep -q . "$HOSTSFILE" 2>/dev/null && fail "dnsmasq's hosts file not empty: $(cat "$HOSTSFILE")"

note "unreserve again: nothing there"
drv unreserve "$URI2" default $MAC $IP "$NAME" "$HOST"
[ "$(out)" = "removed 0" ] || fail "second unreserve printed '$(out)'"

note "leases: the namespace's dnsmasq hands a reserved address to a udhcpc on a veth"
vmac=52:54:c0:a8:96:0b
drv reserve "$URI2" default $vmac 192.168.150.11 "${PREFIX}probe" -
if command -v busybox >/dev/null; then
  # shellcheck disable=SC2016 # expanded inside the namespace
  nsenter -t "$(cat "$DIR/holder.pid")" -n sh -c '
    ip link add fap0 type veth peer name fap1 &&
    ip link set fap1 master thbr0 && ip link set fap1 up &&
    ip link set fap0 address "$1" && ip link set fap0 up &&
    busybox udhcpc -i fap0 -n -q -f -t 10 -T 1 -x hostname:"$2" -s /bin/true 2>&1 | grep -i "lease of"; rc=$?
    ip link del fap0; exit $rc' sh "$vmac" "${PREFIX}probe" >"$SCRATCH/udhcpc" 2>&1 || true
  grep -q "lease of 192.168.150.11 obtained" "$SCRATCH/udhcpc" || fail "no lease for the probe: $(cat "$SCRATCH/udhcpc")"
  drv leases "$URI2" default
  grep -Eq "^$vmac 192\.168\.150\.11 ${PREFIX}probe [0-9]+$" "$SCRATCH/out" || fail "leases: '$(out)'"
  echo "leases: $(out)"
else
  drv leases "$URI2" default
  echo "leases (no busybox here: no client, not checked): '$(out)'"
fi
drv unreserve "$URI2" default $vmac 192.168.150.11 "${PREFIX}probe" -
[ "$(out)" = "removed 1" ] || fail "unreserve of the probe printed '$(out)'"

# ---- volumes ------------------------------------------------------------------------
note "make a 10 GiB qcow2 with 8 MiB of data, and a 2 GiB raw with 8 MiB"
IMG=$SCRATCH/img
mkdir -p "$IMG"
truncate -s 10G "$IMG/src.raw"
dd if=/dev/urandom of="$IMG/src.raw" bs=1M count=4 seek=100 conv=notrunc status=none
dd if=/dev/urandom of="$IMG/src.raw" bs=1M count=4 seek=7000 conv=notrunc status=none
qemu-img create -q -f qcow2 "$IMG/x.qcow2" 10G
qemu-img convert -n -O qcow2 "$IMG/src.raw" "$IMG/x.qcow2"   # -n: into the image just made
rm -f "$IMG/src.raw"
truncate -s 2G "$IMG/y.raw"
dd if=/dev/urandom of="$IMG/y.raw" bs=1M count=4 seek=10 conv=notrunc status=none
dd if=/dev/urandom of="$IMG/y.raw" bs=1M count=4 seek=1900 conv=notrunc status=none
data=$((8 * 1024 * 1024))

# upload_check NAME FILE FORMAT MODE: upload, check bytes sent, hash, mode, sparseness.
upload_check() {
  local name=$1 file=$2 format=$3 mode=$4 cap alloc size sent wchar path f sum want
  cap=$(qemu-img info --output=json -f "$format" "$file" | sed -n 's/^ *"virtual-size": \([0-9]*\),*$/\1/p')
  alloc=$(du -B1 "$file" | awk '{print $1}')
  size=$(stat -c %s "$file")
  drv upload "$URI2" default "$name" "$file" "$format" "$cap" "$mode"
  path=$(sed -n 's/^path //p' "$SCRATCH/out")
  sent=$(sed -n 's/^sent //p' "$SCRATCH/out")
  wchar=$(sed -n 's/^wchar //p' "$SCRATCH/out")
  echo "$name: $format, virtual $cap, file $size bytes, $alloc allocated; sent $sent data bytes, the driver wrote $wchar bytes"
  [ "$sent" -ge "$data" ] || fail "$name: sent $sent bytes, less than the $data bytes of data"
  # Holes are not sent: at most the allocated blocks, and a 256 KiB
  # qcow2 header range sent as zeros.
  [ "$sent" -le $((alloc + 256 * 1024)) ] || fail "$name: sent $sent bytes for $alloc allocated"
  [ "$wchar" -le $((sent + 1024 * 1024)) ] || fail "$name: the driver wrote $wchar bytes for $sent of data"
  want=$(sha256sum "$file" | awk '{print $1}')
  drv sha256 "$URI2" default "$name"
  sum=$(out)
  [ "$sum" = "$want" ] || fail "$name: volume_sha256 $sum, sha256sum of $file $want"
  # The file on the test host: its pool's path inside the namespace is
  # DIR/PATH from here when it is under a bind mount (/var/lib/libvirt).
  f=$DIR$path
  [ -e "$f" ] || f=$path
  [ -f "$f" ] || fail "$name: no file at $path (nor $DIR$path)"
  [ "$(stat -c %s "$f")" = "$size" ] || fail "$name: $f is $(stat -c %s "$f") bytes, want $size"
  [ "$(stat -c %a "$f")" = "${mode#0}" ] || fail "$name: $f has mode $(stat -c %a "$f"), want $mode"
  [ "$(du -B1 "$f" | awk '{print $1}')" -le $((alloc + 1024 * 1024)) ] || fail "$name: $f is not sparse: $(du -B1 "$f")"
  cmp -s "$file" "$f" || fail "$name: $f differs from $file"
}

note "upload the qcow2 (VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM)"
upload_check "${PREFIX}x.qcow2" "$IMG/x.qcow2" qcow2 0600
note "upload the raw image"
upload_check "${PREFIX}y.img" "$IMG/y.raw" raw 0444
drv exists "$URI2" default "${PREFIX}x.qcow2"
[[ $(out) == "1 "* ]] || fail "exists printed '$(out)'"
$V2 vol-info --pool default "${PREFIX}x.qcow2" | has '^Capacity: +10\.00 GiB' \
  || fail "the qcow2 volume's capacity: $($V2 vol-info --pool default "${PREFIX}x.qcow2")"

note "a name already there is refused"
drv_err "^vmstamp: error: volume '${PREFIX}x.qcow2' already exists in pool 'default' on qemu\+unix:" \
  upload "$URI2" default "${PREFIX}x.qcow2" "$IMG/x.qcow2" qcow2 10737418240 0600
[ "$(out)" = VOLUME_EXISTED ] || fail "volume_upload of a name already there did not return VOLUME_EXISTED: '$(out)'"

note "delete"
for v in "${PREFIX}x.qcow2" "${PREFIX}y.img"; do
  drv delete "$URI2" default "$v"
  [ "$(out)" = "deleted 1" ] || fail "delete $v printed '$(out)'"
  drv delete "$URI2" default "$v"
  [ "$(out)" = "deleted 0" ] || fail "second delete $v printed '$(out)'"
done
drv exists "$URI2" default "${PREFIX}x.qcow2"
[ "$(out)" = 0 ] || fail "exists after delete printed '$(out)'"
$V2 vol-list default | grep -F "$PREFIX" && fail "volumes left on the test host"

# ---- shared storage -----------------------------------------------------------------
note "shared storage"
mkdir -p "$DIR/shared"
$V2 pool-create-as "${PREFIX}shared" dir --target "$DIR/shared" >/dev/null
drv shared "$URI2" "${PREFIX}shared" "$DIR/shared"
[ "$(out)" = "shared 1" ] || fail "a pool at $DIR/shared vs local $DIR/shared: '$(out)'"
drv shared "$URI2" "${PREFIX}shared" /var/lib/libvirt/images
[ "$(out)" = "shared 0" ] || fail "a pool at $DIR/shared vs local /var/lib/libvirt/images: '$(out)'"
drv shared "$URI2" "${PREFIX}shared" "$DIR/no-such-dir"
[ "$(out)" = "shared 0" ] || fail "a missing local directory: '$(out)'"
ls -A "$DIR/shared" | grep . && fail "markers left in $DIR/shared"
$V2 vol-list "${PREFIX}shared" | grep . && fail "the pool still lists a marker"
dpath=$($V2 pool-dumpxml default | sed -n 's:.*<path>\(.*\)</path>.*:\1:p' | head -n 1)
drv shared "$URI2" default /var/lib/libvirt/images
if [ "$dpath" = /var/lib/libvirt/images ]; then
  # The test host's own /var/lib/libvirt/images (DIR/var/lib/libvirt/images
  # from here), not this host's.
  [ "$(out)" = "shared 0" ] || fail "the test host's default pool vs local /var/lib/libvirt/images: '$(out)'"
else
  [ "$(out)" = "shared 0" ] || fail "the test host's default pool at $dpath vs local /var/lib/libvirt/images: '$(out)'"
  drv shared "$URI2" default "$dpath"
  [ "$(out)" = "shared 1" ] || fail "the test host's default pool at $dpath (seen from both sides): '$(out)'"
fi
$V2 pool-destroy "${PREFIX}shared" >/dev/null

# ---- the journal --------------------------------------------------------------------
HOLD_ARGS=(default "${PREFIX}held.qcow2" "$IMG/x.qcow2" qcow2 10737418240 0600
           default 52:54:c0:a8:96:14 192.168.150.20 "${PREFIX}web-20" "${PREFIX}web-20.lab.example")

# hold: a driver run holding the volume and the reservation; its pid in $hpid, journal in $hjournal.
hold() {
  : >"$SCRATCH/hold.out"
  "$DRIVER" hold "$URI2" "${HOLD_ARGS[@]}" >"$SCRATCH/hold.out" 2>"$SCRATCH/hold.err" &
  hpid=$!
  wait_for 60 grep -q '^ready ' "$SCRATCH/hold.out" \
    || { cat "$SCRATCH/hold.err" >&2; fail "the held run did not get ready"; }
  hjournal=$(sed -n 's/^ready //p' "$SCRATCH/hold.out")
  [ -f "$hjournal" ] || fail "no journal $hjournal"
  $V2 vol-list default | has -F "${PREFIX}held.qcow2" || fail "held: no volume"
  dump_config | has -F "name='${PREFIX}web-20'" || fail "held: no reservation"
}
kill9() {
  kill -9 "$hpid"
  wait "$hpid" 2>/dev/null || true
}
assert_held_gone() {
  $V2 vol-list default | has -F "${PREFIX}held.qcow2" && fail "$1: the volume is still there"
  for d in live config; do
    dump_$d | has -F "${PREFIX}web-20" && fail "$1: the reservation is still in the $d XML: $(dump_$d)"
  done
  [ ! -e "$hjournal" ] || fail "$1: journal $hjournal still there"
}

note "kill -9 a run holding a volume and a reservation; vmstamp gc undoes it"
hold
kill9
"$VMSTAMP" gc >"$SCRATCH/gc.out" 2>"$SCRATCH/gc.err" || { cat "$SCRATCH/gc.err" >&2; fail "gc failed"; }
cat "$SCRATCH/gc.err" >&2
assert_held_gone "after gc"
# (Another vmstamp run on this machine may have recovered it first.)
if grep -q "recovered run $hpid " "$SCRATCH/gc.err"; then
  [ "$(grep -c "recovered run $hpid " "$SCRATCH/gc.err")" = 2 ] || fail "gc: not one line per thing removed"
  grep -Eq "recovered run $hpid .*: removed volume default/${PREFIX}held\.qcow2 on qemu\+unix:" "$SCRATCH/gc.err" \
    || fail "gc: no line for the volume"
  grep -Eq "recovered run $hpid .*: removed reservation of 192\.168\.150\.20 for 52:54:c0:a8:96:14 ${PREFIX}web-20 \(DNS ${PREFIX}web-20\.lab\.example\) in network default on qemu\+unix:" \
    "$SCRATCH/gc.err" || fail "gc: no line for the reservation"
else
  echo "(another vmstamp run recovered $hpid before this gc)"
fi

note "the test host down during recovery: gc fails naming it and keeps the journal; back up, gc undoes it"
hold
kill9
"$TH" stop "$DIR" >&2
rc=0
"$VMSTAMP" gc >"$SCRATCH/gc.out" 2>"$SCRATCH/gc.err" || rc=$?
cat "$SCRATCH/gc.err" >&2
[ "$rc" != 0 ] || fail "gc succeeded with the test host down"
grep -Fq "cannot connect to libvirt at '$URI2'" "$SCRATCH/gc.err" || fail "gc's error does not name $URI2"
[ -e "$hjournal" ] || fail "the journal went while the test host was down"
[ "$("$TH" start "$DIR")" = "$URI2" ] || fail "the test host came back with another URI"
"$VMSTAMP" gc >"$SCRATCH/gc.out" 2>"$SCRATCH/gc.err" || { cat "$SCRATCH/gc.err" >&2; fail "gc failed with the host back"; }
cat "$SCRATCH/gc.err" >&2
assert_held_gone "after gc with the host back"

note "a run that ends without committing rolls back"
drv rollback "$URI2" "${HOLD_ARGS[@]}"
grep -q '^rolled back$' "$SCRATCH/out" || fail "rollback printed '$(out)'"
hjournal=$(sed -n 's/^ready //p' "$SCRATCH/out")
assert_held_gone "after a rollback"

note "nothing left on the test host"
dump_config | has "<host" && fail "network entries left: $(dump_config)"
$V2 vol-list default | grep -F "$PREFIX" && fail "volumes left"
echo "e2e-fleet-adapters: passed in $(( SECONDS - t0 )) s"
