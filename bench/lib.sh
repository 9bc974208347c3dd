# shellcheck shell=bash
# shellcheck disable=SC2034  # sets variables for the script that sources it
# What the bench drivers (run.sh, sets.sh, pipes.sh, events.sh) share. It is
# sourced, not run:
#
#   bench_name=run.sh   # the script's file name: messages, the re-exec
#   here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#   source "$here/lib.sh"
#
# Sourcing only defines functions and defaults; the script then calls what it
# needs, in this order:
#
#   bench_args "$@"            build, work_parent, cpr, reaper, reps
#   need_helpers prog...       each must be built
#   need_cpr PIDs              cpr must be there; warn when not root
#   run_under_reaper           re-exec the script under bench_reaper
#   make_workdir cpr-xxx       wd, and the cleanup trap
#
# and sets, before it starts targets:
#
#   target         the target program (full path): start_target runs it,
#                  is_our_target and cleanup recognise it
#   ready_timeout  s, how long start_target waits for it to print "ready"

: "${bench_name:?set bench_name before sourcing lib.sh}" "${here:?set here before sourcing lib.sh}"

cpr_timeout=600   # s, per cpr invocation
ready_timeout=300 # s, for the target to get ready (the script may change it)
target=""         # the target program, set by the script
pids=()           # every target PID we started or restarted
launchers=()      # the subshells that started them

die() {
  echo "$bench_name: error: $*" >&2
  exit 1
}
note() { echo "$bench_name: $*" >&2; }

