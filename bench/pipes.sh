#!/usr/bin/env bash
# shellcheck disable=SC2059  # printf formats in variables
# cpr benchmark for pipes: checkpoint and restart of a pipeline of processes
# whose pipes are full, and how much pipe data that carries.
#
#   bench/pipes.sh [build_dir] [work_dir]
#
#   build_dir  the cmake build tree (default: <repo>/build); cpr is taken from
#              build_dir/cli/cpr unless CPR_BIN is set, the helpers from
#              build_dir/bench/
#   work_dir   where the statefiles go (default /var/tmp); a private
#              subdirectory is created and removed
#
# Environment:
#   CPR_BIN=path        cpr binary to use
#   BENCH_REPS=n        runs per case, best kept (default 1)
#
# Exit status: 0 if every step worked, 1 on any failure, with a message saying
# which step failed. Times are reported, never asserted. See bench/README.md.
set -uo pipefail

bench_name=pipes.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

bench_args "$@"
target=$build/bench/pipe_chain
need_helpers "$target" "$reaper"
need_cpr PIDs
max_pipe=$(cat /proc/sys/fs/pipe-max-size 2>/dev/null || echo 0)
((max_pipe >= 1048576)) || [[ $(id -u) -eq 0 ]] ||
  die "fs.pipe-max-size is $max_pipe: 1 MiB pipes need it >= 1048576 (or root)"
run_under_reaper

ready_timeout=60 # s, for pipe_chain to fill its pipes
make_workdir cpr-pipes

# ---------------------------------------------------------------- helpers
pipe_bytes() { # statefile -> bytes in its pipes, as `cpr -i` lists them
  "$cpr" -i "$1" </dev/null 2>/dev/null |
    sed -n 's/.*pipes\.pipe .*(\([0-9]*\) bytes in it.*/\1/p' |
    awk '{ s += $1 } END { print s + 0 }'
}

