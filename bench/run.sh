#!/usr/bin/env bash
# shellcheck disable=SC2059,SC2317  # printf formats in variables; cleanup is run by trap
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

die() {
  echo "run.sh: error: $*" >&2
  exit 1
}
note() { echo "run.sh: $*" >&2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}
work_parent=${2:-/var/tmp}
[[ -d $build ]] || die "build directory '$build' not found (configure and build first: cmake -S . -B build && cmake --build build)"
build=$(cd "$build" && pwd)
[[ -d $work_parent ]] || die "work directory '$work_parent' not found"
work_parent=$(cd "$work_parent" && pwd)

cpr=${CPR_BIN:-$build/cli/cpr}
touch_mem=$build/bench/touch_mem
memcpy_speed=$build/bench/memcpy_speed
write_speed=$build/bench/write_speed
reaper=$build/bench/bench_reaper
reps=${BENCH_REPS:-1}
limits_only=${BENCH_LIMITS_ONLY:-0}
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a positive integer, got '$reps'"

for helper in "$touch_mem" "$memcpy_speed" "$write_speed" "$reaper"; do
  [[ -x $helper ]] || die "benchmark helper '$helper' not built (cmake --build '$build')"
done
if [[ $limits_only != 1 ]]; then
  [[ -x $cpr ]] || die "cpr binary '$cpr' not found or not executable (build it, or set CPR_BIN)"
  [[ $(id -u) -eq 0 ]] || note "warning: not root; restarting with the same PID usually needs root"
fi

# Run the whole bench as a child subreaper: processes restarted by `cpr -r`
# are reparented to bench_reaper (which reaps them) rather than to init.
if [[ ${CPR_BENCH_UNDER_REAPER:-} != 1 ]]; then
  export CPR_BENCH_UNDER_REAPER=1
  exec "$reaper" "$BASH" "$here/run.sh" "$build" "$work_parent"
fi

cpr_timeout=600   # s, per cpr invocation
ready_timeout=300 # s, for touch_mem to fill its memory

# ---------------------------------------------------------------- cleanup
wd=$(mktemp -d "$work_parent/cpr-bench.XXXXXX") || die "cannot create a directory in '$work_parent'"
pids=()      # every target PID we started or restarted
launchers=() # the subshells that started them