# ---------------------------------------------------------------- prologue
bench_args() { # [build_dir] [work_dir] -> sets build, work_parent, cpr, reaper, reps
  build=${1:-$(dirname "$here")/build}
  work_parent=${2:-/var/tmp}
  [[ -d $build ]] || die "build directory '$build' not found (configure and build first: cmake -S . -B build && cmake --build build)"
  build=$(cd "$build" && pwd)
  [[ -d $work_parent ]] || die "work directory '$work_parent' not found"
  work_parent=$(cd "$work_parent" && pwd)

  cpr=${CPR_BIN:-$build/cli/cpr}
  reaper=$build/bench/bench_reaper
  reps=${BENCH_REPS:-1}
  [[ $reps =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a positive integer, got '$reps'"
}

need_helpers() { # program...: each must be built
  local helper
  for helper in "$@"; do
    [[ -x $helper ]] || die "benchmark helper '$helper' not built (cmake --build '$build')"
  done
}

need_cpr() { # PID|PIDs: cpr must be executable; warn when not root
  [[ -x $cpr ]] || die "cpr binary '$cpr' not found or not executable (build it, or set CPR_BIN)"
  [[ $(id -u) -eq 0 ]] || note "warning: not root; restarting with the same $1 usually needs root"
}

# Run the whole bench as a child subreaper: processes restarted by `cpr -r`
# (and children orphaned when cpr kills a tree) are reparented to
# bench_reaper, which reaps them, rather than to init.
run_under_reaper() {
  if [[ ${CPR_BENCH_UNDER_REAPER:-} != 1 ]]; then
    export CPR_BENCH_UNDER_REAPER=1
    exec "$reaper" "$BASH" "$here/$bench_name" "$build" "$work_parent"
  fi
}

# ---------------------------------------------------------------- cleanup
make_workdir() { # prefix: a private directory in work_parent, removed on exit
  wd=$(mktemp -d "$work_parent/$1.XXXXXX") || die "cannot create a directory in '$work_parent'"
  trap cleanup EXIT
  trap 'note "interrupted"; exit 130' INT TERM
}

is_our_target() { # pid: a live $target (guards against PID reuse)?
  # Any of cmdline, comm or exe will do: a restarted process may not have all
  # three restored exactly.
  local cmd comm exe
  cmd=$({ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null)
  comm=$(cat "/proc/$1/comm" 2>/dev/null)
  exe=$(readlink "/proc/$1/exe" 2>/dev/null)
  [[ $cmd == "$target "* || $comm == "${target##*/}" || $exe == "$target" ]]
}

cleanup() { # run by the EXIT trap: kill our targets, delete statefiles and wd
  local rc=$? pid sf
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do
    if is_our_target "$pid"; then kill -KILL "$pid" 2>/dev/null; fi
  done
  for pid in "${launchers[@]}"; do wait "$pid" 2>/dev/null; done
  if [[ -d $wd ]]; then
    if [[ -x $cpr ]]; then
      for sf in "$wd"/sf.*; do [[ -e $sf ]] && timeout --foreground 60 "$cpr" -D "$sf" >/dev/null 2>&1; done
    fi
    rm -rf -- "$wd"
  fi
  exit "$rc"
}

# ---------------------------------------------------------------- helpers
machine_summary() { # -> "Linux 6.1, 2 cpus, 7.7 GiB"
  echo "$(uname -sr), $(nproc) cpus, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
}
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
  deadline=$(( ${EPOCHREALTIME%.*} + $2 ))
  while :; do
    st=$(proc_state "$pid")
    [[ -z $st || $st == Z || $st == X ]] && return 0
    (( ${EPOCHREALTIME%.*} >= deadline )) && return 1
    sleep 0.02
  done
}
wait_reaped() { # pid timeout_s: until the PID is free again (not even a zombie)
  local deadline=$(( ${EPOCHREALTIME%.*} + $2 ))
  while [[ -e /proc/$1 ]]; do
    (( ${EPOCHREALTIME%.*} >= deadline )) && return 1
    sleep 0.01
  done
}
children_of() { # pid -> its children's PIDs, one a line, sorted
  cat /proc/"$1"/task/*/children 2>/dev/null | tr -s ' ' '\n' | sed '/^$/d' | sort -n
}
start_target() { # out args... -> runs "$target" args, sets target_pid and launcher_pid, waits for "ready"
  local out=$1 what deadline
  shift
  what="${target##*/} $*"
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
    "$target" "$@" </dev/null >"$out" 2>"$out.err" &
    echo $! >"$out.pid"
    wait $!
    echo $? >"$out.status"
  ) 2>/dev/null &
  launcher_pid=$!
  launchers+=("$launcher_pid")
  deadline=$(( ${EPOCHREALTIME%.*} + ready_timeout ))
  until [[ -s $out.pid ]]; do
    (( ${EPOCHREALTIME%.*} < deadline )) || die "$what did not start"
    sleep 0.01
  done
  target_pid=$(<"$out.pid")
  pids+=("$target_pid")
  until grep -qx ready "$out" 2>/dev/null; do
    if ! kill -0 "$target_pid" 2>/dev/null || [[ $(proc_state "$target_pid") == Z ]]; then
      die "$what exited before it was ready: $(tail -n 3 "$out.err")"
    fi
    (( ${EPOCHREALTIME%.*} < deadline )) || die "$what not ready after ${ready_timeout}s"
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
result_of() { # outfile -> the target's last verdict line (ok or corrupt ...)
  grep -E '^(ok|corrupt)' "$1" | tail -n 1
}
min() { # a b -> smaller, "" counts as missing
  if [[ -z $1 ]]; then echo "$2"; elif [[ -z $2 ]]; then echo "$1"; else
    awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 < b + 0) ? a : b }'
  fi
}
mib() { # bytes [decimals, default 1] -> MiB, "n/a" if bytes is empty
  awk -v b="$1" -v d="${2:-1}" 'BEGIN { if (b != "") printf "%." d "f", b / 1048576; else printf "n/a" }'
}
or_na() { awk -v v="$1" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.1f", v; else printf "n/a" }'; }

# ---------------------------------------------------------------- aims
missed=0
aim() { # description ok(0/1)
  if [[ $2 == 1 ]]; then printf "  [met]    %s\n" "$1"; else printf "  [MISSED] %s\n" "$1"; missed=$((missed + 1)); fi
}
end_with_aims() { # the last lines of the report; exit 1 if BENCH_STRICT=1 and an aim was missed
  echo
  if (( missed > 0 )); then
    echo "all steps succeeded; $missed aim(s) missed"
    [[ ${BENCH_STRICT:-0} == 1 ]] && exit 1
  else
    echo "all steps succeeded; all aims met"
  fi
  exit 0
}
