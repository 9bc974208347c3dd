#!/usr/bin/env bash
# shellcheck disable=SC2059  # printf formats in variables
# cpr benchmark: checkpoint and restart speed as ratios to this machine's own
# limits (durable file write speed, memcpy speed), measured in the same run.
#
#   bench/run.sh [build_dir] [work_dir]
#
#   build_dir  the cmake build tree (default: <repo>/build); cpr is taken from
#              build_dir/cli/cpr unless CPR_BIN is set, the helpers from
#              build_dir/bench/
#   work_dir   where statefiles and the raw-write test file go (default
#              /var/tmp); a private subdirectory is created and removed
#
# Environment:
#   CPR_BIN=path        cpr binary to use
#   BENCH_REPS=n        runs per case, best kept (default 1)
#   BENCH_LIMITS_ONLY=1 only measure raw write and memcpy speed (no cpr needed)
#   BENCH_STRICT=1      exit 1 when an aim is missed (default: report only)
#
# Exit status: 0 if every step worked (aims are reported, not enforced unless
# BENCH_STRICT=1), 1 on any failure, with a message saying which step failed.
# See bench/README.md for what the figures mean.
set -uo pipefail

bench_name=run.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

bench_args "$@"
target=$build/bench/touch_mem
memcpy_speed=$build/bench/memcpy_speed
write_speed=$build/bench/write_speed
fork_cost=$build/bench/fork_cost
limits_only=${BENCH_LIMITS_ONLY:-0}
need_helpers "$target" "$memcpy_speed" "$write_speed" "$fork_cost" "$reaper"
[[ $limits_only == 1 ]] || need_cpr PID
run_under_reaper

ready_timeout=300 # s, for touch_mem to fill its memory
make_workdir cpr-bench

# ---------------------------------------------------------------- helpers
calc() { awk "BEGIN { print $1 }"; } # calc 'awk expression' -> its value

# ---------------------------------------------------------------- one case
# run_case alloc touch: checkpoint (kill) + restart + verify, then a -g
# checkpoint of a fresh target.  Keeps the best figures in the r_* arrays.
declare -A r_dump_ms r_dump_pages_ms r_frozen_kill r_restore_ms r_restore_pages_ms \
  r_pages_bytes r_img_bytes r_sf_bytes r_sf_disk r_frozen_g
run_case() {
  local alloc=$1 touch=$2 key="$1/$2" out sf img pid st verdict

  # 1. checkpoint, target killed
  out="$wd/target.$alloc.$touch.out"
  start_target "$out" "$alloc" "$touch"
  pid=$target_pid
  sf="$wd/sf.$pid"
  run_cpr "checkpoint ($key MiB)" "$wd/cpr-c.err" -c "$sf" -p "$pid"
  r_dump_ms[$key]=$(min "${r_dump_ms[$key]:-}" "$wall_ms")
  r_dump_pages_ms[$key]=$(min "${r_dump_pages_ms[$key]:-}" "$(field "$timing" pages_ms)")
  r_frozen_kill[$key]=$(min "${r_frozen_kill[$key]:-}" "$(field "$timing" frozen_ms)")
  r_pages_bytes[$key]=$(field "$timing" pages_bytes)
  wait_gone "$pid" 10 || die "checkpoint ($key MiB): target $pid still running 10s after 'cpr -c' (expected it killed)"
  wait "$launcher_pid" # its launcher has reaped it: the PID is free for the restart
  [[ $(result_of "$out") == "" ]] || die "checkpoint ($key MiB): target $pid finished on its own: $(result_of "$out")"

  img="$sf/pages/$pid.img"
  [[ -f $img ]] || die "checkpoint ($key MiB): no pages file $img in the statefile"
  r_img_bytes[$key]=$(stat -c %s "$img")
  r_sf_bytes[$key]=$(du -sb "$sf" | cut -f1)
  r_sf_disk[$key]=$(( $(du -sk "$sf" | cut -f1) * 1024 ))
  [[ -n ${r_pages_bytes[$key]} ]] || r_pages_bytes[$key]=${r_img_bytes[$key]}

  # 2. restart, same PID, then let it check its memory
  run_cpr "restart ($key MiB)" "$wd/cpr-r.err" -r "$sf"
  r_restore_ms[$key]=$(min "${r_restore_ms[$key]:-}" "$wall_ms")
  r_restore_pages_ms[$key]=$(min "${r_restore_pages_ms[$key]:-}" "$(field "$timing" pages_ms)")
  st=$(proc_state "$pid")
  [[ -n $st ]] || die "restart ($key MiB): no process with PID $pid after 'cpr -r'"
  [[ $st == [SRD] ]] || die "restart ($key MiB): restarted PID $pid is in state '$st', expected running or sleeping"
  is_our_target "$pid" || note "warning: restart ($key MiB): PID $pid runs, but its cmdline/comm/exe do not name touch_mem"
  kill -USR1 "$pid" || die "restart ($key MiB): cannot signal restarted PID $pid"
  wait_gone "$pid" 120 || die "restart ($key MiB): restarted PID $pid did not exit within 120s of SIGUSR1"
  verdict=$(result_of "$out")
  [[ $verdict == ok ]] || die "restart ($key MiB): memory check after restart: ${verdict:-no verdict (target died without reporting; stderr: $(tail -n 3 "$out.err"))}"
  run_cpr "delete ($key MiB)" "$wd/cpr-d.err" -D "$sf"
  [[ ! -e $sf ]] || die "delete ($key MiB): 'cpr -D $sf' left it in place"

  # 3. checkpoint with -g: the target keeps running, untouched
  out="$wd/target-g.$alloc.$touch.out"
  start_target "$out" "$alloc" "$touch"
  pid=$target_pid
  sf="$wd/sf.g.$pid"
  run_cpr "checkpoint -g ($key MiB)" "$wd/cpr-g.err" -c "$sf" -p "$pid" -g
  r_frozen_g[$key]=$(min "${r_frozen_g[$key]:-}" "$(field "$timing" frozen_ms)")
  st=$(proc_state "$pid")
  [[ $st == [SRD] ]] || die "checkpoint -g ($key MiB): target $pid is in state '${st:-gone}' afterwards, expected running"
  kill -USR1 "$pid"
  wait_gone "$pid" 120 || die "checkpoint -g ($key MiB): target $pid did not exit within 120s of SIGUSR1"
  wait "$launcher_pid"
  st=$(cat "$out.status" 2>/dev/null)
  verdict=$(result_of "$out")
  [[ $st == 0 && $verdict == ok ]] || die "checkpoint -g ($key MiB): target exited ${st:-?} after the checkpoint: ${verdict:-no verdict}"
  run_cpr "delete ($key MiB)" "$wd/cpr-d.err" -D "$sf"
}