is_our_target() { # pid: a live touch_mem (guards against PID reuse)?
  # Any of cmdline, comm or exe will do: a restarted process may not have all
  # three restored exactly.
  local cmd comm exe
  cmd=$({ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null)
  comm=$(cat "/proc/$1/comm" 2>/dev/null)
  exe=$(readlink "/proc/$1/exe" 2>/dev/null)
  [[ $cmd == "$touch_mem "* || $comm == touch_mem || $exe == "$touch_mem" ]]
}

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do
    if is_our_target "$pid"; then kill -KILL "$pid" 2>/dev/null; fi
  done
  for pid in "${launchers[@]}"; do wait "$pid" 2>/dev/null; done
  if [[ -d $wd ]]; then
    if [[ $limits_only != 1 && -x $cpr ]]; then
      local sf
      for sf in "$wd"/sf.*; do [[ -e $sf ]] && timeout --foreground 60 "$cpr" -D "$sf" >/dev/null 2>&1; done
    fi
    rm -rf -- "$wd"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- helpers
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
calc() { awk "BEGIN { print $1 }"; } # calc 'awk expression' -> its value
field() { # field "timing line" key -> value, empty if absent
  sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"
}
proc_state() { # pid -> single-letter state, empty if gone
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  s=${s##*) }
  echo "${s%% *}"
}
wait_gone() { # pid timeout_s: until the process has exited (gone or zombie)
  local pid=$1 deadline st
  deadline=$(awk -v t="$EPOCHREALTIME" -v d="$2" 'BEGIN { printf "%d", t + d }')
  while :; do
    st=$(proc_state "$pid")
    [[ -z $st || $st == Z || $st == X ]] && return 0
    (( ${EPOCHREALTIME%.*} >= deadline )) && return 1
    sleep 0.02
  done
}
start_target() { # alloc touch out -> sets target_pid and launcher_pid, waits for "ready"
  local alloc=$1 touch=$2 out=$3 deadline
  # A subshell starts the target and records its exit status in $out.status;
  # its stderr goes nowhere, which keeps bash's "Killed" job notices out of
  # the report.  The target's own stdout/stderr go to $out and $out.err.
  rm -f "$out.pid" "$out.status"
  (
    # cpr only takes targets whose fds are regular files or /dev/null: close
    # whatever else this shell inherited (from a terminal, an IDE, a CI runner).
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      if (( fd > 2 )); then { exec {fd}>&-; } 2>/dev/null; fi
    done
    "$touch_mem" "$alloc" "$touch" </dev/null >"$out" 2>"$out.err" &
    echo $! >"$out.pid"
    wait $!
    echo $? >"$out.status"
  ) 2>/dev/null &
  launcher_pid=$!
  launchers+=("$launcher_pid")
  deadline=$(( ${EPOCHREALTIME%.*} + ready_timeout ))
  until [[ -s $out.pid ]]; do
    (( ${EPOCHREALTIME%.*} < deadline )) || die "touch_mem $alloc $touch did not start"
    sleep 0.01
  done
  target_pid=$(<"$out.pid")
  pids+=("$target_pid")
  until grep -qx ready "$out" 2>/dev/null; do
    if ! kill -0 "$target_pid" 2>/dev/null || [[ $(proc_state "$target_pid") == Z ]]; then
      die "touch_mem $alloc $touch exited before it was ready: $(cat "$out.err")"
    fi
    (( ${EPOCHREALTIME%.*} < deadline )) || die "touch_mem $alloc $touch not ready after ${ready_timeout}s"
    sleep 0.02
  done
}
run_cpr() { # what errfile args... -> runs CPR_TIMING=1 cpr args, sets wall_ms and timing
  local what=$1 err=$2 t0 t1 rc
  shift 2
  t0=$EPOCHREALTIME
  CPR_TIMING=1 timeout --foreground "$cpr_timeout" "$cpr" "$@" </dev/null >"$err.out" 2>"$err"
  rc=$?
  t1=$EPOCHREALTIME
  if (( rc != 0 )); then
    (( rc == 124 )) && die "$what: cpr $* timed out after ${cpr_timeout}s"
    die "$what: cpr $* failed (exit $rc): $(tail -n 5 "$err")"
  fi
  wall_ms=$(ms_between "$t0" "$t1")
  timing=$(grep -m1 "^cpr: timing: " "$err" || true)
  [[ -n $timing || $1 == -D ]] || note "warning: $what: cpr printed no 'cpr: timing:' line"
}
result_of() { # outfile -> last verdict line of touch_mem
  grep -E '^(ok|corrupt)' "$1" | tail -n 1
}
min() { # a b -> smaller, "" counts as missing
  if [[ -z $1 ]]; then echo "$2"; elif [[ -z $2 ]]; then echo "$1"; else
    awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 < b + 0) ? a : b }'
  fi
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# ---------------------------------------------------------------- one case
# run_case alloc touch: checkpoint (kill) + restart + verify, then a -g
# checkpoint of a fresh target.  Keeps the best figures in the r_* arrays.
declare -A r_dump_ms r_dump_pages_ms r_frozen_kill r_restore_ms r_restore_pages_ms \
  r_pages_bytes r_img_bytes r_sf_bytes r_sf_disk r_frozen_g
run_case() {
  local alloc=$1 touch=$2 key="$1/$2" out sf img pid st verdict

  # 1. checkpoint, target killed
  out="$wd/target.$alloc.$touch.out"
  start_target "$alloc" "$touch" "$out"
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
  start_target "$alloc" "$touch" "$out"
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
echo "  machine : $(uname -sr), $(nproc) cpus, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), THP ${thp:-?}"
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

echo
echo "Machine limits (this run)"
printf "  raw durable write to %s (write+fdatasync, best of 5/3/2):\n" "$fs_type"
for s in "${sizes[@]}"; do printf "    %5d MiB  %8.0f MB/s\n" "$s" "${raw_MBps[$s]}"; done
printf "  memcpy, pre-touched 256 MiB, 1 thread : %8.0f MB/s\n" "$(calc "$memcpy_GBps * 1000")"
printf "  memcpy into fresh memory (first touch): %8.0f MB/s\n" "$(calc "$ft_GBps * 1000")"

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
or_na() { awk -v v="$1" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.1f", v; else printf "n/a" }'; }

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
missed=0
aim() { # description ok(0/1)
  if [[ $2 == 1 ]]; then printf "  [met]    %s\n" "$1"; else printf "  [MISSED] %s\n" "$1"; missed=$((missed + 1)); fi
}
for c in "64/64" "256/256" "1024/1024"; do
  r=${dump_ratio[$c]}
  aim "dump >= 60% of raw write speed, ${c#*/} MiB: $r" "$(awk -v r="$r" 'BEGIN { print (r ~ /^[0-9.]+$/ && r >= 0.60) ? 1 : 0 }')"
done
f=${r_frozen_g["64/64"]:-}
aim "frozen < 50 ms for a 64 MiB -g checkpoint: $(or_na "$f") ms" "$(awk -v f="$f" 'BEGIN { print (f != "" && f < 50) ? 1 : 0 }')"
img=${r_img_bytes["1024/64"]}
aim "untouched memory costs nothing: 1024 MiB allocated, 64 MiB touched -> pages.img $(mib "$img") MiB (<= 68 MiB)" \
  "$(awk -v b="$img" 'BEGIN { print (b <= 68 * 1048576) ? 1 : 0 }')"

echo
if (( missed > 0 )); then
  echo "all steps succeeded; $missed aim(s) missed"
  [[ ${BENCH_STRICT:-0} == 1 ]] && exit 1
else
  echo "all steps succeeded; all aims met"
fi
exit 0
