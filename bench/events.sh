#!/usr/bin/env bash
# cpr benchmark for SIGCKPT: what waiting for a process's atcheckpoint()
# callback adds to a checkpoint. The same counting program is checkpointed
# with -g (it goes on) with no callback registered, and with a callback that
# returns at once; the difference is the notify step (seize, signal, watch
# the handler return under ptrace, let go), plus the SIGRESTART sent after.
#
#   bench/events.sh [build_dir]
#
# Environment: CPR_BIN (default build_dir/cli/cpr), BENCH_REPS (default 10,
# the median is kept). Exit status 1 if any step fails.
set -uo pipefail
bench_name=events.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
build=$(cd "${1:-$(dirname "$here")/build}" 2>/dev/null && pwd) ||
  die "build directory not found (cmake --build build first)"
cpr=${CPR_BIN:-$build/cli/cpr}
target=$build/tests/targets/ckpt_events
reps=${BENCH_REPS:-10}
[[ -x $cpr && -x $target ]] || die "cpr or the test targets are not built"
wd=$(mktemp -d /var/tmp/cpr-events.XXXXXX) || die "cannot make a work directory"
running=()
# shellcheck disable=SC2154  # p is the trap's own loop variable
trap 'for p in "${running[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$wd"' EXIT

# checkpoint_ms program...: one `cpr -c -g` of a fresh run of it; sets ms.
# Run in this shell (not in $(...)), so that die ends the bench.
checkpoint_ms() {
  "$@" >/dev/null 2>&1 </dev/null &
  local pid=$!
  running+=("$pid")
  sleep 0.3
  local t0=$EPOCHREALTIME
  "$cpr" -c "$wd/sf" -p "$pid" -g -f >/dev/null || die "checkpoint of $* failed"
  local t1=$EPOCHREALTIME
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) * 1000 }')
}

# series program...: the median of BENCH_REPS checkpoints; sets median_ms.
series() {
  local all=() i
  for ((i = 0; i < reps; i++)); do
    checkpoint_ms "$@"
    all+=("$ms")
  done
  median_ms=$(printf '%s\n' "${all[@]}" | sort -n |
    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
}

series "$target" none
without=$median_ms
series "$target" 0
with=$median_ms
echo "events.sh: checkpoint -g, no SIGCKPT callback:       $without ms (median of $reps)"
echo "events.sh: checkpoint -g, an atcheckpoint callback:  $with ms"
awk -v a="$without" -v b="$with" \
  'BEGIN { printf "events.sh: waiting for the callback adds %.2f ms\n", b - a }'
