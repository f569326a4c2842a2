#!/usr/bin/env bash
# secrets.sh: the root password and the clones' private SSH host keys stay
# secret (issue 11, "Secrets").
#  - While `clone --root-password-file` and `install --root-password-file`
#    run, /proc is sampled over and over: the password is in no process's
#    command line or environment (vmstamp's, ssh-keygen's, qemu-img's,
#    qemu's, libvirtd's...), every private key file vmstamp makes on the
#    host is mode 0600 in a 0700 directory while it exists, and so is the
#    install's initrd.ks (it holds the password hash).
#  - After them, neither the password nor the clones' password hashes and
#    private host keys (read back out of the clones) are in the domain XML,
#    any journal, log, cache or other file written during the run, but the
#    clones' own disks (0600); nothing written holds the password at all.
#  - Private keys are deleted from the host after use, and after kill -9 in
#    the middle of key generation the next run's recovery deletes them.
. "$(dirname "$0")/lib.sh"
start_test

tpl=$(fixture debian12)
iso=$("$SRC/scripts/build-installer-iso.sh" | tail -n 1)
[ -f "$iso" ] || fail "installer ISO not built"
pw="vmst-Secret-$$-$RANDOM$RANDOM pw"
printf '%s\n' "$pw" >"$SCRATCH/pw"
chmod 600 "$SCRATCH/pw"
# grep reads its patterns from files (0600), never from its command line:
# the samplers must not put the secret in /proc themselves.
printf '%s\n' "$pw" >"$SCRATCH/pw.pat"
chmod 600 "$SCRATCH/pw.pat"
touch "$SCRATCH/t0"
sleep 1 # mtimes: everything written from now on is newer than t0

# ---- the sampler ---------------------------------------------------------------
# Until $SCRATCH/stop exists: every process's cmdline and environ against the
# password; the mode of every private key file and key directory under
# /run/vmstamp. Counts its rounds, so a sampler that never ran fails.
sampler() {
  local rounds=0 f
  : >"$SCRATCH/hits"
  : >"$SCRATCH/modes"
  while [ ! -e "$SCRATCH/stop" ]; do
    grep -a -l -s -F -f "$SCRATCH/pw.pat" /proc/[0-9]*/cmdline /proc/[0-9]*/environ >>"$SCRATCH/hits" || true
    for f in /run/vmstamp/keys.*/ /run/vmstamp/keys.*/*/ /run/vmstamp/keys.*/*/ssh_host_*_key \
      /var/tmp/vmstamp-install.*/initrd.ks; do
      if [ -e "$f" ]; then stat -c '%a %n' "$f" 2>/dev/null || true; fi
    done >>"$SCRATCH/modes"
    rounds=$((rounds + 1))
  done
  echo "$rounds" >"$SCRATCH/rounds"
}
sampler &
sampler_pid=$!
# The sampler must see a leak: a process with the password in its
# environment, for a moment (the hits are then emptied for the real runs).
VMST_SELF_CHECK=$pw sleep 1
grep -q /environ "$SCRATCH/hits" || fail "the /proc sampler did not see a password in an environment"
: >"$SCRATCH/hits"
stop_sampler() {
  touch "$SCRATCH/stop"
  wait "$sampler_pid" || true
}

# ---- the runs ------------------------------------------------------------------
C1=${PREFIX}sa C2=${PREFIX}sb I=${PREFIX}si
note "clone $C1 $C2 --root-password-file (sampling /proc)"
"$VMSTAMP" clone --network user --root-password-file "$SCRATCH/pw" --known-hosts "$SCRATCH/known_hosts" \
  "$tpl" "$C1" "$C2" >"$SCRATCH/clone.out" 2>"$SCRATCH/clone.err" ||
  { cat "$SCRATCH/clone.err" >&2; fail "clone failed"; }
note "install $I --root-password-file (sampling /proc)"
"$VMSTAMP" install --iso "$iso" --kickstart "$SRC/kickstart/testdist.ks" --name "$I" --os-variant centos7.0 \
  --network user --size 2G --root-password-file "$SCRATCH/pw" >"$SCRATCH/install.out" 2>"$SCRATCH/install.err" ||
  { cat "$SCRATCH/install.err" >&2; fail "install failed"; }
stop_sampler
rounds=$(cat "$SCRATCH/rounds")
[ "$rounds" -ge 20 ] || fail "the /proc sampler ran only $rounds rounds"
note "/proc sampled $rounds times"
[ ! -s "$SCRATCH/hits" ] || fail "the password was in /proc: $(sort -u "$SCRATCH/hits" | tr '\n' ' ')"
grep -q 'ssh_host_.*_key$' "$SCRATCH/modes" || fail "the sampler never saw a private key file under /run/vmstamp"
grep -q 'initrd.ks$' "$SCRATCH/modes" || fail "the sampler never saw the install's initrd.ks (it holds the hash)"
bad=$(grep -v -e '^600 .*_key$' -e '^700 .*/$' -e '^600 .*/initrd.ks$' "$SCRATCH/modes" | sort -u || true)
[ -z "$bad" ] || fail "secret files or their directories above 0600/0700: $(flat "$bad")"
ls -d /run/vmstamp/keys.* 2>/dev/null && fail "private key directories left under /run/vmstamp"

