#!/usr/bin/env bash
# hostile-files.sh: vmstamp runs as root and must not be steered by what
# others can write (issue 20). Files it reads whole that are not files or
# never end (/dev/zero, a FIFO) or are too big; store images replaced by a
# FIFO, a device, a link, a 1 TiB sparse file or a same-size, same-mtime
# image; names that climb out of the store's index; a --known-hosts link;
# an export over an existing file; the ACL --fix-permissions gives a
# directory an admin locked with chmod 700; the run's work directory. Each
# refusal is one line, a non-zero exit within seconds, and leaves nothing.
. "$(dirname "$0")/lib.sh"
start_test
"$VMSTAMP" -q gc

src=$(fixture debian12)
STORE=/var/lib/vmstamp/templates
INDEX=/var/lib/vmstamp/index/vmstamp-templates
T="${PREFIX}h"
N="${PREFIX}c"
NET=(--network user)
checks=0

# expect_error LABEL PATTERN vmstamp-args...: one line, non-zero, within 60 s
# (a read of /dev/zero or a FIFO never ends), nothing left.
expect_error() {
  local label=$1 pattern=$2 rc=0
  shift 2
  timeout -k 5 60 "$VMSTAMP" -q "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" </dev/null || rc=$?
  [ "$rc" != 124 ] || fail "$label: still running after 60 s"
  [ "$rc" != 0 ] || fail "$label: exit 0"
  [ "$(wc -l <"$SCRATCH/err")" = 1 ] || { cat "$SCRATCH/err" >&2; fail "$label: error is not one line"; }
  grep -Eq -- "$pattern" "$SCRATCH/err" || fail "$label: error '$(cat "$SCRATCH/err")' does not match /$pattern/"
  assert_nothing_left "$label"
  echo "ok: $label: $(cat "$SCRATCH/err")"
  checks=$((checks + 1))
}

# ---- files read whole ----------------------------------------------------
expect_error "ssh key /dev/zero" "^vmstamp: error: ssh key '/dev/zero' is not a regular file: give a public key file$" \
  clone "${NET[@]}" --ssh-key /dev/zero "$src" "$N"
mkfifo "$SCRATCH/fifo"
expect_error "ssh key FIFO" "ssh key '$SCRATCH/fifo' is not a regular file" clone "${NET[@]}" --ssh-key "$SCRATCH/fifo" "$src" "$N"
{ printf 'ssh-ed25519 '; head -c 20000 /dev/zero | tr '\0' A; echo; } >"$SCRATCH/big.pub"
expect_error "ssh key over 16 KiB" "ssh key '$SCRATCH/big.pub' is larger than 16 KiB: give a public key file" \
  clone "${NET[@]}" --ssh-key "$SCRATCH/big.pub" "$src" "$N"
mkfifo -m 600 "$SCRATCH/pwfifo"
expect_error "password file FIFO" "root password file '$SCRATCH/pwfifo' is not a regular file" \
  clone "${NET[@]}" --root-password-file "$SCRATCH/pwfifo" "$src" "$N"
head -c 5000 /dev/zero | tr '\0' p >"$SCRATCH/pw" && chmod 600 "$SCRATCH/pw"
expect_error "password file over 4 KiB" "root password file '$SCRATCH/pw' is larger than 4 KiB" \
  clone "${NET[@]}" --root-password-file "$SCRATCH/pw" "$src" "$N"
ln -s /etc/shadow "$SCRATCH/pwlink"
expect_error "password file link" "root password file '$SCRATCH/pwlink' is a symbolic link" \
  clone "${NET[@]}" --root-password-file "$SCRATCH/pwlink" "$src" "$N"
expect_error "fleet plan /dev/zero" "fleet plan '/dev/zero' is not a regular file" fleet apply --dry-run /dev/zero
truncate -s 2M "$SCRATCH/plan.yaml"
expect_error "fleet plan over 1 MiB" "fleet plan '$SCRATCH/plan.yaml' is larger than 1 MiB" fleet apply --dry-run "$SCRATCH/plan.yaml"

# ---- the store -------------------------------------------------------------
# A store template made by hand (a blank image: every case here is refused
# before a clone would be made of it), in the default store, defined as
# template create would if it is not there yet.
mkdir -p "$STORE" "$INDEX"
if ! $V pool-info vmstamp-templates >/dev/null 2>&1; then
  $V pool-define-as vmstamp-templates dir --target "$STORE" >/dev/null
  $V pool-autostart vmstamp-templates >/dev/null
fi
[ "$($V pool-info vmstamp-templates | awk '$1 == "State:" {print $2}')" = running ] ||
  $V pool-start vmstamp-templates >/dev/null
