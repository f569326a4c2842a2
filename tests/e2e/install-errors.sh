#!/usr/bin/env bash
# install-errors.sh: every mistake vmstamp install can see before it starts
# gets a one-line error and creates nothing; an install that fails (error
# on the console, kernel panic, no progress, Ctrl-C) destroys its domain,
# deletes its disk and shows the last console lines. The ISO is never
# modified.
. "$(dirname "$0")/lib.sh"
start_test

iso=$("$SRC/scripts/build-installer-iso.sh" | tail -n 1)
[ -f "$iso" ] || fail "installer ISO not built"
iso_sum=$(sha256sum <"$iso")
KS=$SRC/kickstart/testdist.ks
N=${PREFIX}i

# A domain vmstamp did not make, to collide with.
other="${PREFIX}other"
define_foreign "$other"

checks=0
nothing_left() {
  local label=$1 doms
  doms=$($V list --all --name | grep "^$PREFIX" | grep -vx "$other" || true)
  [ -z "$doms" ] || fail "$label: domain left behind: $doms"
  $V pool-refresh default >/dev/null
  [ -z "$($V vol-list default | awk '{print $1}' | grep "^$PREFIX")" ] || fail "$label: volume left behind"
  [ -z "$(ls -A "$POOL_DIR" | grep -e "^$PREFIX" -e "^\.$PREFIX")" ] || fail "$label: file left in $POOL_DIR"
  $V dominfo "$other" >/dev/null || fail "$label: removed a domain it did not make"
  [ "$(sha256sum <"$iso")" = "$iso_sum" ] || fail "$label: the ISO changed"
}

# expect_error LABEL 'PATTERN' vmstamp-args...: one line, before any work.
expect_error() {
  local label=$1
  expect_one_line_error "$@"
  [ ! -s "$SCRATCH/out" ] || fail "$label: printed on stdout: $(cat "$SCRATCH/out")"
  nothing_left "$label"
  echo "ok: $label: $(cat "$SCRATCH/err")"
  checks=$((checks + 1))
}

# expect_failed_install LABEL 'PATTERN' vmstamp-args...: the installer ran
# and failed: the error is the last line, the console tail is shown.
expect_failed_install() {
  local label=$1 pattern=$2 rc=0 t0
  shift 2
  t0=$(date +%s)
  "$VMSTAMP" -q "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
  [ "$rc" = 1 ] || { cat "$SCRATCH/err" >&2; fail "$label: exit $rc, not 1"; }
  tail -n 1 "$SCRATCH/err" | grep -Eq -- "^vmstamp: error: .*$pattern" ||
    { cat "$SCRATCH/err" >&2; fail "$label: last line '$(tail -n 1 "$SCRATCH/err")' does not match /$pattern/"; }
  grep -q "^vmstamp: last [0-9]* console lines\? of '$N' (/var/log/libvirt/qemu/$N-install.log):" "$SCRATCH/err" ||
    { cat "$SCRATCH/err" >&2; fail "$label: no console tail"; }
  [ "$(grep -c '^  | ' "$SCRATCH/err")" -le 20 ] || fail "$label: more than 20 console lines"
  [ ! -s "$SCRATCH/out" ] || fail "$label: printed on stdout: $(cat "$SCRATCH/out")"
  nothing_left "$label"
  echo "ok: $label ($(($(date +%s) - t0)) s): $(tail -n 1 "$SCRATCH/err")"
  checks=$((checks + 1))
}

I=(install --network user --size 1G --name "$N")

