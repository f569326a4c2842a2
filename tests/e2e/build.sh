#!/usr/bin/env bash
# build.sh: vmstamp build runs a template definition end to end (install
# from the test installer ISO, template create, the installed disk removed);
# a clone of the result boots with its own host name. Then bad definitions.
. "$(dirname "$0")/lib.sh"
start_test

iso=$("$SRC/scripts/build-installer-iso.sh" | tail -n 1)
T="${PREFIX}built"
note "vmstamp build templates/testdist.yaml"
"$VMSTAMP" build "$SRC/templates/testdist.yaml" --iso "$iso" --network user --name "$T"
"$VMSTAMP" template info "$T" >"$SCRATCH/info"
grep -e '"os": *"rocky9"' "$SCRATCH/info" >/dev/null || fail "built template is not recognised as rocky9"
# The index entry records how it was installed: definition, ISO, kickstart
# (by SHA-256) and the install command, which names the os variant.
ks_sum=$(sha256sum <"$SRC/kickstart/testdist.ks")
grep -E "\"kickstart_sha256\": *\"${ks_sum%% *}\"" "$SCRATCH/info" >/dev/null || { cat "$SCRATCH/info" >&2; fail "no kickstart checksum in the install record"; }
grep -E "\"definition\": *\"$(realpath "$SRC/templates/testdist.yaml")\"" "$SCRATCH/info" >/dev/null || fail "no definition in the install record"
grep -E "\"iso\": *\"$iso\"" "$SCRATCH/info" >/dev/null || fail "no ISO in the install record"
grep -E '"command": *"vmstamp install --iso .* --os-variant rocky9' "$SCRATCH/info" >/dev/null || fail "no install command in the record"
[ ! -e "$POOL_DIR/$T-install.qcow2" ] || fail "the installed disk was not removed"
[ -z "$($V list --all --name | grep "^$T")" ] || fail "a domain was left behind"

note "clone the built template and boot it"
n="${PREFIX}fromiso"
"$VMSTAMP" -q clone --network user "$T" "$n" >/dev/null
$V start "$n" >/dev/null
wait_shutoff "$n" 300
[ "$(console "$n" VMSTAMP-HOSTNAME)" = "$n" ] || fail "$n: hostname '$(console "$n" VMSTAMP-HOSTNAME)'"
mid=$(console "$n" VMSTAMP-MACHINE-ID)
[[ "$mid" =~ ^[0-9a-f]{32}$ ]] || fail "$n: machine-id '$mid'"
"$VMSTAMP" -q rm "$n"
"$VMSTAMP" -q template rm "$T"

# Bad definitions: one line, non-zero, nothing made.
bad() {
  local label=$1 pattern=$2
  shift 2
  expect_one_line_error "$label" "$pattern" build "$@"
  echo "ok: $label: $(cat "$SCRATCH/err")"
}
bad "missing definition" "template definition '/nonexistent.yaml' not found" /nonexistent.yaml
printf 'name: x\nkickstart: k.ks\ncolour: blue\n' >"$SCRATCH/unknown.yaml"
bad "unknown key" "line 3: unknown key 'colour'" "$SCRATCH/unknown.yaml"
printf 'name: [x\n' >"$SCRATCH/broken.yaml"
bad "broken YAML" "template definition '$SCRATCH/broken.yaml' line" "$SCRATCH/broken.yaml"
printf 'name: x\nkickstart: %s\niso: %s\niso_sha256: SET-ME\n' "$SRC/kickstart/testdist.ks" "$iso" >"$SCRATCH/nosum.yaml"
bad "checksum not set" "iso_sha256 is not set" "$SCRATCH/nosum.yaml"
printf 'name: %s\nkickstart: %s\niso: %s\niso_sha256: %s\n' "$T" "$SRC/kickstart/testdist.ks" "$iso" "$(printf '0%.0s' {1..64})" >"$SCRATCH/badsum.yaml"
bad "checksum mismatch" "has SHA-256 [0-9a-f]{64}, not 0{64}" "$SCRATCH/badsum.yaml"
# The shipped distribution definitions parse, name a known os_variant and a
# checksum, and stop at the one thing missing here: the ISO itself.
for def in centos7 rocky9 alma9 fedora; do
  isopath=$(awk '$1 == "iso:" {print $2}' "$SRC/templates/$def.yaml")
  bad "shipped $def.yaml without its ISO" "ISO '$isopath' not found" "$SRC/templates/$def.yaml"
done
printf 'name: %s\nkickstart: %s\niso: %s\nos_variant: nosuchos9\n' "$T" "$SRC/kickstart/testdist.ks" "$iso" >"$SCRATCH/os.yaml"
bad "unknown os_variant" "template definition '$SCRATCH/os.yaml': unknown os variant 'nosuchos9'" "$SCRATCH/os.yaml"
assert_nothing_left "end"
echo "PASS: build"
