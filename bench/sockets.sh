#!/usr/bin/env bash
# shellcheck disable=SC2059  # printf formats in variables
# cpr benchmark for sockets: the cost of TCP connections (1, 100, 1000 in
# the set; 100 and 1000 to a peer outside it, held with nftables) and of the
# bytes queued in them, at checkpoint and at restart.
#
#   bench/sockets.sh [build_dir] [work_dir]
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

bench_name=sockets.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

bench_args "$@"
target=$build/bench/sock_conns
memcpy_speed=$build/bench/memcpy_speed
need_helpers "$target" "$memcpy_speed" "$reaper"
need_cpr PIDs
run_under_reaper

ready_timeout=60 # s, for sock_conns to open its connections
make_workdir cpr-sockets

# ---------------------------------------------------------------- one case
# run_case mode connections kib: checkpoint (killed), restart, check every
# queued byte and that every connection answers.
declare -A r_ckpt_ms r_frozen r_restart_ms r_sf_bytes
run_case() {
  local mode=$1 n=$2 kib=$3 key="$1/$2/$3" label out sf pid verdict
  label="$mode, $n connections, $kib KiB queued each way"

  out="$wd/conns.$mode.$n.$kib.out"
  start_target "$out" "$mode" "$n" "$kib"
  pid=$target_pid
  sf="$wd/sf.$mode.$n.$kib"
  run_cpr "checkpoint ($label)" "$wd/cpr-c.err" -c "$sf" -p "$pid"
  r_ckpt_ms[$key]=$(min "${r_ckpt_ms[$key]:-}" "$wall_ms")
  r_frozen[$key]=$(min "${r_frozen[$key]:-}" "$(field "$timing" frozen_ms)")
  wait_gone "$pid" 10 || die "checkpoint ($label): process $pid still running 10s after 'cpr -c'"
  wait "$launcher_pid"
  wait_reaped "$pid" 10 || die "checkpoint ($label): PID $pid still taken 10s after it was killed"
  r_sf_bytes[$key]=$(du -sb "$sf" | cut -f1)

  run_cpr "restart ($label)" "$wd/cpr-r.err" -r "$sf"
  r_restart_ms[$key]=$(min "${r_restart_ms[$key]:-}" "$wall_ms")
  kill -USR1 "$pid" || die "restart ($label): cannot signal the restarted process $pid"
  wait_gone "$pid" 60 || die "restart ($label): process $pid did not finish within 60s of SIGUSR1"
  verdict=$(result_of "$out")
  [[ $verdict == ok ]] || die "restart ($label): check after restart: ${verdict:-no verdict}; stderr: $(tail -n 3 "$out.err" | tr '\n' ' ')"
  run_cpr "delete ($label)" "$wd/cpr-d.err" -D "$sf"
}

# ---------------------------------------------------------------- machine
mc=$("$memcpy_speed") || die "memcpy_speed failed"
memcpy_GBps=$(sed -n 's/^memcpy_GBps=//p' <<<"$mc")
[[ -n $memcpy_GBps ]] || die "memcpy_speed printed no figure: $mc"
fs_type=$(findmnt -no FSTYPE -T "$work_parent" 2>/dev/null || stat -f -c %T "$work_parent")
echo "cpr benchmark: sockets  $(date -u '+%Y-%m-%d %H:%M:%SZ')"
echo "  machine : $(machine_summary), memcpy $memcpy_GBps GB/s"
echo "  cpr     : $cpr"
echo "  work dir: $wd ($fs_type)"
echo "  target  : sock_conns, TCP connections over the loopback"
echo "  reps    : $reps (best kept)"
echo

# ---------------------------------------------------------------- cases
# mode/connections/KiB queued each way. inset: both ends in the process;
# outside: the other end in a helper outside the set (held with nft);
# queued: 8 connections holding 2 MiB each way, 32 MiB in all.
cases=("inset/1/0" "inset/100/0" "inset/1000/0" "outside/100/0" "outside/1000/0" "queued/8/2048")
for ((rep = 1; rep <= reps; rep++)); do
  for c in "${cases[@]}"; do
    IFS=/ read -r mode n kib <<<"$c"
    echo "running: $mode, $n connections, $kib KiB queued (rep $rep/$reps)..."
    run_case "$mode" "$n" "$kib"
  done
done

# ---------------------------------------------------------------- report
echo
echo "Results (ms = wall time of the whole cpr command; frozen = while the process was stopped)"
hdr="%-16s %6s %9s | %8s %8s | %9s | %9s\n"
printf "$hdr" "case" "conns" "queued" "ckpt" "frozen" "restart" "statefile"
printf "$hdr" "" "" "MiB" "ms" "ms" "ms" "MiB"
for c in "${cases[@]}"; do
  IFS=/ read -r mode n kib <<<"$c"
  printf "$hdr" "$c" "$n" "$(awk -v n="$n" -v k="$kib" 'BEGIN { printf "%.1f", n * k * 2 / 1024 }')" \
    "${r_ckpt_ms[$c]}" "$(or_na "${r_frozen[$c]}")" "${r_restart_ms[$c]}" "$(mib "${r_sf_bytes[$c]}" 2)"
done
echo
awk -v c1="${r_ckpt_ms[inset/1/0]}" -v c1k="${r_ckpt_ms[inset/1000/0]}" \
  -v r1="${r_restart_ms[inset/1/0]}" -v r1k="${r_restart_ms[inset/1000/0]}" \
  -v f1="${r_frozen[inset/1/0]}" -v f1k="${r_frozen[inset/1000/0]}" \
  -v o1c="${r_ckpt_ms[outside/100/0]}" -v o1kc="${r_ckpt_ms[outside/1000/0]}" \
  -v o1r="${r_restart_ms[outside/100/0]}" -v o1kr="${r_restart_ms[outside/1000/0]}" 'BEGIN {
  # 1000 connections in the set are 2000 sockets.
  printf "a connection in the set (2 sockets): %.3f ms checkpoint (%.3f ms frozen), %.3f ms restart\n",
    (c1k - c1) / 999, (f1k - f1) / 999, (r1k - r1) / 999
  printf "a connection to outside (1 socket, held): %.3f ms checkpoint, %.3f ms restart\n",
    (o1kc - o1c) / 900, (o1kr - o1r) / 900
}'
awk -v cq="${r_ckpt_ms[queued/8/2048]}" -v rq="${r_restart_ms[queued/8/2048]}" \
  -v c1="${r_ckpt_ms[inset/1/0]}" -v r1="${r_restart_ms[inset/1/0]}" -v mc="$memcpy_GBps" 'BEGIN {
  mib = 32; mcm = mc * 1e9 / 1048576
  cs = mib / ((cq - c1) / 1000); rs = mib / ((rq - r1) / 1000)
  printf "queued bytes: %.0f MiB/s at checkpoint, %.0f MiB/s at restart (%.3f / %.3f of memcpy, %.0f MiB/s)\n",
    cs, rs, cs / mcm, rs / mcm, mcm
}'
echo "all steps succeeded; every byte and connection came back"
exit 0