# ---- checked before anything is made -------------------------------------------
expect_error "ISO missing" "ISO '/nonexistent/x.iso' not found" "${I[@]}" --iso /nonexistent/x.iso --kickstart "$KS"
echo "just text" >"$SCRATCH/notes.txt"
expect_error "not an ISO" "'$SCRATCH/notes.txt' is not an ISO 9660 image" "${I[@]}" --iso "$SCRATCH/notes.txt" --kickstart "$KS"
# An ISO in a directory qemu (libvirt-qemu) cannot search, as mktemp -d
# makes it: refused before anything is made, with the fix.
mkdir -m 700 "$SCRATCH/private"
cp "$iso" "$SCRATCH/private/x.iso"
expect_error "ISO qemu cannot reach" \
  "qemu runs as user libvirt-qemu and cannot search '$SCRATCH/private', so it cannot open '$SCRATCH/private/x.iso': run 'setfacl -m u:libvirt-qemu:x $SCRATCH/private' or give --fix-permissions" \
  "${I[@]}" --iso "$SCRATCH/private/x.iso" --kickstart "$KS"
rm -rf "$SCRATCH/private"
mkdir -p "$SCRATCH/empty-tree"
echo "nothing to boot here" >"$SCRATCH/empty-tree/README"
xorriso -as mkisofs -quiet -R -J -V NOKERNEL -o "$SCRATCH/nokernel.iso" "$SCRATCH/empty-tree" 2>/dev/null
expect_error "ISO without a kernel" "no kernel and initrd found in ISO '$SCRATCH/nokernel.iso' \(tried .treeinfo \(absent\), images/pxeboot/vmlinuz" \
  "${I[@]}" --iso "$SCRATCH/nokernel.iso" --kickstart "$KS"
expect_error "kernel path not in the ISO" "ISO '.*' has no kernel 'boot/nope'" \
  "${I[@]}" --iso "$iso" --kickstart "$KS" --kernel /boot/nope --initrd images/pxeboot/initrd.img
expect_error "--iso-sha256 mismatch" "has SHA-256 [0-9a-f]{64}, not 0{64} \(--iso-sha256\)" \
  "${I[@]}" --iso "$iso" --kickstart "$KS" --iso-sha256 "$(printf '0%.0s' {1..64})"
expect_error "kickstart missing" "kickstart '/nonexistent/ks.cfg' not found" "${I[@]}" --iso "$iso" --kickstart /nonexistent/ks.cfg
printf 'text\nzerombr\nfrobnicate --now\nclearpart --all\npart / --grow\npoweroff\n' >"$SCRATCH/lint.ks"
expect_error "kickstart failing lint" "kickstart '$SCRATCH/lint.ks' line 3: unknown command 'frobnicate'" \
  "${I[@]}" --iso "$iso" --kickstart "$SCRATCH/lint.ks"
printf 'text\nzerombr\nclearpart --all\nnetwork --hostname=@@HOSTNAME@@.@@DOMAIN@@\npart / --grow\npoweroff\n' >"$SCRATCH/var.ks"
expect_error "unknown variable" "kickstart '$SCRATCH/var.ks' line 4: unknown variable @@DOMAIN@@: pass --var DOMAIN=VALUE" \
  "${I[@]}" --iso "$iso" --kickstart "$SCRATCH/var.ks"
expect_error "name already in use" "domain '$other' already exists" install --network user --name "$other" --iso "$iso" --kickstart "$KS"
expect_error "invalid name" "invalid host name '${PREFIX}bad_name'" install --network user --name "${PREFIX}bad_name" --iso "$iso" --kickstart "$KS"
chmod 644 "$SCRATCH/notes.txt"
expect_error "world-readable password file" "readable by others" "${I[@]}" --iso "$iso" --kickstart "$KS" --root-password-file "$SCRATCH/notes.txt"
expect_error "unknown pool" "storage pool 'nosuchpool' not found" "${I[@]}" --iso "$iso" --kickstart "$KS" --pool nosuchpool
expect_error "unknown network" "network 'nosuchnet' not found" install --name "$N" --network nosuchnet --iso "$iso" --kickstart "$KS"
expect_error "--kernel without --initrd" "--kernel and --initrd go together" "${I[@]}" --iso "$iso" --kickstart "$KS" --kernel x
expect_error "missing --name" "missing --name" install --iso "$iso" --kickstart "$KS"
expect_error "unknown --os-variant" "unknown os variant 'rocky99': 'osinfo-query os' lists the known ids" \
  "${I[@]}" --iso "$iso" --kickstart "$KS" --os-variant rocky99
