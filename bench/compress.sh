#!/usr/bin/env bash
# shellcheck disable=SC2059  # printf formats in variables
# cpr benchmark for compression (cpr -c --compress): the statefile's size
# and the checkpoint's speed on memory that is text, against the same
# checkpoint uncompressed and against zstd's own speed on this machine,
# measured in the same run.
#
#   bench/compress.sh [build_dir] [work_dir]
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
#   BENCH_MIB=n         MiB of text in the target (default 1024)
#   BENCH_STRICT=1      exit 1 when an aim is missed (default: report only)
#
# Exit status: 0 if every step worked, 1 on any failure, with a message
# saying which step failed. See bench/README.md for what the figures mean.
set -uo pipefail

bench_name=compress.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

bench_args "$@"
target=$build/bench/touch_mem
zstd_speed=$build/bench/zstd_speed
need_helpers "$target" "$zstd_speed" "$reaper"
need_cpr PID
run_under_reaper

ready_timeout=300 # s, for touch_mem to fill its memory
mib_text=${BENCH_MIB:-1024}
make_workdir cpr-compress

# one_case name [cpr -c options...]: checkpoint (kill) a target with text
# memory, restart it, check its memory. Keeps the best figures in r_*.
declare -A r_dump_ms r_pages_ms r_restore_ms r_stored
pages_bytes=
one_case() {
  local name=$1 out sf pid verdict
  shift
  out="$wd/target.$name.out"
  start_target "$out" "$mib_text" "$mib_text" text
  pid=$target_pid
  sf="$wd/sf.$name"
  run_cpr "checkpoint ($name)" "$wd/cpr-c.err" -c "$sf" -p "$pid" "$@"
  r_dump_ms[$name]=$(min "${r_dump_ms[$name]:-}" "$wall_ms")
  r_pages_ms[$name]=$(min "${r_pages_ms[$name]:-}" "$(field "$timing" pages_ms)")
  pages_bytes=$(field "$timing" pages_bytes)
  r_stored[$name]=$(du -sb "$sf/pages" | cut -f1)
  wait_gone "$pid" 10 || die "checkpoint ($name): target $pid still running"
  wait "$launcher_pid"
  [[ $name != plain ]] || cp "$sf/pages/$pid.img" "$wd/text.img"
  run_cpr "restart ($name)" "$wd/cpr-r.err" -r "$sf"
  r_restore_ms[$name]=$(min "${r_restore_ms[$name]:-}" "$wall_ms")
  kill -USR1 "$pid" || die "restart ($name): cannot signal restarted PID $pid"
  wait_gone "$pid" 120 || die "restart ($name): PID $pid did not exit after SIGUSR1"
  verdict=$(result_of "$out")
  [[ $verdict == ok ]] || die "restart ($name): memory check after restart: ${verdict:-no verdict}"
  run_cpr "delete ($name)" "$wd/cpr-d.err" -D "$sf"
}

echo "cpr compression benchmark  $(date -u '+%Y-%m-%d %H:%M:%SZ')"
echo "  machine : $(machine_summary)"
echo "  cpr     : $cpr"
echo "  target  : touch_mem, $mib_text MiB of words of text"
echo
for ((rep = 1; rep <= reps; rep++)); do
  echo "running: uncompressed, then --compress (rep $rep/$reps)..."
  one_case plain
  one_case zstd --compress
done

echo "measuring zstd's own speed on the same memory..."
z=$("$zstd_speed" "$wd/text.img" 1) || die "zstd_speed failed"
zstd_MBps=$(sed -n 's/^zstd_MBps=//p' <<<"$z")
zstd_ratio=$(sed -n 's/^ratio=//p' <<<"$z")
rm -f "$wd/text.img"

rate() { awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.0f", b / 1e6 / (ms / 1000) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo
echo "Machine limit (this run): zstd level 1, every core, one frame per core"
echo "  of each 8 MiB: $zstd_MBps MB/s, to $zstd_ratio of the size"
echo
echo "Results (MB = 1e6 bytes; rates = memory bytes / wall time of cpr)"
hdr="%-13s | %9s %9s %9s | %8s %9s | %9s\n"
printf "$hdr" "" "dump ms" "dump MB/s" "pages ms" "stored" "of memory" "restore"
printf "$hdr" "" "" "" "(cpr)" "MiB" "" "ms"
for name in plain zstd; do
  printf "$hdr" "$([[ $name == plain ]] && echo uncompressed || echo --compress)" \
    "${r_dump_ms[$name]}" "$(rate "$pages_bytes" "${r_dump_ms[$name]}")" \
    "${r_pages_ms[$name]}" "$(mib "${r_stored[$name]}")" \
    "$(ratio "${r_stored[$name]}" "$pages_bytes")" "${r_restore_ms[$name]}"
done

size_ratio=$(ratio "${r_stored[zstd]}" "$pages_bytes")
speed_ratio=$(ratio "${r_dump_ms[plain]}" "${r_dump_ms[zstd]}")
zstd_rate=$(rate "$pages_bytes" "${r_pages_ms[zstd]}")
echo
echo "Aims"
aim "statefile <= 0.5 x memory on text: $size_ratio" \
  "$(awk -v r="$size_ratio" 'BEGIN { print (r <= 0.5) ? 1 : 0 }')"
aim "checkpoint at >= 70% of the uncompressed speed: $speed_ratio (pages at $zstd_rate MB/s, $(ratio "$zstd_rate" "$zstd_MBps") x zstd's own speed)" \
  "$(awk -v r="$speed_ratio" 'BEGIN { print (r >= 0.7) ? 1 : 0 }')"
end_with_aims
