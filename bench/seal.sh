#!/usr/bin/env bash
# shellcheck disable=SC2059  # printf formats in variables
# What sealing statefiles costs: checkpoint and restart of one process with
# 64 MiB and 1 GiB of data, sealed (the default: SHA-256 of every file taken
# while it is written, checked while it is read) and unsealed (root's own
# cpr with CPR_BENCH_UNSEALED=1), as the ratio of the two, with this
# machine's raw durable write speed measured in the same run.
#
#   bench/seal.sh [build_dir] [work_dir]      BENCH_REPS=n: best of n
set -uo pipefail

bench_name=seal.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

bench_args "$@"
target=$build/bench/touch_mem
write_speed=$build/bench/write_speed
need_helpers "$target" "$write_speed" "$reaper"
need_cpr PID
run_under_reaper
ready_timeout=300
make_workdir cpr-seal

declare -A ckpt_ms restart_ms
one_run() { # mib mode(sealed|unsealed)
  local mib=$1 mode=$2 key="$1/$2" out pid sf unsealed=0
  [[ $mode == unsealed ]] && unsealed=1
  out="$wd/target.$mib.$mode.out"
  start_target "$out" "$mib" "$mib"
  pid=$target_pid
  sf="$wd/sf.$pid"
  CPR_BENCH_UNSEALED=$unsealed run_cpr "checkpoint ($key)" "$wd/c.err" -c "$sf" -p "$pid"
  ckpt_ms[$key]=$(min "${ckpt_ms[$key]:-}" "$wall_ms")
  wait_gone "$pid" 10 || die "checkpoint ($key): target $pid still running"
  wait "$launcher_pid"
  # Cold: the pages go to the device with O_DIRECT, and the seal is read
  # from there too.
  sync
  echo 3 > /proc/sys/vm/drop_caches
  CPR_BENCH_UNSEALED=$unsealed run_cpr "restart ($key)" "$wd/r.err" -r "$sf"
  restart_ms[$key]=$(min "${restart_ms[$key]:-}" "$wall_ms")
  kill -USR1 "$pid"
  wait_gone "$pid" 120 || die "restart ($key): PID $pid did not exit"
  [[ $(result_of "$out") == ok ]] || die "restart ($key): memory check: $(result_of "$out")"
  rm -rf "$sf"
}

raw=$("$write_speed" "$wd" 1024 2 | sed -n 's/^write_MBps=//p')
for mib in 64 1024; do
  for ((rep = 0; rep < reps; rep++)); do
    one_run "$mib" unsealed
    one_run "$mib" sealed
  done
done

echo "cpr seal benchmark: $(machine_summary); raw durable write ${raw:-n/a} MB/s (1 GiB)"
fmt="%-8s %12s %12s %8s %12s %12s %8s\n"
printf "$fmt" "MiB" "ckpt ms" "sealed ms" "ratio" "restart ms" "sealed ms" "ratio"
for mib in 64 1024; do
  c0=${ckpt_ms[$mib/unsealed]} c1=${ckpt_ms[$mib/sealed]}
  r0=${restart_ms[$mib/unsealed]} r1=${restart_ms[$mib/sealed]}
  printf "$fmt" "$mib" "$c0" "$c1" "$(awk -v a="$c1" -v b="$c0" 'BEGIN { printf "%.2f", a / b }')" \
    "$r0" "$r1" "$(awk -v a="$r1" -v b="$r0" 'BEGIN { printf "%.2f", a / b }')"
done
c_ok=$(awk -v a="${ckpt_ms[1024/sealed]}" -v b="${ckpt_ms[1024/unsealed]}" 'BEGIN { print (a <= 1.1 * b) }')
r_ok=$(awk -v a="${restart_ms[1024/sealed]}" -v b="${restart_ms[1024/unsealed]}" 'BEGIN { print (a <= 1.1 * b) }')
aim "sealing costs a checkpoint of 1 GiB under 10%" "$c_ok"
aim "checking the seal costs a restart of 1 GiB under 10%" "$r_ok"
end_with_aims
