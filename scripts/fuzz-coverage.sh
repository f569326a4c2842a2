#!/usr/bin/env bash
# fuzz-coverage.sh: the source coverage the fuzz targets' corpora reach.
# Builds the targets with clang's source coverage (build-fuzz-cov/,
# -DVMSTAMP_FUZZ_COVERAGE=ON, no sanitizers), replays each target once over
# its seeds and the corpus of its last scripts/fuzz.sh run
# (build-fuzz/tests/fuzz/work/NAME/corpus/), and prints per target the line
# and function coverage (llvm-cov report) of the source files that hold the
# parsers it feeds. Those files hold other code too (writers, the
# libvirt/libguestfs side), so 100% is not the aim there; "reached" is the
# line coverage of the functions the target entered at all. The per-file
# report is in build-fuzz-cov/coverage/NAME.txt.
#   scripts/fuzz-coverage.sh [NAME...]
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

# The source files of each target's parsers.
declare -A files=(
  [kickstart]="builder/pure/kickstart.c"
  [treeinfo]="builder/adapters/iso.c"
  [isovolid]="builder/adapters/iso.c"
  [isolayout]="builder/adapters/iso.c"
  [meta]="builder/pure/meta.c"
  [bundle]="builder/adapters/bundle.c"
  [definition]="builder/pure/definition.c builder/pure/yamlutil.c"
  [fleetplan]="builder/pure/fleetplan.c builder/pure/yamlutil.c"
  [scalars]="builder/pure/util.c"
  [libvirtxml]="builder/pure/domxml.c builder/pure/netxml.c builder/pure/dac.c"
  [netconf]="builder/pure/netconf.c"
  [guestfiles]="builder/pure/edit.c"
)
for v in clang llvm-profdata llvm-cov; do
  command -v "$v" >/dev/null || { echo "fuzz-coverage.sh: needs $v (clang, llvm)" >&2; exit 1; }
done

cmake -S . -B build-fuzz-cov -DCMAKE_C_COMPILER=clang -DVMSTAMP_FUZZ=ON -DVMSTAMP_FUZZ_COVERAGE=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz-cov -j"$(nproc)" --target fuzz-targets >/dev/null

if [ $# -gt 0 ]; then names=("$@"); else names=("${!files[@]}"); fi
out=build-fuzz-cov/coverage
mkdir -p "$out"
printf '%-11s %9s %8s %11s %9s  %s\n' target inputs lines functions reached files
for n in $(printf '%s\n' "${names[@]}" | sort); do
  [ -n "${files[$n]:-}" ] || { echo "fuzz-coverage.sh: no target $n" >&2; exit 2; }
  bin=build-fuzz-cov/tests/fuzz/fuzz-$n
  dirs=("tests/fuzz/corpus/$n")
  [ -d "build-fuzz/tests/fuzz/work/$n/corpus" ] && dirs+=("build-fuzz/tests/fuzz/work/$n/corpus")
  inputs=$(find "${dirs[@]}" -type f | wc -l)
  rm -f "$out/$n".profraw*
  tmp=$out/$n.tmp
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # -runs=0: each input once. (fuzz-bundle writes its scratch files in TMPDIR)
  TMPDIR=$tmp LLVM_PROFILE_FILE="$src/$out/$n.profraw" "$bin" -runs=0 "${dirs[@]}" >"$out/$n.log" 2>&1 ||
    { echo "fuzz-coverage.sh: $n failed replaying its corpus (see $out/$n.log)" >&2; exit 1; }
  rm -rf "$tmp"
  llvm-profdata merge -sparse "$out/$n.profraw" -o "$out/$n.profdata"
  # shellcheck disable=SC2086 # the list of files
  llvm-cov report "$bin" -instr-profile="$out/$n.profdata" ${files[$n]} >"$out/$n.txt"
  # The TOTAL line: ... Lines Missed Cover ... Functions Missed Executed ...
  read -r lines funcs < <(awk '$1 == "TOTAL" {print $10, $7}' "$out/$n.txt")
  # reached: the lines covered of the functions the target entered at all
  # (per function: Name Regions Miss Cover Lines Miss Cover ...).
  # shellcheck disable=SC2086
  reached=$(llvm-cov report -show-functions "$bin" -instr-profile="$out/$n.profdata" ${files[$n]} |
    awk '$1 != "TOTAL" && NF == 10 && $5 ~ /^[0-9]+$/ && $6 < $5 { t += $5; c += $5 - $6 }
         END { if (t) printf "%.2f%%", 100 * c / t; else print "-" }')
  printf '%-11s %9s %8s %11s %9s  %s\n' "$n" "$inputs" "$lines" "$funcs" "$reached" "${files[$n]}"
done
