#!/usr/bin/env bash
# Builds the MANIFEST fuzzer with clang and runs it for SECONDS (CI: a
# short run; by hand: as long as you like). Findings go to BUILD/fuzz/.
#   tests/fuzz/run.sh BUILD_DIR [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1/fuzz
seconds=${2:-30}
cmake -S "$here" -B "$out" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$out" >/dev/null
mkdir -p "$out/corpus" "$out/findings"
"$out/make_seeds" "$out/corpus"
# A MANIFEST allocation over 256 MiB, 1 GiB in all, or 10 s for one input
# is a finding, as is any crash or exception other than cpr's own error.
if "$out/fuzz_manifest" -max_total_time="$seconds" -malloc_limit_mb=256 \
  -rss_limit_mb=1024 -timeout=10 -artifact_prefix="$out/findings/" \
  -print_final_stats=1 "$out/corpus" 2>"$out/fuzz.log"; then
  grep -E "stat::number_of_executed_units" "$out/fuzz.log" || true
  echo "1 passed, 0 failed"
else
  tail -n 30 "$out/fuzz.log"
  echo "0 passed, 1 failed"
  exit 1
fi
