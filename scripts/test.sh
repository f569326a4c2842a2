#!/usr/bin/env bash
# test.sh: the README's test command. Installs what is needed, starts
# libvirtd, builds (plain, ASan+UBSan, and the libFuzzer targets with
# clang), runs the unit tests under the sanitizers, each fuzz target for
# 20 s, and then every test with ctest but the soak and long labels.
#   scripts/test.sh           what CI runs (ctest -LE 'soak|long')
#   scripts/test.sh --long    the long label too: e2e-faults-pipelines, e2e-memcheck and
#                             e2e-publish (~13 min more)
#   scripts/test.sh --soak    the soak and long labels too: kill -9 at 30 moments of clone, template
#                             and install, 21 of fleet apply (~55 min more)
#   scripts/test.sh --asan-e2e
#                             instead: only the e2e tests, with the ASan+UBSan build's
#                             vmstamp (build-asan/); any sanitizer report fails the
#                             run (~60 min)
#   scripts/test.sh ARGS      other arguments go to ctest (e.g. -R e2e-clone-el9)
set -euo pipefail
cd "$(dirname "$0")/.."
select=(-LE 'soak|long')
asan_e2e=
case ${1:-} in
  --soak) select=(); shift ;;
  --long) select=(-LE soak); shift ;;
  --asan-e2e) asan_e2e=1; shift ;;
esac
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
cmake -S . -B build-asan -DVMSTAMP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$(nproc)"
if [ -n "$asan_e2e" ]; then
  # The reports go to build-asan/sanitizer-reports/, checked by the last test
  # (tests/sanitizer-reports.sh).
  echo "== e2e tests with the ASan+UBSan build"
  cd build-asan && exec ctest -L e2e --output-on-failure "$@"
fi
echo "== unit tests under ASan+UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -L unit --output-on-failure)
# The libFuzzer targets (clang), each 20 s on its seed corpus: the corpus's
# crash-* inputs are regressions, and new crashes fail the run (~3 minutes).
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DVMSTAMP_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz-targets
echo "== fuzz targets, 20 s each"
(cd build-fuzz && ctest -L fuzz --output-on-failure -j"$(nproc)")
echo "== all tests"
cd build && ctest --output-on-failure "${select[@]}" "$@"