# ---------------------------------------------------------------- machine
fs_type=$(findmnt -no FSTYPE -T "$work_parent" 2>/dev/null || stat -f -c %T "$work_parent")
thp=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)
echo "cpr benchmark  $(date -u '+%Y-%m-%d %H:%M:%SZ')"
echo "  machine : $(machine_summary), THP ${thp:-?}"
echo "  cpr     : $([[ $limits_only == 1 ]] && echo "(not used: BENCH_LIMITS_ONLY=1)" || echo "$cpr")"
echo "  work dir: $wd ($fs_type)"
echo "  reps    : $reps (best kept)"
echo

# ---------------------------------------------------------------- limits
sizes=(64 256 1024)
echo "measuring machine limits..."
mc=$("$memcpy_speed") || die "memcpy_speed failed"
memcpy_GBps=$(sed -n 's/^memcpy_GBps=//p' <<<"$mc")
ft_GBps=$(sed -n 's/^first_touch_memcpy_GBps=//p' <<<"$mc")
[[ -n $memcpy_GBps && -n $ft_GBps ]] || die "memcpy_speed printed no figures: $mc"
declare -A raw_MBps
for s in "${sizes[@]}"; do
  n=5 # more tries for the small sizes, where one slow sync skews the figure most
  (( s >= 256 )) && n=3
  (( s >= 1024 )) && n=2
  w=$("$write_speed" "$wd" "$s" "$n") || die "write_speed $s MiB in $wd failed"
  raw_MBps[$s]=$(sed -n 's/^write_MBps=//p' <<<"$w")
  [[ -n ${raw_MBps[$s]} ]] || die "write_speed printed no figure: $w"
done

declare -A fork_ms
for s in 64 1024; do
  f=$("$fork_cost" "$s") || die "fork_cost $s MiB failed"
  fork_ms[$s]=$(sed -n 's/^fork_ms=//p' <<<"$f")
  [[ -n ${fork_ms[$s]} ]] || die "fork_cost printed no figure: $f"
done

echo
echo "Machine limits (this run)"
printf "  raw durable write to %s (write+fdatasync, best of 5/3/2):\n" "$fs_type"
for s in "${sizes[@]}"; do printf "    %5d MiB  %8.0f MB/s\n" "$s" "${raw_MBps[$s]}"; done
printf "  memcpy, pre-touched 256 MiB, 1 thread : %8.0f MB/s\n" "$(calc "$memcpy_GBps * 1000")"
printf "  memcpy into fresh memory (first touch): %8.0f MB/s\n" "$(calc "$ft_GBps * 1000")"
printf "  fork of a process with 64 / 1024 MiB touched (page tables copied): %s / %s ms\n" \
  "${fork_ms[64]}" "${fork_ms[1024]}"

if [[ $limits_only == 1 ]]; then
  echo
  echo "BENCH_LIMITS_ONLY=1: cpr not run."
  exit 0
