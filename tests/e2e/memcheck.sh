#!/usr/bin/env bash
# memcheck.sh: vmstamp itself under valgrind memcheck (issue 11): one
# clone, one template create, one install and one fleet apply (and its
# destroy), each with 0 errors and 0 definitely lost bytes (one library
# leak suppressed, explained in tests/valgrind.supp). valgrind follows
# vmstamp and what it forks, not the programs it runs (qemu-img,
# ssh-keygen, the appliance). Label e2e (~2.5 min); each run's valgrind
# logs stay in $SCRATCH until cleanup, and the summaries are printed.
. "$(dirname "$0")/lib.sh"
start_test
command -v valgrind >/dev/null || { echo "SKIP: no valgrind"; exit 77; }
# An ASan binary cannot run under valgrind; the plain build runs this test.
[ -z "${VMSTAMP_SANITIZED:-}" ] || { echo "SKIP: the ASan+UBSan build is not run under valgrind (build/ runs this test)"; exit 77; }

tpl=$(fixture debian12)
iso=$("$SRC/scripts/build-installer-iso.sh" | tail -n 1)
[ -f "$iso" ] || fail "installer ISO not built"
T=${PREFIX}mt FLEET=${PREFIX}mf
trap 'rm -f /var/lib/vmstamp/fleet/"$FLEET".known_hosts; cleanup' EXIT

# vg LABEL ARGS...: vmstamp ARGS under memcheck; fails on any error or a
# definitely lost byte in vmstamp, and prints the summary. Each process has
# its own log (%p): vmstamp's, and those of the children it forks without
# exec (the permission check, the key generator), which valgrind follows
# too. In those only memory errors count, not leaks: a forked child holds
# no pointer that another thread of vmstamp (libvirt's, glib's) held, so
# its leak check calls their blocks lost. No --error-exitcode either: it
# would change those children's exit status, which vmstamp reads.
vg() {
  local label=$1 rc=0 main="" f pids ppid
  shift
  note "valgrind: vmstamp $*"
  valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
    --num-callers=30 --suppressions="$SRC/tests/valgrind.supp" --log-file="$SCRATCH/vg-$label.%p.log" \
    "$VMSTAMP" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
  [ "$rc" = 0 ] || { cat "$SCRATCH/err" "$SCRATCH"/vg-"$label".*.log >&2; fail "$label: vmstamp failed (exit $rc)"; }
  pids=$(ls "$SCRATCH"/vg-"$label".*.log | sed 's/.*\.\([0-9]*\)\.log$/\1/')
  for f in "$SCRATCH"/vg-"$label".*.log; do
    # vmstamp's log: its parent is none of the logged processes.
    ppid=$(sed -n 's/.*Parent PID: \([0-9]*\).*/\1/p' "$f" | head -n 1)
    grep -qx -- "$ppid" <<<"$pids" || main=$f
    if grep -E -q "Invalid (read|write|free)|uninitialised|Conditional jump|Mismatched free|Syscall param|overlap" "$f"; then
      cat "$f" >&2
      fail "$label: memcheck found a memory error in $f"
    fi
  done
  [ -n "$main" ] || fail "$label: cannot tell vmstamp's valgrind log"
  grep -q "ERROR SUMMARY: 0 errors" "$main" || { cat "$main" >&2; fail "$label: errors or definitely lost bytes"; }
  if grep -q "definitely lost: [1-9]" "$main"; then cat "$main" >&2; fail "$label: definitely lost bytes"; fi
  printf '  %-16s %s; %s (%d processes)\n' "$label" "$(grep -o 'ERROR SUMMARY: [0-9]* errors' "$main")" \
    "$(grep -o 'definitely lost: .*' "$main" || echo 'definitely lost: none')" "$(wc -w <<<"$pids")" >>"$SCRATCH/summary"
}

vg clone clone --network user --count 2 --name-pattern "${PREFIX}c%d" "$tpl"
vg template template create "$T" --from "$tpl"
printf 'fleet: %s\ntemplate: %s\ndefaults: {network: user, memory: 512M}\ngroups:\n  - {name: %s, count: 2}\n' \
  "$FLEET" "$tpl" "${PREFIX}f%d" >"$SCRATCH/plan.yaml"
vg fleet-apply fleet apply "$SCRATCH/plan.yaml"
vg fleet-destroy fleet destroy "$SCRATCH/plan.yaml"
printf 'pw %s\n' "$$" >"$SCRATCH/pw"
chmod 600 "$SCRATCH/pw"
vg install install --iso "$iso" --kickstart "$SRC/kickstart/testdist.ks" --name "${PREFIX}i" --os-variant centos7.0 \
  --network user --size 2G --root-password-file "$SCRATCH/pw"

"$VMSTAMP" -q rm "${PREFIX}c1" "${PREFIX}c2" || fail "rm failed"
"$VMSTAMP" -q template rm "$T" || fail "template rm failed"
$V vol-delete --pool default "${PREFIX}i.qcow2" >/dev/null || true
echo "memcheck:"
cat "$SCRATCH/summary"
echo "PASS: memcheck"