qemu-img create -q -f qcow2 "$STORE/$T.qcow2" 64M
chmod 444 "$STORE/$T.qcow2"
size=$(stat -c %s "$STORE/$T.qcow2")
sum=$(sha256sum "$STORE/$T.qcow2" | cut -d' ' -f1)
meta() { # NAME SIZE SHA
  printf '{"version":1,"name":"%s","format":"qcow2","virtual_size":67108864,"stored_size":%s,"created":"2026-01-01T00:00:00Z","sha256":"%s"}\n' "$1" "$2" "$3"
}
meta "$T" "$size" "$sum" >"$INDEX/$T.json"
"$VMSTAMP" -q template verify "$T" >/dev/null || fail "the hand-made template does not verify"
openssl genpkey -algorithm ed25519 -out "$SCRATCH/sign.pem" 2>/dev/null

mv "$STORE/$T.qcow2" "$SCRATCH/real.qcow2"
mkfifo "$STORE/$T.qcow2"
expect_error "store image FIFO: verify" "template '$T': image $STORE/$T.qcow2 is not a regular file" template verify "$T"
expect_error "store image FIFO: export" "template '$T': image $STORE/$T.qcow2 is not a regular file" \
  template export "$T" "$SCRATCH/b.tar.zst" --sign-key "$SCRATCH/sign.pem"
expect_error "store image FIFO: clone" "template '$T': image $STORE/$T.qcow2 is not a regular file" clone "${NET[@]}" "$T" "$N"
rm -f "$STORE/$T.qcow2"
mknod "$STORE/$T.qcow2" c 1 5 # /dev/zero's
expect_error "store image a device" "is not a regular file" template verify "$T"
rm -f "$STORE/$T.qcow2"
truncate -s 1T "$STORE/$T.qcow2"
expect_error "store image 1 TiB sparse" "image $STORE/$T.qcow2 is 1099511627776 bytes, its metadata says $size" template verify "$T"
rm -f "$STORE/$T.qcow2"
ln -s "$SCRATCH/real.qcow2" "$STORE/$T.qcow2"
expect_error "store image a link" "image $STORE/$T.qcow2 is a symbolic link" template verify "$T"
rm -f "$STORE/$T.qcow2"
mv "$SCRATCH/real.qcow2" "$STORE/$T.qcow2"

# The verification cache: export (which trusts it) after a verify, then the
# image swapped for another of the same size and mtime.
"$VMSTAMP" -q template verify "$T" >/dev/null || fail "verify after the cases failed"
qemu-img create -q -f qcow2 "$SCRATCH/other.qcow2" 32M
truncate -s "$size" "$SCRATCH/other.qcow2"
touch -r "$STORE/$T.qcow2" "$SCRATCH/other.qcow2"
cp -p "$STORE/$T.qcow2" "$SCRATCH/real.qcow2"
mv -f "$SCRATCH/other.qcow2" "$STORE/$T.qcow2"
expect_error "same size and mtime, another file" "template '$T' fails verification: SHA-256" \
  template export "$T" "$SCRATCH/b.tar.zst" --sign-key "$SCRATCH/sign.pem"
[ ! -e "$SCRATCH/b.tar.zst" ] || fail "exported a swapped image"
# A backing file that reads a host file: refused whatever the metadata says.
qemu-img create -q -f qcow2 -b /etc/shadow -F raw "$SCRATCH/bk.qcow2" 64M
mv -f "$SCRATCH/bk.qcow2" "$STORE/$T.qcow2"
meta "$T" "$(stat -c %s "$STORE/$T.qcow2")" "$(sha256sum "$STORE/$T.qcow2" | cut -d' ' -f1)" >"$INDEX/$T.json"
expect_error "store image with a backing file" "image $STORE/$T.qcow2 has a backing file" clone "${NET[@]}" "$T" "$N"
mv -f "$SCRATCH/real.qcow2" "$STORE/$T.qcow2"
meta "$T" "$size" "$sum" >"$INDEX/$T.json"

# Names: out of the index, and an entry naming another template.
mkdir -p "$SCRATCH/x"
meta "../../../../$SCRATCH/x/y" 1 0 >"$SCRATCH/x/y.json"
expect_error "name out of the index: info" "invalid template name '../../../..$SCRATCH/x/y'" template info "../../../..$SCRATCH/x/y"
expect_error "name out of the index: rm" "invalid template name" template rm "../../../..$SCRATCH/x/y"
expect_error "leading dot" "invalid template name '.$T'" template info ".$T"
cp "$STORE/$T.qcow2" "$STORE/${T}2.qcow2"
meta "$T" "$size" "$sum" >"$INDEX/${T}2.json"
expect_error "entry naming another template" "template '${T}2': metadata $INDEX/${T}2.json names another template \('$T'\)" \
  template rm "${T}2"
[ -e "$STORE/$T.qcow2" ] || fail "rm of an entry naming another template removed that one"
rm -f "$STORE/${T}2.qcow2" "$INDEX/${T}2.json"

# export: an existing file is replaced only with --force.
echo keep >"$SCRATCH/b.tar.zst"
expect_error "export over a file" "'$SCRATCH/b.tar.zst' already exists: give --force" \
  template export "$T" "$SCRATCH/b.tar.zst" --sign-key "$SCRATCH/sign.pem"