expect_error "kickstart in --extra-args" "--extra-args names a kickstart \(ks= or inst.ks=\)" \
  "${I[@]}" --iso "$iso" --kickstart "$KS" --extra-args "quiet inst.ks=http://example.com/ks.cfg"

# A volume of that name already in the pool: refused, and the file is kept.
touch "$POOL_DIR/$N.qcow2"
rc=0; "$VMSTAMP" -q "${I[@]}" --iso "$iso" --kickstart "$KS" 2>"$SCRATCH/err" >/dev/null || rc=$?
[ $rc != 0 ] && grep -q "volume '$N.qcow2' already exists in pool 'default'" "$SCRATCH/err" \
  || fail "existing volume: $(cat "$SCRATCH/err")"
[ -f "$POOL_DIR/$N.qcow2" ] || fail "existing volume was deleted"
rm -f "$POOL_DIR/$N.qcow2"
echo "ok: existing volume: $(cat "$SCRATCH/err")"

# ---- the installer runs and fails --------------------------------------------------
# The test installer refuses 'part /home' (ks_lint does not): INSTALLER: error:.
sed 's|^part / .*|part / --fstype=xfs --size=500\npart /home --size=100|' "$KS" >"$SCRATCH/home.ks"
expect_failed_install "installer error" "failed: console says \"INSTALLER: error: line [0-9]+: part /home: only /, /boot and swap are supported\"" \
  "${I[@]}" --iso "$iso" --kickstart "$SCRATCH/home.ks"
# No init: the kernel panics (and would hang there for ever).
expect_failed_install "kernel panic" "failed: console says \".*Kernel panic" \
  "${I[@]}" --iso "$iso" --kickstart "$KS" --extra-args "rdinit=/nonexistent"
# An installer that hangs quietly (a %pre that sleeps): the inactivity timeout.
sed 's|^%packages|%pre\nsleep 1000\n%end\n\n%packages|' "$KS" >"$SCRATCH/hang.ks"
expect_failed_install "installer hangs" "made no progress for 20 s .*console log /var/log/libvirt/qemu/$N-install.log" \
  "${I[@]}" --iso "$iso" --kickstart "$SCRATCH/hang.ks" --inactivity-timeout 20
grep -q "INSTALLER: running %pre script 1" "$SCRATCH/err" || fail "installer hangs: console tail lacks the last line"
expect_failed_install "overall timeout" "did not finish within 15 s \(--timeout\)" \
  "${I[@]}" --iso "$iso" --kickstart "$SCRATCH/hang.ks" --timeout 15

# A pool too small for what the installer writes: qemu stops the guest on
# ENOSPC; vmstamp says so at once (no waiting for a timeout), one line
# after the warning it gave up front, and leaves the pool as it was.
tiny=$SCRATCH/tiny
mkdir -p "$tiny"
mount -t tmpfs -o size=24m,mode=755 "${PREFIX}tiny" "$tiny"
$V pool-create-as "${PREFIX}tiny" dir --target "$tiny" >/dev/null
t0=$(date +%s)
rc=0; "$VMSTAMP" -q "${I[@]}" --iso "$iso" --kickstart "$KS" --pool "${PREFIX}tiny" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
[ $rc = 1 ] || { cat "$SCRATCH/err" >&2; fail "pool out of space: exit $rc"; }
head -n 1 "$SCRATCH/err" | grep -q "^vmstamp: warning: storage pool '${PREFIX}tiny' has 24.0 MiB free, less than the 1.0 GiB disk" ||
  { cat "$SCRATCH/err" >&2; fail "pool out of space: no up-front warning"; }