fi

# ---------------------------------------------------------------- cpr cases
cases=("64/64" "256/256" "1024/1024" "1024/64")
echo
for ((rep = 1; rep <= reps; rep++)); do
  for c in "${cases[@]}"; do
    echo "running: ${c%/*} MiB allocated, ${c#*/} MiB touched (rep $rep/$reps)..."
    run_case "${c%/*}" "${c#*/}"
  done
done

# ---------------------------------------------------------------- report
# MB = 1e6 bytes.  Dump and restore rates are pages_bytes over the wall time
# of the whole cpr command (what a user waits for).
rate() { awk -v b="$1" -v ms="$2" 'BEGIN { if (ms > 0 && b != "") printf "%.0f", b / 1e6 / (ms / 1000); else printf "n/a" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else printf "n/a" }'; }

echo
echo "Results (MB = 1e6 bytes; rates = pages bytes / wall time of the cpr command)"
hdr="%-11s %8s | %8s %8s %6s | %8s %8s %7s %7s | %9s | %10s %10s\n"
printf "$hdr" "alloc/touch" "pages" "dump" "dump" "/raw" "restore" "restore" "/memcpy" "/1sttch" "frozen-g" "statefile" "pages.img"
printf "$hdr" "MiB" "MiB" "ms" "MB/s" "write" "ms" "MB/s" "" "" "ms" "MiB" "MiB"
declare -A dump_ratio
for c in "${cases[@]}"; do
  t=${c#*/}
  b=${r_pages_bytes[$c]}
  d_rate=$(rate "$b" "${r_dump_ms[$c]}")
  r_rate=$(rate "$b" "${r_restore_ms[$c]}")
  dump_ratio[$c]=$(ratio "$d_rate" "${raw_MBps[$t]}")
  printf "$hdr" "$c" "$(mib "$b")" "${r_dump_ms[$c]}" "$d_rate" "${dump_ratio[$c]}" \
    "${r_restore_ms[$c]}" "$r_rate" "$(ratio "$r_rate" "$(calc "$memcpy_GBps * 1000")")" \
    "$(ratio "$r_rate" "$(calc "$ft_GBps * 1000")")" "$(or_na "${r_frozen_g[$c]}")" \
    "$(mib "${r_sf_bytes[$c]}")" "$(mib "${r_img_bytes[$c]}")"
done
echo
echo "cpr's own timing lines (CPR_TIMING=1)"
hdr2="%-11s | %10s %12s %10s | %12s %12s\n"
printf "$hdr2" "alloc/touch" "frozen ms" "pages ms" "pages MB/s" "pages ms" "pages MB/s"
printf "$hdr2" "" "(-c, kill)" "(checkpoint)" "" "(restart)" ""
for c in "${cases[@]}"; do
  b=${r_pages_bytes[$c]}
  printf "$hdr2" "$c" "$(or_na "${r_frozen_kill[$c]}")" "$(or_na "${r_dump_pages_ms[$c]}")" \
    "$(rate "$b" "${r_dump_pages_ms[$c]}")" "$(or_na "${r_restore_pages_ms[$c]}")" \
    "$(rate "$b" "${r_restore_pages_ms[$c]}")"
done
echo
echo "statefile on disk: $(for c in "${cases[@]}"; do printf "%s: %s MiB  " "$c" "$(mib "${r_sf_disk[$c]}")"; done)"

# ---------------------------------------------------------------- aims
echo
echo "Aims"
for c in "64/64" "256/256" "1024/1024"; do
  r=${dump_ratio[$c]}
  aim "dump >= 60% of raw write speed, ${c#*/} MiB: $r" "$(awk -v r="$r" 'BEGIN { print (r ~ /^[0-9.]+$/ && r >= 0.60) ? 1 : 0 }')"
done
r=${dump_ratio["1024/1024"]}
aim "dump >= 80% of raw write speed at 1024 MiB (issue 19): $r" "$(awk -v r="$r" 'BEGIN { print (r ~ /^[0-9.]+$/ && r >= 0.80) ? 1 : 0 }')"
for c in "64/64" "1024/1024"; do
  f=${r_frozen_g[$c]:-}
  aim "frozen <= 30 ms for a ${c#*/} MiB -g checkpoint: $(or_na "$f") ms ($(ratio "$f" "${fork_ms[${c#*/}]}") x a fork of it)" \
    "$(awk -v f="$f" 'BEGIN { print (f != "" && f <= 30) ? 1 : 0 }')"
done
img=${r_img_bytes["1024/64"]}
aim "untouched memory costs nothing: 1024 MiB allocated, 64 MiB touched -> pages.img $(mib "$img") MiB (<= 68 MiB)" \
  "$(awk -v b="$img" 'BEGIN { print (b <= 68 * 1048576) ? 1 : 0 }')"

end_with_aims