# ---------------------------------------------------------------- one case
# run_case processes kib: checkpoint the chain (killed), reap it, restart it,
# check every PID is back, let every reader check its pipe.
declare -A r_ckpt_ms r_frozen r_restart_ms r_carried r_sf_bytes
run_case() {
  local np=$1 kib=$2 key="$1/$2" label out sf pid verdict expected
  local -a members children after
  label="$np processes, $kib KiB pipes"

  out="$wd/chain.$np.$kib.out"
  start_target "$out" "$np" "$kib"
  local rootpid=$target_pid
  mapfile -t children < <(children_of "$rootpid")
  ((${#children[@]} == np - 1)) ||
    die "start ($label): root $rootpid has ${#children[@]} children, expected $((np - 1))"
  members=("$rootpid" "${children[@]}")
  pids+=("${children[@]}")

  # 1. checkpoint the chain; the processes are killed
  sf="$wd/sf.$np.$kib"
  run_cpr "checkpoint ($label)" "$wd/cpr-c.err" -c "$sf" -p "$rootpid:HID"
  r_ckpt_ms[$key]=$(min "${r_ckpt_ms[$key]:-}" "$wall_ms")
  r_frozen[$key]=$(min "${r_frozen[$key]:-}" "$(field "$timing" frozen_ms)")
  for pid in "${members[@]}"; do
    wait_gone "$pid" 10 || die "checkpoint ($label): process $pid still running 10s after 'cpr -c' (expected it killed)"
  done
  wait "$launcher_pid"
  for pid in "${members[@]}"; do
    wait_reaped "$pid" 10 || die "checkpoint ($label): PID $pid still taken (state '$(proc_state "$pid")') 10s after it was killed"
  done
  r_carried[$key]=$(pipe_bytes "$sf")
  expected=$(((np - 1) * kib * 1024))
  ((r_carried[$key] == expected)) ||
    die "checkpoint ($label): cpr -i lists ${r_carried[$key]} bytes in the pipes, expected $expected"
  r_sf_bytes[$key]=$(du -sb "$sf" | cut -f1)

  # 2. restart: same PIDs, same tree
  run_cpr "restart ($label)" "$wd/cpr-r.err" -r "$sf"
  r_restart_ms[$key]=$(min "${r_restart_ms[$key]:-}" "$wall_ms")
  [[ $(proc_state "$rootpid") == [SRD] ]] ||
    die "restart ($label): root $rootpid is in state '$(proc_state "$rootpid")' after 'cpr -r', expected running or sleeping"
  mapfile -t after < <(children_of "$rootpid")
  [[ "${after[*]}" == "${children[*]}" ]] ||
    die "restart ($label): root $rootpid has children '${after[*]}' after restart, expected '${children[*]}'"

  # 3. every reader checks its pipe: still full, as big, the same bytes
  kill -USR1 "${members[@]}" || die "restart ($label): cannot signal every restarted process"
  wait_gone "$rootpid" 60 || die "restart ($label): restarted root $rootpid did not exit within 60s of SIGUSR1"
  verdict=$(result_of "$out")
  [[ $verdict == ok ]] || die "restart ($label): check after restart: ${verdict:-no verdict}; stderr: $(tail -n 3 "$out.err" | tr '\n' ' ')"
  run_cpr "delete ($label)" "$wd/cpr-d.err" -D "$sf"
  [[ ! -e $sf ]] || die "delete ($label): 'cpr -D $sf' left it in place"
}

# ---------------------------------------------------------------- machine
fs_type=$(findmnt -no FSTYPE -T "$work_parent" 2>/dev/null || stat -f -c %T "$work_parent")
echo "cpr benchmark: pipes  $(date -u '+%Y-%m-%d %H:%M:%SZ')"
echo "  machine : $(machine_summary)"
echo "  cpr     : $cpr"
echo "  work dir: $wd ($fs_type)"
echo "  target  : pipe_chain, a pipeline of processes, every pipe full"
echo "  reps    : $reps (best kept)"
echo

# ---------------------------------------------------------------- cases
# processes/KiB per pipe. 4/4 is the same chain with one-page pipes: what the
# processes cost without the pipe data.
cases=("4/1024" "4/4")
for ((rep = 1; rep <= reps; rep++)); do
  for c in "${cases[@]}"; do
    echo "running: ${c%/*} processes, ${c#*/} KiB pipes (rep $rep/$reps)..."
    run_case "${c%/*}" "${c#*/}"
  done
done

# ---------------------------------------------------------------- report
echo
echo "Results (ms = wall time of the whole cpr command; carried = bytes in the pipes, from cpr -i)"
hdr="%-9s %5s %9s %11s | %8s %9s | %10s | %9s\n"
printf "$hdr" "case" "procs" "pipe KiB" "carried" "ckpt" "frozen" "restart" "statefile"
printf "$hdr" "" "" "(each)" "MiB" "ms" "ms" "ms" "MiB"
for c in "${cases[@]}"; do
  printf "$hdr" "$c" "${c%/*}" "${c#*/}" "$(mib "${r_carried[$c]}" 2)" "${r_ckpt_ms[$c]}" \
    "$(or_na "${r_frozen[$c]}")" "${r_restart_ms[$c]}" "$(mib "${r_sf_bytes[$c]}" 2)"
done
echo
awk -v cb="${r_ckpt_ms[4/1024]}" -v cs="${r_ckpt_ms[4/4]}" -v rb="${r_restart_ms[4/1024]}" \
  -v rs="${r_restart_ms[4/4]}" -v bytes="${r_carried[4/1024]}" -v small="${r_carried[4/4]}" 'BEGIN {
  mib = (bytes - small) / 1048576
  if (mib > 0)
    printf "pipe data: %+.1f ms checkpoint, %+.1f ms restart for %.2f MiB more (%.1f / %.1f ms per MiB)\n",
      cb - cs, rb - rs, mib, (cb - cs) / mib, (rb - rs) / mib
}'
echo "all steps succeeded; the data came back intact"
exit 0
