#!/usr/bin/env bash
# fuzz.sh: build the libFuzzer targets (build-fuzz/, clang, -DVMSTAMP_FUZZ=ON)
# and run each for SECONDS (default 60) on its seed corpus
# (tests/fuzz/corpus/NAME/; new inputs go to build-fuzz/tests/fuzz/work/NAME/,
# never into the source tree). One line per target: executions, libFuzzer's
# coverage (cov: edges, ft: features) at the end, corpus size, crashes.
# Exits 1 if any target crashed, leaked, timed out or ran out of memory,
# with the input's path and the report.
#   scripts/fuzz.sh [--runs N] [SECONDS] [NAME...]   e.g. scripts/fuzz.sh 120 bundle meta
# --runs N: a target also stops after N executions (issue 11's long run is
# scripts/fuzz.sh --runs 10000000 1800: 10 million or 30 minutes each).
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { echo "usage: scripts/fuzz.sh [--runs N] [SECONDS] [NAME...]" >&2; exit 2; }
runs=()
if [ "${1:-}" = --runs ]; then
  case ${2:-} in '' | *[!0-9]*) usage ;; esac
  runs=("$2")
  shift 2
fi
seconds=${1:-60}
shift || true
case $seconds in
  '' | *[!0-9]*) usage ;;
esac

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DVMSTAMP_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz-targets

if [ $# -gt 0 ]; then
  names=("$@")
else
  names=()
  for src in tests/fuzz/fuzz-*.c; do
    n=$(basename "$src" .c)
    names+=("${n#fuzz-}")
  done
fi

failed=()
for n in "${names[@]}"; do
  if ! tests/fuzz/run.sh "build-fuzz/tests/fuzz/fuzz-$n" "tests/fuzz/corpus/$n" "$seconds" \
      "build-fuzz/tests/fuzz/work/$n" "${runs[@]}"; then
    failed+=("$n")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: crashes in: ${failed[*]} (inputs under build-fuzz/tests/fuzz/work/NAME/artifacts/)"
  exit 1
fi
echo "fuzz.sh: ${#names[@]} targets, ${seconds} s${runs:+ or ${runs[0]} executions} each, no crash"
