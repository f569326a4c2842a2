#!/usr/bin/env bash
# hostkeys.sh: no private host key of the template is left in a clone,
# whatever its type. The template (the debian12 fixture, a model guest)
# gets the host keys a cloud image's first boot can leave: a DSA key and an
# SSH-1 ssh_host_key besides rsa, ecdsa and ed25519. Two clones are made and
# read back: the DSA and SSH-1 keys are gone (vmstamp makes no new key of
# those types), each of the other three is new and differs between clones.
# (Issue 21 asks for the same on real guests, booted.)
. "$(dirname "$0")/lib.sh"
start_test
tpl=$(fixture debian12)
ssh-keygen -q -t dsa -N '' -f "$SCRATCH/dsa" 2>/dev/null ||
  { head -c 600 /dev/urandom | base64 >"$SCRATCH/dsa"; echo "ssh-dss AAAA fake" >"$SCRATCH/dsa.pub"; }
head -c 500 /dev/urandom | base64 >"$SCRATCH/ssh1"
# split OUT: gf's output (checksums, "--", names) into OUT (a checksum a
# line) and OUT.names (a name a line).
split() {
  tr -d '\r' | awk -v o="$1" 'n { print > (o ".names"); next } $0 == "--" { n = 1; next } { print > o }'
}
# (one appliance: the keys added, then read back as for the clones)
gf -a "$tpl" -i <<EOF | split "$SCRATCH/tpl.keys" || fail "cannot add keys to the template"
upload $SCRATCH/dsa /etc/ssh/ssh_host_dsa_key
upload $SCRATCH/dsa.pub /etc/ssh/ssh_host_dsa_key.pub
upload $SCRATCH/ssh1 /etc/ssh/ssh_host_key
chmod 0600 /etc/ssh/ssh_host_dsa_key
chmod 0600 /etc/ssh/ssh_host_key
glob checksum sha256 /etc/ssh/ssh_host_*
echo --
ls /etc/ssh
EOF
# keys DISK OUT: the checksums of DISK's /etc/ssh/ssh_host_* files in OUT,
# the names in /etc/ssh in OUT.names.
keys() {
  gf --ro -a "$1" -i <<'EOF' | split "$2" || fail "cannot read keys from $1"
glob checksum sha256 /etc/ssh/ssh_host_*
echo --
ls /etc/ssh
EOF
}
grep -qx ssh_host_dsa_key "$SCRATCH/tpl.keys.names" || fail "the template has no DSA key (setup)"
[ "$(wc -l <"$SCRATCH/tpl.keys")" -ge 8 ] || fail "read only $(wc -l <"$SCRATCH/tpl.keys") key checksums from the template (setup)"
C1=${PREFIX}k1 C2=${PREFIX}k2
"$VMSTAMP" -q clone "$tpl" "$C1" "$C2" >/dev/null || fail "clone failed"
for c in "$C1" "$C2"; do
  keys "$POOL_DIR/$c.qcow2" "$SCRATCH/$c.keys"
  for k in ssh_host_dsa_key ssh_host_dsa_key.pub ssh_host_key; do
    grep -qx "$k" "$SCRATCH/$c.keys.names" && fail "$c still has the template's $k"
  done
  for t in rsa ecdsa ed25519; do
    grep -qx "ssh_host_${t}_key" "$SCRATCH/$c.keys.names" || fail "$c has no ssh_host_${t}_key"
  done
  # No file of the clone's has the checksum of a template key file.
  grep -Fxf "$SCRATCH/tpl.keys" "$SCRATCH/$c.keys" && fail "$c holds a key file of the template, byte for byte"
  echo "ok: $c: $(tr '\n' ' ' <"$SCRATCH/$c.keys.names")"
done
grep -Fxf "$SCRATCH/$C1.keys" "$SCRATCH/$C2.keys" && fail "$C1 and $C2 share a key file"
"$VMSTAMP" -q rm "$C1" "$C2"
assert_nothing_left "hostkeys"
echo "PASS"
