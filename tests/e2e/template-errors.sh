#!/usr/bin/env bash
# template-errors.sh: bad input to `vmstamp template` gets a one-line error,
# a non-zero exit, and changes nothing: no store entry, no temporary file,
# the source and existing templates untouched. Also a signed bundle round
# trip (export, import) and the bundles import must refuse.
. "$(dirname "$0")/lib.sh"
start_test
# Leftovers of interrupted runs (from anything before this test) are undone
# first: every command's recovery would remove them in the middle of a case
# and make the store look changed.
"$VMSTAMP" -q gc

src=$(fixture debian12)
sum_src=$(sha256sum <"$src")
STORE=/var/lib/vmstamp/templates
INDEX=/var/lib/vmstamp/index/vmstamp-templates
T="${PREFIX}t"

store_state() { ls -A "$STORE" "$INDEX" 2>/dev/null | grep -e "$PREFIX" | grep -v "\.verified$" || true; ls -d /var/tmp/vmstamp-work.* /var/tmp/vmstamp/vmstamp-work.* 2>/dev/null || true; }
checks=0
# expect_error LABEL PATTERN vmstamp-args...
expect_error() {
  local label=$1 before
  before=$(store_state)
  expect_one_line_error "$@"
  [ "$(store_state)" = "$before" ] || fail "$label: store or work files changed: $(store_state)"
  [ "$(sha256sum <"$src")" = "$sum_src" ] || fail "$label: source changed"
  echo "ok: $label: $(cat "$SCRATCH/err")"
  checks=$((checks + 1))
}

expect_error "missing source" "source '/nonexistent/disk.qcow2' not found" template create "$T" --from /nonexistent/disk.qcow2
echo "not a disk" >"$SCRATCH/notes.txt"
expect_error "source not an image" "is not a disk image" template create "$T" --from "$SCRATCH/notes.txt"
expect_error "unknown operation" "unknown sysprep operation 'no-such-op'" template create "$T" --from "$src" --operations defaults,-no-such-op
expect_error "invalid name" "invalid template name" template create "a/b" --from "$src"
expect_error "no --from" "needs --from" template create "$T"

# A running domain that has the source as a disk (SeaBIOS finds nothing to
# boot on its empty first disk, so it keeps running).
qemu-img create -q -f qcow2 "$SCRATCH/empty.qcow2" 16M
run="${PREFIX}running"
$V define /dev/stdin >/dev/null <<XML
<domain type='$(awk '{print ($2 == "kvm") ? "kvm" : "qemu"}' /run/vmstamp/accel)'><name>$run</name><memory unit='MiB'>128</memory>
<os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$SCRATCH/empty.qcow2'/><target dev='vda' bus='virtio'/></disk>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$src'/><target dev='vdb' bus='virtio'/><readonly/></disk>
</devices></domain>
XML
$V start "$run" >/dev/null
expect_error "source used by a running domain" "in use by running domain '$run'" template create "$T" --from "$src"
expect_error "source is a running domain" "domain '$run' is running" template create "$T" --from "$run"
$V destroy "$run" >/dev/null
$V undefine "$run" >/dev/null
sum_src=$(sha256sum <"$src") # libvirt relabelled it; the bytes are what count

qemu-img create -q -f qcow2 "$SCRATCH/blank.qcow2" 64M
expect_error "disk with no OS" "no operating system found" template create "$T" --from "$SCRATCH/blank.qcow2"

note "a real template, then a second one of the same name"
"$VMSTAMP" -q template create "$T" --from "$src" >/dev/null
sum_tpl=$(sha256sum <"$STORE/$T.qcow2")
expect_error "name already in the store" "template '$T' already exists in store 'vmstamp-templates'" template create "$T" --from "$src"
[ "$(sha256sum <"$STORE/$T.qcow2")" = "$sum_tpl" ] || fail "the existing template changed"
expect_error "unknown template" "template '${PREFIX}none' not found in store" template info "${PREFIX}none"
# A run making clones of it holds the template (a shared flock): template rm refuses.
"$VMSTAMP" -q clone --network user --count 2 --name-pattern "${PREFIX}u%d" "$T" >"$SCRATCH/u.out" 2>"$SCRATCH/u.err" &
upid=$!
wait_for 120 test -e "$POOL_DIR/.${PREFIX}u2.qcow2.vmstamp-tmp" || { kill "$upid"; fail "the clone run made no disk"; }
expect_error "template rm while clones of it are made" "template '$T' is in use by a vmstamp run making clones of it" template rm "$T"
wait "$upid" || { cat "$SCRATCH/u.err" >&2; fail "the clone run during template rm failed"; }
"$VMSTAMP" -q rm "${PREFIX}u1" "${PREFIX}u2"

