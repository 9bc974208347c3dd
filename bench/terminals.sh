#!/usr/bin/env bash
# shellcheck disable=SC2059  # printf formats in variables
# cpr benchmark for terminals: what a pty the set holds both ends of costs.
# The same parent and child are checkpointed (WILL EXIT) and restarted
# talking over a pty (the child leading a session on it) and over two pipes,
# with 3000 bytes left unread each way; the difference is the pty.
#
#   bench/terminals.sh [build_dir] [work_dir]
#
# Environment: CPR_BIN (default build_dir/cli/cpr), BENCH_REPS (default 5,
# the best is kept). Exit status 1 if any step fails, with the step. Times
# are reported, never asserted. See bench/README.md.
set -uo pipefail

bench_name=terminals.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

bench_args "$@"
reps=${BENCH_REPS:-5}
target=$build/tests/targets/pty_hold
need_helpers "$target" "$reaper"
need_cpr PIDs
run_under_reaper

ready_timeout=10 # s
cpr_timeout=60   # s
bytes=3000
make_workdir cpr-terminals

# run_case mode: checkpoint the pair (killed), reap it, restart it, and let
# both check the bytes the other left.
declare -A r_ckpt_ms r_restart_ms
run_case() {
  local mode=$1 out="$wd/$1.out" sf="$wd/sf.$1" pid child
  start_target "$out" "$mode" "$bytes"
  pid=$target_pid
  child=$(children_of "$pid")
  [[ -n $child ]] || die "start ($mode): no child"
  pids+=("$child")
  run_cpr "checkpoint ($mode)" "$wd/cpr-c.err" -c "$sf" -p "$pid:HID"
  r_ckpt_ms[$mode]=$(min "${r_ckpt_ms[$mode]:-}" "$wall_ms")
  wait "$launcher_pid"
  for p in "$pid" "$child"; do
    wait_reaped "$p" 10 || die "checkpoint ($mode): PID $p still taken"
  done
  run_cpr "restart ($mode)" "$wd/cpr-r.err" -r "$sf"
  r_restart_ms[$mode]=$(min "${r_restart_ms[$mode]:-}" "$wall_ms")
  kill -USR1 "$pid" "$child" || die "restart ($mode): cannot signal the pair"
  wait_gone "$pid" 10 || die "restart ($mode): $pid did not end"
  grep -qx ok "$out" || die "restart ($mode): $(tail -n 1 "$out")"
  run_cpr "delete ($mode)" "$wd/cpr-d.err" -D "$sf"
}

echo "cpr benchmark: terminals  $(date -u '+%Y-%m-%d %H:%M:%SZ')"
echo "  machine : $(machine_summary)"
echo "  target  : pty_hold, a parent and child, $bytes bytes unread each way"
echo "  reps    : $reps (best kept)"
for ((rep = 1; rep <= reps; rep++)); do
  for mode in pty pipes; do run_case "$mode"; done
done
echo
hdr="%-7s | %10s | %10s\n"
printf "$hdr" "over" "checkpoint" "restart"
for mode in pty pipes; do
  printf "$hdr" "$mode" "${r_ckpt_ms[$mode]} ms" "${r_restart_ms[$mode]} ms"
done
awk -v a="${r_ckpt_ms[pty]}" -v b="${r_ckpt_ms[pipes]}" \
  -v c="${r_restart_ms[pty]}" -v d="${r_restart_ms[pipes]}" \
  'BEGIN { printf "the pty costs %+.1f ms at checkpoint, %+.1f ms at restart\n", a - b, c - d }'
