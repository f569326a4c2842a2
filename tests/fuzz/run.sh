#!/usr/bin/env bash
# run.sh: one libFuzzer target for SECONDS (or until RUNS executions, if
# given, whichever comes first) on its seed corpus. New inputs
# go to WORK/corpus (emptied first), never into the seed directory; a crash,
# leak, timeout or out-of-memory input to WORK/artifacts/. Prints one line:
#   NAME: EXECS executions in S s, cov C, ft F, corpus N, crashes K
# and, on a crash, the input's path and the sanitizer's report; exits 1.
#   run.sh BINARY SEED_DIR SECONDS WORK [RUNS]
set -uo pipefail
if [ $# -ne 4 ] && [ $# -ne 5 ]; then
  echo "usage: run.sh BINARY SEED_DIR SECONDS WORK [RUNS]" >&2
  exit 2
fi
bin=$1 seeds=$2 seconds=$3 work=$4
runs=()
[ $# -eq 5 ] && runs=(-runs="$5")
name=$(basename "$bin")
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts" "$work/tmp"
log=$work/log
# Temporary files of a target (fuzz-bundle's) stay in WORK, even after a crash.
export TMPDIR=$work/tmp

start=$(date +%s)
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$bin" -max_total_time="$seconds" "${runs[@]}" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" >"$log" 2>&1
rc=$?
took=$(( $(date +%s) - start ))

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
status=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: [0-9]+' | tail -n 1)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
found=()
for f in "$work/artifacts"/*; do
  case $(basename "$f") in
    crash-* | leak-* | timeout-* | oom-*) found+=("$f") ;;
  esac
done
corpus=$(sed -n "s|.* corp: \([0-9]*\)/.*|\1|p" <<<"$status")

echo "$name: ${execs:-?} executions in $took s, cov ${cov:-?}, ft ${ft:-?}, corpus $corpus, crashes ${#found[@]}"
if [ ${#found[@]} -gt 0 ] || [ $rc -ne 0 ]; then
  for f in "${found[@]}"; do
    echo "$name: input: $f"
  done
  [ ${#found[@]} -gt 0 ] || echo "$name: exit status $rc without a crash input"
  echo "---- $log (last 60 lines)"
  tail -n 60 "$log"
  exit 1
fi
exit 0
