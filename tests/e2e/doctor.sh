#!/usr/bin/env bash
# doctor.sh: vmstamp doctor prints one ok/warn/fail line per check, decides an
# accelerator by booting a probe kernel, and that decision is what clone uses.
. "$(dirname "$0")/lib.sh"
skip_unless_ready
out=$("$VMSTAMP" doctor) || { echo "$out"; fail "doctor reported a failure"; }
echo "$out"
for check in "/dev/kvm" "kvm boots a guest" "libvirtd reachable" "storage pool" "network" \
             "libguestfs appliance" "free disk"; do
  grep -Eq "^(ok|warn|fail) +$check " <<<"$out" || fail "doctor has no '$check' line"
done
# No SELinux on this host: nothing said about pool labels.
if [ ! -e /sys/fs/selinux/enforce ]; then
  ! grep -qi selinux <<<"$out" || fail "doctor spoke of SELinux on a host without it"
fi
accel=$(sed -n 's/^accelerator: //p' <<<"$out")
[[ "$accel" =~ ^(kvm|tcg)$ ]] || fail "doctor decided no accelerator"
grep -q " $accel " /run/vmstamp/accel || fail "decision not cached in /run/vmstamp/accel"
# --json: the same checks as one object (README "JSON output").
json=$("$VMSTAMP" doctor --json) || fail "doctor --json reported a failure"
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["version"] == 1 and d["ok"] is True and d["accelerator"] == sys.argv[2], d
names = [c["check"] for c in d["checks"]]
for want in ("/dev/kvm", "kvm boots a guest", "libvirtd reachable", "storage pool", "libguestfs appliance", "free disk"):
    assert want in names, names
assert all(c["status"] in ("ok", "warn", "fail") and c["detail"] for c in d["checks"]), d
' "$json" "$accel" || fail "doctor --json: $json"
# --accel overrides the probe.
[ "$("$VMSTAMP" --accel tcg doctor | sed -n 's/^accelerator: //p')" = tcg ] || fail "--accel tcg ignored"
# A broken override is a usage error.
if "$VMSTAMP" --accel warp doctor 2>/dev/null; then fail "--accel warp accepted"; fi
echo "PASS: doctor (accelerator $accel)"
