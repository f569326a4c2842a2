#!/usr/bin/env bash
# hostkeys.sh: no private host key of the template is left in a clone,
# whatever its type. The template (the debian12 fixture, a model guest)
# gets the host keys a cloud image's first boot can leave: a DSA key and an
# SSH-1 ssh_host_key besides rsa, ecdsa and ed25519. Two clones are made and
# read back: the DSA and SSH-1 keys are gone (vmstamp makes no new key of
# those types), each of the other three is new and differs between clones.
# The template also gets two NetworkManager keyfiles, a port naming the
# other as its master by UUID: each clone has new connection UUIDs, its
# own, and the port follows its master's.
# (Issue 21 asks for the same on real guests, booted.)
. "$(dirname "$0")/lib.sh"
start_test
tpl=$(fixture debian12)
ssh-keygen -q -t dsa -N '' -f "$SCRATCH/dsa" 2>/dev/null ||
  { head -c 600 /dev/urandom | base64 >"$SCRATCH/dsa"; echo "ssh-dss AAAA fake" >"$SCRATCH/dsa.pub"; }
head -c 500 /dev/urandom | base64 >"$SCRATCH/ssh1"
U1=0b5d2f6e-3c1a-4e8b-9f7d-2a6c4e8b1d3f U2=11111111-2222-4333-8444-555555555555
printf '[connection]\nid=bond0\nuuid=%s\ntype=bond\ninterface-name=bond0\n' "$U1" >"$SCRATCH/bond0.nmconnection"
printf '[connection]\nid=port\nuuid=%s\ntype=ethernet\nmaster=%s\nslave-type=bond\n' "$U2" "$U1" \
  >"$SCRATCH/port.nmconnection"
# split OUT: gf's output (checksums, "--", names, "==", keyfiles) into OUT
# (a checksum a line), OUT.names (a name a line) and OUT.nm.
split() {
  tr -d '\r' | awk -v o="$1" '$0 == "--" { n = 1; next } $0 == "==" { n = 2; next }
    n == 2 { print > (o ".nm"); next } n == 1 { print > (o ".names"); next } { print > o }'
}
# (one appliance: the keys added, then read back as for the clones)
gf -a "$tpl" -i <<EOF | split "$SCRATCH/tpl.keys" || fail "cannot add keys to the template"
upload $SCRATCH/dsa /etc/ssh/ssh_host_dsa_key
upload $SCRATCH/dsa.pub /etc/ssh/ssh_host_dsa_key.pub
upload $SCRATCH/ssh1 /etc/ssh/ssh_host_key
chmod 0600 /etc/ssh/ssh_host_dsa_key
chmod 0600 /etc/ssh/ssh_host_key
mkdir-p /etc/NetworkManager/system-connections
upload $SCRATCH/bond0.nmconnection /etc/NetworkManager/system-connections/bond0.nmconnection
upload $SCRATCH/port.nmconnection /etc/NetworkManager/system-connections/port.nmconnection
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
echo ==
cat /etc/NetworkManager/system-connections/bond0.nmconnection
cat /etc/NetworkManager/system-connections/port.nmconnection
EOF
}
grep -qx ssh_host_dsa_key "$SCRATCH/tpl.keys.names" || fail "the template has no DSA key (setup)"
[ "$(wc -l <"$SCRATCH/tpl.keys")" -ge 8 ] || fail "read only $(wc -l <"$SCRATCH/tpl.keys") key checksums from the template (setup)"
C1=${PREFIX}k1 C2=${PREFIX}k2 nm=''
"$VMSTAMP" -q clone "$tpl" "$C1" "$C2" >/dev/null || fail "clone failed"
for c in "$C1" "$C2"; do
  keys "$POOL_DIR/$c.qcow2" "$SCRATCH/$c.keys"
  for k in ssh_host_dsa_key ssh_host_dsa_key.pub ssh_host_key; do
    grep -qx "$k" "$SCRATCH/$c.keys.names" && fail "$c still has the template's $k"
  done
  for t in rsa ecdsa ed25519; do
    grep -qx "ssh_host_${t}_key" "$SCRATCH/$c.keys.names" || fail "$c has no ssh_host_${t}_key"
  done
  b=$(sed -n '/^id=bond0/,/^id=port/s/^uuid=//p' "$SCRATCH/$c.keys.nm")
  p=$(sed -n '/^id=port/,$s/^uuid=//p' "$SCRATCH/$c.keys.nm")
  m=$(sed -n 's/^master=//p' "$SCRATCH/$c.keys.nm")
  [[ $b =~ ^[0-9a-f-]{36}$ && $p =~ ^[0-9a-f-]{36}$ ]] || fail "$c: keyfile UUIDs '$b' '$p'"
  [ "$b" != "$U1" ] && [ "$p" != "$U2" ] || fail "$c kept the template's NetworkManager connection UUIDs"
  [ "$m" = "$b" ] || fail "$c: the port's master=$m, not its bond's new UUID $b"
  nm+="$b $p "
  # No file of the clone's has the checksum of a template key file.
  grep -Fxf "$SCRATCH/tpl.keys" "$SCRATCH/$c.keys" && fail "$c holds a key file of the template, byte for byte"
  echo "ok: $c: $(tr '\n' ' ' <"$SCRATCH/$c.keys.names")"
done
grep -Fxf "$SCRATCH/$C1.keys" "$SCRATCH/$C2.keys" && fail "$C1 and $C2 share a key file"
[ "$(echo $nm | tr ' ' '\n' | sort -u | wc -l)" = 4 ] || fail "the clones share NetworkManager UUIDs: $nm"
"$VMSTAMP" -q rm "$C1" "$C2"
assert_nothing_left "hostkeys"
echo "PASS"