[ "$(wc -l <"$SCRATCH/err")" = 2 ] || { cat "$SCRATCH/err" >&2; fail "pool out of space: not warning + one error line"; }
tail -n 1 "$SCRATCH/err" | grep -q "^vmstamp: error: install of '$N' stopped: storage pool '${PREFIX}tiny' is out of space (.* free): free some space or pass --pool\$" ||
  { cat "$SCRATCH/err" >&2; fail "pool out of space: wrong error"; }
[ "$(($(date +%s) - t0))" -lt 200 ] || fail "pool out of space: noticed only after $(($(date +%s) - t0)) s"
[ -z "$(ls -A "$tiny")" ] || fail "pool out of space: left in the pool: $(ls -A "$tiny")"
nothing_left "pool out of space"
echo "ok: pool out of space ($(($(date +%s) - t0)) s): $(tail -n 1 "$SCRATCH/err")"
checks=$((checks + 1))
$V pool-destroy "${PREFIX}tiny" >/dev/null
umount "$tiny"

# --keep-failed keeps the disk of a failed install (and only the disk).
rc=0; "$VMSTAMP" -q "${I[@]}" --iso "$iso" --kickstart "$KS" --extra-args "rdinit=/nonexistent" --keep-failed \
  >/dev/null 2>"$SCRATCH/err" || rc=$?
[ $rc = 1 ] || fail "--keep-failed: exit $rc"
grep -q "kept the disk of the failed install: $POOL_DIR/$N.qcow2" "$SCRATCH/err" || fail "--keep-failed: $(cat "$SCRATCH/err")"
[ -f "$POOL_DIR/$N.qcow2" ] || fail "--keep-failed: disk removed"
[ -z "$($V list --all --name | grep "^$N\$")" ] || fail "--keep-failed: domain left behind"
rm -f "$POOL_DIR/$N.qcow2"
echo "ok: --keep-failed"

# Ctrl-C while installing: domain destroyed, disk deleted.
"$VMSTAMP" -q "${I[@]}" --iso "$iso" --kickstart "$SCRATCH/hang.ks" >/dev/null 2>"$SCRATCH/err" &
pid=$!
for ((i = 0; i < 60; i++)); do
  [ "$($V domstate "$N" 2>/dev/null)" = running ] && break
  sleep 1
done
[ "$($V domstate "$N" 2>/dev/null)" = running ] || fail "Ctrl-C: install domain never ran"
# Meanwhile a second install of the same name: refused by the first one's
# claim on the name, in one line, taking nothing from the first.
rc=0; "$VMSTAMP" -q "${I[@]}" --iso "$iso" --kickstart "$KS" >"$SCRATCH/out2" 2>"$SCRATCH/err2" || rc=$?
[ $rc = 1 ] && [ "$(wc -l <"$SCRATCH/err2")" = 1 ] &&
  grep -q "^vmstamp: error: domain name '$N' is being made by another vmstamp run (pid $pid)" "$SCRATCH/err2" ||
  { cat "$SCRATCH/err2" >&2; fail "concurrent install: exit $rc"; }
[ "$($V domstate "$N" 2>/dev/null)" = running ] || fail "concurrent install: the first install's domain is gone"
[ -f "$POOL_DIR/$N.qcow2" ] || fail "concurrent install: the first install's disk is gone"
echo "ok: concurrent install of the same name: $(cat "$SCRATCH/err2")"
sleep 2
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ $rc = 1 ] || fail "Ctrl-C: exit $rc: $(cat "$SCRATCH/err")"
grep -q "interrupted: install of '$N' stopped, its disk removed" "$SCRATCH/err" || fail "Ctrl-C: $(cat "$SCRATCH/err")"
nothing_left "Ctrl-C"
echo "ok: Ctrl-C: $(cat "$SCRATCH/err")"

$V undefine "$other" >/dev/null
assert_nothing_left "end"
echo "PASS: install-errors ($checks cases + existing volume, --keep-failed, concurrent install, Ctrl-C)"