[ "$(cat "$SCRATCH/b.tar.zst")" = keep ] || fail "export over a file: the file changed"
"$VMSTAMP" -q template export --force "$T" "$SCRATCH/b.tar.zst" --sign-key "$SCRATCH/sign.pem" >/dev/null ||
  fail "export --force failed"
! grep -qx keep "$SCRATCH/b.tar.zst" || fail "export --force: the file is the old one"
echo "ok: export --force replaces the file"
checks=$((checks + 1))

# Keys and bundles: /dev/zero as a key, a FIFO as a bundle.
expect_error "signing key /dev/zero" "signing key '/dev/zero' is not a regular file" \
  template export --force "$T" "$SCRATCH/b.tar.zst" --sign-key /dev/zero
openssl pkey -in "$SCRATCH/sign.pem" -pubout -out "$SCRATCH/sign.pub"
expect_error "trust key /dev/zero" "trust key '/dev/zero' is not a regular file" \
  template import "$SCRATCH/b.tar.zst" --trust-key /dev/zero
expect_error "bundle FIFO" "bundle '$SCRATCH/fifo' is not a regular file" \
  template import "$SCRATCH/fifo" --trust-key "$SCRATCH/sign.pub"

# --known-hosts through a link: refused before anything is made.
ln -s /root/.bashrc "$SCRATCH/kh"
expect_error "known_hosts link" "known_hosts file '$SCRATCH/kh' is a symbolic link" \
  clone "${NET[@]}" --known-hosts "$SCRATCH/kh" "$src" "$N"

# ---- --fix-permissions on a locked directory --------------------------------
# u:nobody:rwx and g:users:rwx masked off by chmod 700; the template reached
# through a symbolic link to that directory.
mkdir -m 755 "$SCRATCH/locked"
setfacl -m u:nobody:rwx,g:users:rwx "$SCRATCH/locked"
chmod 700 "$SCRATCH/locked"
cp --sparse=always "$src" "$SCRATCH/locked/t.qcow2"
ln -s locked "$SCRATCH/link"
before=$(getfacl -cpE "$SCRATCH/locked")
"$VMSTAMP" clone "${NET[@]}" --fix-permissions "$SCRATCH/link/t.qcow2" "$N" >"$SCRATCH/out" 2>"$SCRATCH/err" ||
  { cat "$SCRATCH/err" >&2; fail "--fix-permissions: clone failed"; }
grep -qx "vmstamp: gave user libvirt-qemu search permission on $SCRATCH/locked (ACL entry u:libvirt-qemu:x, the mask widened by x alone)" \
  "$SCRATCH/err" || { cat "$SCRATCH/err" >&2; fail "--fix-permissions: no line for the real directory"; }
after=$(getfacl -cpE "$SCRATCH/locked" | grep . | sort)
want=$({ sed -e 's/^mask::---$/mask::--x/' <<<"$before"; echo "user:libvirt-qemu:--x"; } | sort)
[ "$after" = "$want" ] || fail "--fix-permissions: the ACL is $(flat "$after"), not $(flat "$want") (the mask gains x alone)"
! su nobody -s /bin/sh -c "touch $SCRATCH/locked/x" 2>/dev/null || fail "--fix-permissions: nobody can create files"
[ ! -e "$SCRATCH/locked/x" ] || fail "--fix-permissions: nobody made a file"
[ -L "$SCRATCH/link" ] || fail "--fix-permissions: the link changed"
echo "ok: --fix-permissions: $(flat "$after"); nobody still cannot write"
checks=$((checks + 1))
"$VMSTAMP" -q rm "$N" || fail "rm of the clone failed"

# ---- the run's work directory ---------------------------------------------
# template create works in a mkdtemp directory under root's own 0700
# /var/tmp/vmstamp, named after the run; nothing of it is left.
qemu-img create -q -f qcow2 "$SCRATCH/blank.qcow2" 64M
"$VMSTAMP" -v template create "${PREFIX}w" --from "$SCRATCH/blank.qcow2" >"$SCRATCH/out" 2>"$SCRATCH/err" &&
  fail "template create of a blank disk succeeded"
grep -Eq "/var/tmp/vmstamp/vmstamp-work\.[0-9]+-[0-9]+\.[A-Za-z0-9]{6}/overlay\.qcow2" "$SCRATCH/err" ||
  { cat "$SCRATCH/err" >&2; fail "work directory: not a mkdtemp directory under /var/tmp/vmstamp"; }
[ "$(stat -c '%U %a %F' /var/tmp/vmstamp)" = "root 700 directory" ] ||
  fail "work directory: /var/tmp/vmstamp is $(stat -c '%U %a %F' /var/tmp/vmstamp)"
w=$(grep -Eo "/var/tmp/vmstamp/vmstamp-work\.[0-9]+-[0-9]+\.[A-Za-z0-9]{6}" "$SCRATCH/err" | head -n 1)
[ ! -e "$w" ] || fail "work directory: $w left behind"
echo "ok: work directory $w, under root's 0700 /var/tmp/vmstamp, removed"
checks=$((checks + 1))

echo "ok: $checks checks"
