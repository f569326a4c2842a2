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

note "Ctrl-C while the template is made: the run rolls back, the installed disk too"
I="${PREFIX}int"
"$VMSTAMP" build "$SRC/templates/testdist.yaml" --iso "$iso" --network user --name "$I" \
  >"$SCRATCH/out" 2>"$SCRATCH/err" &
pid=$!
for ((i = 0; i < 6000; i++)); do
  grep -q "build $I: making the template" "$SCRATCH/err" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
grep -q "build $I: making the template" "$SCRATCH/err" || { cat "$SCRATCH/err" >&2; fail "Ctrl-C: the template step never began"; }
[ -f "$POOL_DIR/$I-install.qcow2" ] || fail "Ctrl-C: no installed disk when the template step began"
sleep 1
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 1 ] || { cat "$SCRATCH/err" >&2; fail "Ctrl-C: exit $rc, not 1"; }
tail -n 1 "$SCRATCH/err" | grep -q "^vmstamp: error: interrupted" || { cat "$SCRATCH/err" >&2; fail "Ctrl-C: last line is not the interruption"; }
[ ! -e "$POOL_DIR/$I-install.qcow2" ] || fail "Ctrl-C: the installed disk was left behind"
[ -z "$(ls -A /var/lib/vmstamp/templates /var/lib/vmstamp/index/* 2>/dev/null | grep -e "^$I" -e "^\.$I")" ] ||
  fail "Ctrl-C: template files left behind"
! "$VMSTAMP" -q template info "$I" >/dev/null 2>&1 || fail "Ctrl-C: the template exists"
! ls /var/lib/vmstamp/journal/"$pid"-*.json >/dev/null 2>&1 || fail "Ctrl-C: the run's journal was left"
! ls -d /var/tmp/vmstamp-install."$pid"-* >/dev/null 2>&1 || fail "Ctrl-C: the install's temporary directory was left"
assert_nothing_left "Ctrl-C during the template step"
echo "ok: Ctrl-C during the template step: $(tail -n 1 "$SCRATCH/err")"

# Bad definitions: one line, non-zero, nothing made.
bad() {
  local label=$1 pattern=$2
  shift 2
  expect_one_line_error "$label" "$pattern" build "$@"
  echo "ok: $label: $(cat "$SCRATCH/err")"
}
bad "missing definition" "template definition '/nonexistent.yaml' not found" /nonexistent.yaml
# Problems in a definition name the file, the line and the key; none names
# another command (the install's options are not the user's).
printf 'name: x\nkickstart: k.ks\ncolour: blue\n' >"$SCRATCH/unknown.yaml"
bad "unknown key" "^vmstamp: error: $SCRATCH/unknown.yaml:3: unknown key 'colour'" "$SCRATCH/unknown.yaml"
printf 'name: x\nkickstart: k.ks\noperations: [defaults\n' >"$SCRATCH/broken.yaml"
bad "broken YAML" "^vmstamp: error: $SCRATCH/broken.yaml:3: invalid YAML: " "$SCRATCH/broken.yaml"
printf 'name: x\nkickstart: %s\niso: %s\niso_sha256: SET-ME\n' "$SRC/kickstart/testdist.ks" "$iso" >"$SCRATCH/nosum.yaml"
bad "checksum not set" "$SCRATCH/nosum.yaml:4: iso_sha256 is not set: copy it from the distribution's CHECKSUM file" "$SCRATCH/nosum.yaml"
printf 'name: x\nkickstart: %s\niso: %s\niso_sha256: abc\n' "$SRC/kickstart/testdist.ks" "$iso" >"$SCRATCH/shortsum.yaml"
bad "checksum malformed" "$SCRATCH/shortsum.yaml:4: iso_sha256: 'abc' is not 64 hex digits: copy it from the distribution's CHECKSUM file" "$SCRATCH/shortsum.yaml"
printf 'name: %s\nkickstart: %s\niso: %s\niso_sha256: %s\n' "$T" "$SRC/kickstart/testdist.ks" "$iso" "$(printf '0%.0s' {1..64})" >"$SCRATCH/badsum.yaml"
bad "checksum mismatch" "has SHA-256 [0-9a-f]{64}, not 0{64} \\(iso_sha256, $SCRATCH/badsum.yaml:4\\)" "$SCRATCH/badsum.yaml"
printf 'name: x\nkickstart: k.ks\nsize: 10Q\n' >"$SCRATCH/size.yaml"
bad "bad size" "$SCRATCH/size.yaml:3: size: '10Q' is not a disk size" "$SCRATCH/size.yaml"
! grep -q "vmstamp install" "$SCRATCH/err" || fail "bad size: names vmstamp install"
# 100 --var options (the old build overflowed a fixed argv past 53): the
# variables reach the kickstart, then the checksum stops it. Under ASan too,
# when scripts/test.sh has built build-asan since the build code last changed.
vars=()
for ((i = 1; i <= 100; i++)); do vars+=(--var "K$i=value $i"); done
bad "100 --var" "has SHA-256 [0-9a-f]{64}, not 0{64}" "${vars[@]}" "$SCRATCH/badsum.yaml"
asan=$SRC/build-asan/vmstamp
if [ -x "$asan" ] && [ "$asan" -nt "$SRC/builder/commands/cmd-build.c" ] && [ "$asan" -nt "$SRC/builder/pipeline/build.c" ] &&
   [ "$asan" -nt "$SRC/builder/pipeline/install.c" ]; then
  rc=0; ASAN_OPTIONS=detect_leaks=0 "$asan" -q build "${vars[@]}" "$SCRATCH/badsum.yaml" >/dev/null 2>"$SCRATCH/err" || rc=$?
  [ "$rc" = 1 ] && [ "$(wc -l <"$SCRATCH/err")" = 1 ] && grep -q "not 0\{64\}" "$SCRATCH/err" ||
    { cat "$SCRATCH/err" >&2; fail "100 --var under ASan: exit $rc"; }
  echo "ok: 100 --var under ASan: $(cat "$SCRATCH/err")"
else
  echo "skip: 100 --var under ASan (no build-asan/vmstamp newer than the build code)"
fi
# The shipped distribution definitions parse, name a known os_variant and a
# checksum, and stop at the one thing missing here: the ISO itself.
for def in centos7 rocky9 alma9 fedora; do
  isopath=$(awk '$1 == "iso:" {print $2}' "$SRC/templates/$def.yaml")
  bad "shipped $def.yaml without its ISO" "ISO '$isopath' not found" "$SRC/templates/$def.yaml"
done
printf 'name: %s\nkickstart: %s\niso: %s\nos_variant: nosuchos9\n' "$T" "$SRC/kickstart/testdist.ks" "$iso" >"$SCRATCH/os.yaml"
bad "unknown os_variant" "$SCRATCH/os.yaml:4: os_variant: unknown os variant 'nosuchos9'" "$SCRATCH/os.yaml"
assert_nothing_left "end"
echo "PASS: build"
