#!/usr/bin/env bash
# shellcheck disable=SC2059  # printf formats in variables
# cpr benchmark for incremental checkpoints (cpr -c NEW --since OLD): a
# process with 1 GiB of memory of which a hundredth changed since the last
# checkpoint, against a full checkpoint of it, in the same run.
#
#   bench/incremental.sh [build_dir] [work_dir]
#
#   build_dir  the cmake build tree (default: <repo>/build); cpr is taken from
#              build_dir/cli/cpr unless CPR_BIN is set, the target from
#              build_dir/tests/targets/ledger
#   work_dir   where the statefiles go (default /var/tmp); a private
#              subdirectory is created and removed
#
# Environment:
#   CPR_BIN=path        cpr binary to use
#   BENCH_MIB=n         MiB of memory in the target (default 1024)
#   BENCH_STRICT=1      exit 1 when an aim is missed (default: report only)
#
# Exit status: 0 if every step worked, 1 on any failure, with a message
# saying which step failed. See bench/README.md for what the figures mean.
set -uo pipefail

bench_name=incremental.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

bench_args "$@"
target=$build/tests/targets/ledger
need_helpers "$target" "$reaper"
need_cpr PID
run_under_reaper

ready_timeout=300 # s, for ledger to fill its memory
mib=${BENCH_MIB:-1024}
make_workdir cpr-incremental
cd "$wd" || die "cannot enter $wd"

step() { # n: the target rewrites a hundredth of its pages
  touch "$wd/step"
  local deadline=$(( ${EPOCHREALTIME%.*} + 60 ))
  until grep -qx "step $1" "$out"; do
    (( ${EPOCHREALTIME%.*} < deadline )) || die "ledger did not take step $1"
    sleep 0.01
  done
}
written() { du -sb "$1/pages" | cut -f1; } # statefile -> bytes of its pages

echo "cpr incremental checkpoint benchmark  $(date -u '+%Y-%m-%d %H:%M:%SZ')"
echo "  machine : $(machine_summary)"
echo "  cpr     : $cpr"
echo "  target  : ledger, $mib MiB, a hundredth rewritten between checkpoints"
echo
out="$wd/ledger.out"
start_target "$out" "$mib"
pid=$target_pid
echo "running: a full checkpoint (-g), a step, an incremental one (-g --since)..."
run_cpr "full checkpoint" "$wd/cpr-a.err" -c "$wd/a" -p "$pid" -g
full_ms=$wall_ms full_frozen=$(field "$timing" frozen_ms) full_bytes=$(written "$wd/a")
step 1
run_cpr "incremental checkpoint" "$wd/cpr-b.err" -c "$wd/b" -p "$pid" -g --since "$wd/a"
inc_ms=$wall_ms inc_frozen=$(field "$timing" frozen_ms) inc_bytes=$(written "$wd/b")
step 2
echo "running: an incremental one (WILL EXIT), and its restart..."
run_cpr "incremental checkpoint, exit" "$wd/cpr-c.err" -c "$wd/c" -p "$pid" --since "$wd/b"
exit_ms=$wall_ms exit_frozen=$(field "$timing" frozen_ms) exit_bytes=$(written "$wd/c")
wait_gone "$pid" 10 || die "checkpoint: target $pid still running"
wait "$launcher_pid"
run_cpr "restart of the chain" "$wd/cpr-r.err" -r "$wd/c"
restart_ms=$wall_ms
touch "$wd/stop"
wait_gone "$pid" 120 || die "restarted ledger $pid did not finish"
grep -qx intact "$out" || die "restarted ledger: $(tail -n 1 "$out")"
for sf in c b a; do run_cpr "delete $sf" "$wd/cpr-d.err" -D "$wd/$sf"; done

echo
echo "Results (pages written: the statefile's pages files)"
hdr="%-28s | %10s %10s | %12s\n"
printf "$hdr" "" "wall ms" "frozen ms" "pages MiB"
printf "$hdr" "full (-g)" "$full_ms" "$full_frozen" "$(mib "$full_bytes")"
printf "$hdr" "--since, 1% changed (-g)" "$inc_ms" "$inc_frozen" "$(mib "$inc_bytes")"
printf "$hdr" "--since, 1% changed (exit)" "$exit_ms" "$exit_frozen" "$(mib "$exit_bytes")"
echo "restart of the chain of three: $restart_ms ms"

echo
echo "Aims"
aim "a 1% change writes ~1% of the memory: $(mib "$inc_bytes") MiB of $mib MiB (<= 1.2%)" \
  "$(awk -v b="$inc_bytes" -v m="$mib" 'BEGIN { print (b <= m * 1048576 * 0.012) ? 1 : 0 }')"
aim "frozen <= 30 ms for it (-g): $inc_frozen ms" \
  "$(awk -v f="$inc_frozen" 'BEGIN { print (f != "" && f <= 30) ? 1 : 0 }')"
end_with_aims