note "bundles"
openssl genpkey -algorithm ed25519 -out "$SCRATCH/sign.pem" 2>/dev/null
openssl pkey -in "$SCRATCH/sign.pem" -pubout -out "$SCRATCH/sign.pub.pem"
openssl genpkey -algorithm ed25519 -out "$SCRATCH/other.pem" 2>/dev/null
openssl pkey -in "$SCRATCH/other.pem" -pubout -out "$SCRATCH/other.pub.pem"
"$VMSTAMP" -q template export "$T" "$SCRATCH/t.tar.zst" --sign-key "$SCRATCH/sign.pem" >/dev/null
[ -s "$SCRATCH/t.tar.zst" ] || fail "export wrote nothing"
expect_error "import: already in the store" "already exists" template import "$SCRATCH/t.tar.zst" --trust-key "$SCRATCH/sign.pub.pem"
"$VMSTAMP" -q template rm "$T"
expect_error "import: wrong trust key" "signature does not verify" template import "$SCRATCH/t.tar.zst" --trust-key "$SCRATCH/other.pub.pem"
head -c $(( $(stat -c %s "$SCRATCH/t.tar.zst") / 2 )) "$SCRATCH/t.tar.zst" >"$SCRATCH/cut.tar.zst"
expect_error "import: truncated bundle" "bundle '$SCRATCH/cut.tar.zst'" template import "$SCRATCH/cut.tar.zst" --trust-key "$SCRATCH/sign.pub.pem"
mkdir -p "$SCRATCH/evil/x"
tar -C "$SCRATCH/evil" --zstd -xf "$SCRATCH/t.tar.zst"
tar -C "$SCRATCH/evil/x" -P --zstd -cf "$SCRATCH/evil.tar.zst" ../metadata.json ../metadata.json.sig ../image.qcow2 2>/dev/null
expect_error "import: '../' members" "bundle '$SCRATCH/evil.tar.zst'" template import "$SCRATCH/evil.tar.zst" --trust-key "$SCRATCH/sign.pub.pem"
ln -s /etc/shadow "$SCRATCH/evil/metadata.json.sig2"
tar -C "$SCRATCH/evil" --zstd -cf "$SCRATCH/link.tar.zst" metadata.json metadata.json.sig2 image.qcow2
expect_error "import: symlink member" "bundle '$SCRATCH/link.tar.zst'" template import "$SCRATCH/link.tar.zst" --trust-key "$SCRATCH/sign.pub.pem"
printf 'x' | dd of="$SCRATCH/evil/image.qcow2" bs=1 seek=100000 conv=notrunc 2>/dev/null
tar -C "$SCRATCH/evil" --zstd -cf "$SCRATCH/tampered.tar.zst" metadata.json metadata.json.sig image.qcow2
expect_error "import: image changed after signing" "SHA-256|checksum" template import "$SCRATCH/tampered.tar.zst" --trust-key "$SCRATCH/sign.pub.pem"

note "import the good bundle"
"$VMSTAMP" template import "$SCRATCH/t.tar.zst" --trust-key "$SCRATCH/sign.pub.pem"
[ "$(sha256sum <"$STORE/$T.qcow2")" = "$sum_tpl" ] || fail "imported image differs from the exported one"
"$VMSTAMP" template verify "$T" >/dev/null || fail "imported template does not verify"
# A template whose image changed on disk fails verify, and clone refuses it.
chmod u+w "$STORE/$T.qcow2"
printf 'x' | dd of="$STORE/$T.qcow2" bs=1 seek=200000 conv=notrunc 2>/dev/null
touch -d '1 minute ago' "$STORE/$T.qcow2"
expect_error "verify: image changed" "fails verification" template verify "$T"
expect_error "clone: template changed" "fails verification" clone --network user "$T" "${PREFIX}c"
"$VMSTAMP" -q template rm "$T"
assert_nothing_left "end"
[ -z "$(store_state)" ] || fail "left in the store: $(store_state)"
echo "PASS: template-errors ($checks cases)"
