#!/usr/bin/env bash
# shellcheck disable=SC2059,SC2317  # printf formats in variables; cleanup is run by trap
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

die() {
  echo "pipes.sh: error: $*" >&2
  exit 1
}
note() { echo "pipes.sh: $*" >&2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}
work_parent=${2:-/var/tmp}
[[ -d $build ]] || die "build directory '$build' not found (configure and build first: cmake -S . -B build && cmake --build build)"
build=$(cd "$build" && pwd)
[[ -d $work_parent ]] || die "work directory '$work_parent' not found"
work_parent=$(cd "$work_parent" && pwd)

cpr=${CPR_BIN:-$build/cli/cpr}
chain=$build/bench/pipe_chain
reaper=$build/bench/bench_reaper
reps=${BENCH_REPS:-1}
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a positive integer, got '$reps'"

for helper in "$chain" "$reaper"; do
  [[ -x $helper ]] || die "benchmark helper '$helper' not built (cmake --build '$build')"
done
[[ -x $cpr ]] || die "cpr binary '$cpr' not found or not executable (build it, or set CPR_BIN)"
[[ $(id -u) -eq 0 ]] || note "warning: not root; restarting with the same PIDs usually needs root"
max_pipe=$(cat /proc/sys/fs/pipe-max-size 2>/dev/null || echo 0)
((max_pipe >= 1048576)) || [[ $(id -u) -eq 0 ]] ||
  die "fs.pipe-max-size is $max_pipe: 1 MiB pipes need it >= 1048576 (or root)"

# Run the whole bench as a child subreaper: processes restarted by `cpr -r`
# (and children orphaned when cpr kills the chain) are reparented to
# bench_reaper, which reaps them, rather than to init.
if [[ ${CPR_BENCH_UNDER_REAPER:-} != 1 ]]; then
  export CPR_BENCH_UNDER_REAPER=1
  exec "$reaper" "$BASH" "$here/pipes.sh" "$build" "$work_parent"
fi

cpr_timeout=600  # s, per cpr invocation
ready_timeout=60 # s, for pipe_chain to fill its pipes

# ---------------------------------------------------------------- cleanup
wd=$(mktemp -d "$work_parent/cpr-pipes.XXXXXX") || die "cannot create a directory in '$work_parent'"
pids=()      # every target PID we started or restarted
launchers=() # the subshells that started the roots

is_our_target() { # pid: a live pipe_chain (guards against PID reuse)?
  local cmd comm exe
  cmd=$({ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null)
  comm=$(cat "/proc/$1/comm" 2>/dev/null)
  exe=$(readlink "/proc/$1/exe" 2>/dev/null)
  [[ $cmd == "$chain "* || $comm == pipe_chain || $exe == "$chain" ]]
}

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do
    if is_our_target "$pid"; then kill -KILL "$pid" 2>/dev/null; fi
  done
  for pid in "${launchers[@]}"; do wait "$pid" 2>/dev/null; done
  if [[ -d $wd ]]; then
    local sf
    for sf in "$wd"/sf.*; do [[ -e $sf ]] && timeout --foreground 60 "$cpr" -D "$sf" >/dev/null 2>&1; done
    rm -rf -- "$wd"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- helpers
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
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
  deadline=$((${EPOCHREALTIME%.*} + $2))
  while :; do
    st=$(proc_state "$pid")
    [[ -z $st || $st == Z || $st == X ]] && return 0
    ((${EPOCHREALTIME%.*} >= deadline)) && return 1
    sleep 0.02
  done
}
wait_reaped() { # pid timeout_s: until the PID is free again (not even a zombie)
  local deadline=$((${EPOCHREALTIME%.*} + $2))
  while [[ -e /proc/$1 ]]; do
    ((${EPOCHREALTIME%.*} >= deadline)) && return 1
    sleep 0.01
  done
}
children_of() { # pid -> its children's PIDs, one a line, sorted
  cat /proc/"$1"/task/*/children 2>/dev/null | tr -s ' ' '\n' | sed '/^$/d' | sort -n
}
start_target() { # processes kib out -> sets target_pid and launcher_pid, waits for "ready"
  local np=$1 kib=$2 out=$3 deadline
  rm -f "$out.pid" "$out.status"
  (
    # cpr only takes fds it knows: close whatever else this shell inherited.
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      if ((fd > 2)); then { exec {fd}>&-; } 2>/dev/null; fi
    done
    "$chain" "$np" "$kib" </dev/null >"$out" 2>"$out.err" &
    echo $! >"$out.pid"
    wait $!
    echo $? >"$out.status"
  ) 2>/dev/null &
  launcher_pid=$!
  launchers+=("$launcher_pid")
  deadline=$((${EPOCHREALTIME%.*} + ready_timeout))
  until [[ -s $out.pid ]]; do
    ((${EPOCHREALTIME%.*} < deadline)) || die "pipe_chain $np $kib did not start"
    sleep 0.01
  done
  target_pid=$(<"$out.pid")
  pids+=("$target_pid")
  until grep -qx ready "$out" 2>/dev/null; do
    if ! kill -0 "$target_pid" 2>/dev/null || [[ $(proc_state "$target_pid") == Z ]]; then
      die "pipe_chain $np $kib exited before it was ready: $(tail -n 3 "$out.err")"
    fi
    ((${EPOCHREALTIME%.*} < deadline)) || die "pipe_chain $np $kib not ready after ${ready_timeout}s"
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
  if ((rc != 0)); then
    ((rc == 124)) && die "$what: cpr $* timed out after ${cpr_timeout}s"
    die "$what: cpr $* failed (exit $rc): $(tail -n 5 "$err")"
  fi
  wall_ms=$(ms_between "$t0" "$t1")
  timing=$(grep -m1 "^cpr: timing: " "$err" || true)
}
pipe_bytes() { # statefile -> bytes in its pipes, as `cpr -i` lists them
  "$cpr" -i "$1" </dev/null 2>/dev/null |
    sed -n 's/.*pipes\.pipe .*(\([0-9]*\) bytes in it.*/\1/p' |
    awk '{ s += $1 } END { print s + 0 }'
}
result_of() { # outfile -> last verdict line of pipe_chain
  grep -E '^(ok|corrupt)' "$1" | tail -n 1
}
min() { # a b -> smaller, "" counts as missing
  if [[ -z $1 ]]; then echo "$2"; elif [[ -z $2 ]]; then echo "$1"; else
    awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 < b + 0) ? a : b }'
  fi
}
mib() { awk -v b="$1" 'BEGIN { if (b != "") printf "%.2f", b / 1048576; else printf "n/a" }'; }
or_na() { awk -v v="$1" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.1f", v; else printf "n/a" }'; }

# ---------------------------------------------------------------- one case
# run_case processes kib: checkpoint the chain (killed), reap it, restart it,
# check every PID is back, let every reader check its pipe.
declare -A r_ckpt_ms r_frozen r_restart_ms r_carried r_sf_bytes
run_case() {
  local np=$1 kib=$2 key="$1/$2" label out sf pid verdict expected
  local -a members children after
  label="$np processes, $kib KiB pipes"

  out="$wd/chain.$np.$kib.out"
  start_target "$np" "$kib" "$out"
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
echo "  machine : $(uname -sr), $(nproc) cpus, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
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
  printf "$hdr" "$c" "${c%/*}" "${c#*/}" "$(mib "${r_carried[$c]}")" "${r_ckpt_ms[$c]}" \
    "$(or_na "${r_frozen[$c]}")" "${r_restart_ms[$c]}" "$(mib "${r_sf_bytes[$c]}")"
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