# ---- what the clones hold, read back -------------------------------------------
# Each clone's password hash (from its /etc/shadow) and one line from the
# middle of each private host key: strings that must not be on the host
# outside the clone's own disk.
secrets=$SCRATCH/secrets.pat
cp "$SCRATCH/pw.pat" "$secrets"
for c in "$C1" "$C2"; do
  disk=$POOL_DIR/$c.qcow2
  [ "$(stat -c %a "$disk")" = 600 ] || fail "$c's disk is mode $(stat -c %a "$disk"), not 0600"
  gf --ro -a "$disk" -i <<'EOF' >"$SCRATCH/$c.read" || fail "cannot read $c's disk"
cat /etc/shadow
cat /etc/ssh/ssh_host_ed25519_key
cat /etc/ssh/ssh_host_rsa_key
EOF
  hash=$(awk -F: '$1 == "root" {print $2}' "$SCRATCH/$c.read")
  [[ $hash == '$6$'* ]] || fail "$c: root's password is not a SHA-512 crypt hash: '$hash'"
  echo "$hash" >>"$secrets"
  # the third line of each key body: base64 of key material, not a header
  awk '/-----BEGIN OPENSSH PRIVATE KEY-----/ {n = 1; next} n && ++n == 4 {print}' "$SCRATCH/$c.read" >>"$secrets"
done
# (an empty or short pattern would match anything: each is a long string)
awk 'length($0) < 20 { bad = 1 } END { exit bad }' "$secrets" || fail "a secret read back is empty or short"
[ "$(wc -l <"$secrets")" -ge 7 ] || fail "could not read the hashes and keys back: $(wc -l <"$secrets") patterns"

# ---- the host, after ---------------------------------------------------------------
# The domain XML of every clone.
for c in "$C1" "$C2"; do
  $V dumpxml --inactive --security-info "$c" | grep -a -q -F -f "$secrets" && fail "a secret is in $c's domain XML"
done
# Every file written since t0 where vmstamp, libvirt and qemu write, but the
# password file and the clones' and the installed system's own disks.
written=$SCRATCH/written
find /var/lib/vmstamp /var/cache/vmstamp /run/vmstamp /var/log/libvirt /etc/libvirt /run/libvirt \
  /var/lib/libvirt /tmp /var/tmp "$POOL_DIR" -xdev -type f -newer "$SCRATCH/t0" 2>/dev/null |
  grep -v -F -e "$SCRATCH/" -e "$POOL_DIR/$C1.qcow2" -e "$POOL_DIR/$C2.qcow2" -e "$POOL_DIR/$I.qcow2" \
  >"$written" || true
[ -s "$written" ] || fail "found no file written during the runs (the search is wrong)"
grep -q '^/var/log/libvirt/qemu/' "$written" || fail "the search missed the console logs"
scan() { tr '\n' '\0' <"$written" | xargs -0 -r grep -a -l -s -F -f "$secrets" || true; }
# The scan must see a leak: a decoy holding the first clone's hash.
decoy=/var/tmp/vmstamp-secrets-decoy.$$
sed -n 2p "$secrets" >"$decoy"
echo "$decoy" >>"$written"
scan | grep -qx "$decoy" || { rm -f "$decoy"; fail "the file scan did not see a hash in $decoy"; }
rm -f "$decoy"
leaks=$(scan)
[ -z "$leaks" ] || fail "a secret (password, hash or private key) is in: $(flat "$leaks")"
# The password itself is not even in the clones' or the installed disk.
for d in "$POOL_DIR/$C1.qcow2" "$POOL_DIR/$C2.qcow2" "$POOL_DIR/$I.qcow2"; do
  grep -a -q -F -f "$SCRATCH/pw.pat" "$d" && fail "the password in plain text is in $d"
done
# Files written that hold a hash (the install's kickstart, while it lived)
# are gone; whatever is left and holds any secret was caught above.
note "no secret in $(wc -l <"$written") files written during the runs"

# ---- kill -9 while keys are being made -----------------------------------------
note "kill -9 during key generation, then recovery"
"$VMSTAMP" clone --network user --count 6 --name-pattern "${PREFIX}k%d" "$tpl" >"$SCRATCH/victim.out" 2>&1 &
vpid=$!
id=""
wait_for 60 bash -c "ls /run/vmstamp/keys.*/*/ssh_host_rsa_key >/dev/null 2>&1" ||
  fail "no private key appeared under /run/vmstamp within 60 s"
id=$(run_id "$vpid") || fail "the clone ended before the kill"
kill -9 "$vpid"
wait "$vpid" 2>/dev/null || true
keys=/run/vmstamp/keys.$id
[ -d "$keys" ] || fail "the killed run's key directory $keys is not there to recover"
# The key generator dies with vmstamp (an ssh-keygen it had started ends
# by itself within a second or so).
wait_for 10 bash -c "! pgrep -f '^ssh-keygen .*$keys/' >/dev/null" || fail "ssh-keygen still runs for the killed run"
"$VMSTAMP" gc >"$SCRATCH/gc.out" 2>&1 || { cat "$SCRATCH/gc.out" >&2; fail "vmstamp gc failed"; }
[ ! -e "$keys" ] || fail "recovery left the killed run's private keys in $keys"
for c in $($V list --all --name | grep "^${PREFIX}k" || true); do fail "kill -9 left domain $c"; done

"$VMSTAMP" -q rm "$C1" "$C2" || fail "rm failed"
echo "PASS: secrets"
