#!/usr/bin/env bash
# shellcheck disable=SC2059  # printf formats in variables
# cpr benchmark for process sets and threads: how checkpoint and restart time
# grow with the number of processes in a tree and of threads in a process.
#
#   bench/sets.sh [build_dir] [work_dir]
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
#   BENCH_STRICT=1      exit 1 when an aim is missed (default: report only)
#
# Exit status: 0 if every step worked (aims are reported, not enforced unless
# BENCH_STRICT=1), 1 on any failure, with a message saying which step failed.
# See bench/README.md for what the figures mean.
set -uo pipefail

bench_name=sets.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

bench_args "$@"
target=$build/bench/tree_mem
need_helpers "$target" "$reaper"
need_cpr PIDs
run_under_reaper

ready_timeout=300 # s, for tree_mem to fork, fill its memory and start threads
mib_each=4        # MiB of touched memory per process
make_workdir cpr-sets

# ---------------------------------------------------------------- helpers
identity() { # pid... -> one line per process: "pid: tid tid ..." (its threads)
  local pid t tids
  for pid in "$@"; do
    tids=""
    for t in /proc/"$pid"/task/*; do
      [[ -e $t ]] && tids+=" ${t##*/}"
    done
    echo "$pid:$tids"
  done
}
nthreads() { # pid -> how many threads it has
  local tasks=(/proc/"$1"/task/*)
  [[ -e ${tasks[0]} ]] && echo "${#tasks[@]}" || echo 0
}

# ---------------------------------------------------------------- one case
# run_case processes threads: checkpoint the tree (killed), reap it, restart
# it, check every PID and TID is back, let every process check its memory.
# Keeps the best figures in the r_* arrays, keyed "processes/threads".
declare -A r_ckpt_ms r_ckpt_total r_ckpt_pages_ms r_frozen r_restart_ms r_restart_total \
  r_restart_pages_ms r_pages_bytes r_sf_bytes
run_case() {
  local np=$1 nt=$2 key="$1/$2" label out sf pid st verdict want_before want_after
  local -a members children after
  label="$np process(es) x $nt thread(s)"

  out="$wd/tree.$np.$nt.out"
  start_target "$out" "$np" "$mib_each" "$nt"
  local rootpid=$target_pid
  mapfile -t children < <(children_of "$rootpid")
  (( ${#children[@]} == np - 1 )) ||
    die "start ($label): root $rootpid has ${#children[@]} children, expected $((np - 1))"
  members=("$rootpid" "${children[@]}")
  pids+=("${children[@]}")
  want_before=$(identity "${members[@]}")
  for pid in "${members[@]}"; do
    st=$(nthreads "$pid")
    (( st == nt )) || die "start ($label): process $pid has $st threads, expected $nt"
  done

  # 1. checkpoint the tree; the processes are killed
  sf="$wd/sf.$np.$nt"
  run_cpr "checkpoint ($label)" "$wd/cpr-c.err" -c "$sf" -p "$rootpid:HID"
  r_ckpt_ms[$key]=$(min "${r_ckpt_ms[$key]:-}" "$wall_ms")
  r_ckpt_total[$key]=$(min "${r_ckpt_total[$key]:-}" "$(field "$timing" total_ms)")
  r_ckpt_pages_ms[$key]=$(min "${r_ckpt_pages_ms[$key]:-}" "$(field "$timing" pages_ms)")
  r_frozen[$key]=$(min "${r_frozen[$key]:-}" "$(field "$timing" frozen_ms)")
  r_pages_bytes[$key]=$(field "$timing" pages_bytes)
  for pid in "${members[@]}"; do
    wait_gone "$pid" 10 || die "checkpoint ($label): process $pid still running 10s after 'cpr -c' (expected it killed)"
  done
  wait "$launcher_pid" # the launcher reaps the root; bench_reaper reaps the orphaned children
  for pid in "${members[@]}"; do
    wait_reaped "$pid" 10 || die "checkpoint ($label): PID $pid still taken (state '$(proc_state "$pid")') 10s after it was killed"
  done
  [[ $(result_of "$out") == "" ]] || die "checkpoint ($label): root $rootpid finished on its own: $(result_of "$out")"

  # 2. restart: same PIDs, same TIDs, same tree
  run_cpr "restart ($label)" "$wd/cpr-r.err" -r "$sf"
  r_restart_ms[$key]=$(min "${r_restart_ms[$key]:-}" "$wall_ms")
  r_restart_total[$key]=$(min "${r_restart_total[$key]:-}" "$(field "$timing" total_ms)")
  r_restart_pages_ms[$key]=$(min "${r_restart_pages_ms[$key]:-}" "$(field "$timing" pages_ms)")
  st=$(proc_state "$rootpid")
  [[ -n $st ]] || die "restart ($label): no process with the root's PID $rootpid after 'cpr -r'"
  [[ $st == [SRD] ]] || die "restart ($label): restarted root $rootpid is in state '$st', expected running or sleeping"
  is_our_target "$rootpid" || note "warning: restart ($label): PID $rootpid runs, but its cmdline/comm/exe do not name tree_mem"
  mapfile -t after < <(children_of "$rootpid")
  [[ "${after[*]}" == "${children[*]}" ]] ||
    die "restart ($label): root $rootpid has ${#after[@]} children after restart, expected ${#children[@]} with the same PIDs (missing or different: $(comm -3 <(printf '%s\n' "${children[@]}" | sort) <(printf '%s\n' "${after[@]}" | sort) | tr -s '\t\n' '  ' | head -c 200))"
  want_after=$(identity "${members[@]}")
  [[ $want_after == "$want_before" ]] ||
    die "restart ($label): threads differ after restart: $(diff <(echo "$want_before") <(echo "$want_after") | grep '^[<>]' | head -n 4 | tr '\n' ' ')"
  r_sf_bytes[$key]=$(du -sb "$sf" | cut -f1)

  # 3. every process checks its memory and joins its threads; the root reports
  kill -USR1 "${members[@]}" || die "restart ($label): cannot signal every restarted process"
  wait_gone "$rootpid" 120 || die "restart ($label): restarted root $rootpid did not exit within 120s of SIGUSR1"
  verdict=$(result_of "$out")
  [[ $verdict == ok ]] || die "restart ($label): check after restart: ${verdict:-no verdict (root died without reporting)}; stderr: $(tail -n 3 "$out.err" | tr '\n' ' ')"
  run_cpr "delete ($label)" "$wd/cpr-d.err" -D "$sf"
  [[ ! -e $sf ]] || die "delete ($label): 'cpr -D $sf' left it in place"
}

# ---------------------------------------------------------------- machine
fs_type=$(findmnt -no FSTYPE -T "$work_parent" 2>/dev/null || stat -f -c %T "$work_parent")
echo "cpr benchmark: process sets and threads  $(date -u '+%Y-%m-%d %H:%M:%SZ')"
echo "  machine : $(machine_summary)"
echo "  cpr     : $cpr"
echo "  work dir: $wd ($fs_type)"
echo "  target  : tree_mem, a flat tree (root + children), $mib_each MiB touched per process"
echo "  reps    : $reps (best kept)"
echo

# ---------------------------------------------------------------- cases
# processes/threads.  1/1 is the base of both series.
cases=("1/1" "10/1" "100/1" "1/8" "1/64")
for ((rep = 1; rep <= reps; rep++)); do
  for c in "${cases[@]}"; do
    echo "running: ${c%/*} process(es), ${c#*/} thread(s) each (rep $rep/$reps)..."
    run_case "${c%/*}" "${c#*/}"
  done
done

# ---------------------------------------------------------------- report
per() { awk -v v="$1" -v n="$2" 'BEGIN { if (v ~ /^[0-9.]+$/ && n > 0) printf "%.2f", v / n; else printf "n/a" }'; }
unit_of() { # key -> "proc" or "thread": what the per-unit figures divide by
  if (( ${1#*/} > 1 )); then echo thread; else echo proc; fi
}
units_of() { # key -> how many units
  if (( ${1#*/} > 1 )); then echo "${1#*/}"; else echo "${1%/*}"; fi
}
name_of() { # key -> case name
  local np=${1%/*} nt=${1#*/}
  if (( nt > 1 )); then echo "$nt threads"; elif (( np > 1 )); then echo "$np procs"; else echo "1 proc"; fi
}

echo
echo "Results (ms = wall time of the whole cpr command; per unit = that / processes, or / threads)"
hdr="%-11s %5s %7s %6s | %8s %12s | %8s %12s | %9s\n"
printf "$hdr" "case" "procs" "threads" "pages" "ckpt" "ckpt ms" "restart" "restart ms" "frozen"
printf "$hdr" "" "" "(each)" "MiB" "ms" "per unit" "ms" "per unit" "ms"
for c in "${cases[@]}"; do
  n=$(units_of "$c")
  u=$(unit_of "$c")
  printf "$hdr" "$(name_of "$c")" "${c%/*}" "${c#*/}" "$(mib "${r_pages_bytes[$c]}")" \
    "${r_ckpt_ms[$c]}" "$(per "${r_ckpt_ms[$c]}" "$n")/$u" \
    "${r_restart_ms[$c]}" "$(per "${r_restart_ms[$c]}" "$n")/$u" "$(or_na "${r_frozen[$c]}")"
done
echo
echo "cpr's own timing lines (CPR_TIMING=1)"
hdr2="%-11s | %9s %9s | %9s %9s | %10s\n"
printf "$hdr2" "case" "ckpt" "ckpt" "restart" "restart" "statefile"
printf "$hdr2" "" "total ms" "pages ms" "total ms" "pages ms" "MiB"
for c in "${cases[@]}"; do
  printf "$hdr2" "$(name_of "$c")" "$(or_na "${r_ckpt_total[$c]}")" "$(or_na "${r_ckpt_pages_ms[$c]}")" \
    "$(or_na "${r_restart_total[$c]}")" "$(or_na "${r_restart_pages_ms[$c]}")" "$(mib "${r_sf_bytes[$c]}")"
done

# ---------------------------------------------------------------- aims
echo
echo "Aims"
linear() { # what small_key large_key n_small n_large unit array_name
  local what=$1 s=$2 l=$3 ns=$4 nl=$5 u=$6
  local -n arr=$7
  local ps pl ratio marginal ok
  ps=$(per "${arr[$s]}" "$ns")
  pl=$(per "${arr[$l]}" "$nl")
  ratio=$(awk -v a="$pl" -v b="$ps" 'BEGIN { if (a ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else printf "n/a" }')
  marginal=$(awk -v a="${arr[$l]}" -v b="${arr[$s]}" -v d=$((nl - ns)) 'BEGIN { printf "%.2f", (a - b) / d }')
  ok=$(awk -v r="$ratio" 'BEGIN { print (r ~ /^[0-9.]+$/ && r <= 1.5) ? 1 : 0 }')
  aim "$what cost grows linearly: $ps ms/$u at $ns, $pl ms/$u at $nl (x$ratio, <= 1.5; each extra $u adds $marginal ms)" "$ok"
}
linear "checkpoint" "10/1" "100/1" 10 100 proc r_ckpt_ms
linear "restart   " "10/1" "100/1" 10 100 proc r_restart_ms
linear "checkpoint" "1/8" "1/64" 8 64 thread r_ckpt_ms
linear "restart   " "1/8" "1/64" 8 64 thread r_restart_ms
t100=${r_ckpt_ms["100/1"]}
aim "100 small processes ($mib_each MiB each) checkpointed in under a second: cpr -c took $t100 ms" \
  "$(awk -v t="$t100" 'BEGIN { print (t != "" && t < 1000) ? 1 : 0 }')"

end_with_aims
