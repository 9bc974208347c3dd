#!/usr/bin/env bash
# shellcheck disable=SC2059,SC2317  # printf formats in variables; functions the EXIT trap runs
# cpr benchmark for shared memory: checkpoint and restart of a parent and
# child sharing a System V segment or a POSIX shm object (/dev/shm) with
# every page written, as rates against this machine's raw durable write and
# memcpy speeds, measured in the same run.
#
#   bench/shm.sh [build_dir] [work_dir]
#
#   build_dir  the cmake build tree (default: <repo>/build); cpr is taken from
#              build_dir/cli/cpr unless CPR_BIN is set, the helpers from
#              build_dir/bench/
#   work_dir   where the statefiles and the raw-write test file go (default
#              /var/tmp); a private subdirectory is created and removed
#
# Environment:
#   CPR_BIN=path        cpr binary to use
#   BENCH_REPS=n        runs per case, best kept (default 1)
#
# It only removes IPC objects it made (by the id its target printed, and
# only while that id still names a segment of the key and size it made) and
# /dev/shm/cpr-bench-<pid> files of its own targets. Exit status: 0 if every
# step worked, 1 on any failure, with a message saying which step failed.
# Times are reported, never asserted. See bench/README.md.
set -uo pipefail

bench_name=shm.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

bench_args "$@"
target=$build/bench/shm_target
memcpy_speed=$build/bench/memcpy_speed
write_speed=$build/bench/write_speed
need_helpers "$target" "$memcpy_speed" "$write_speed" "$reaper"
need_cpr PIDs
[[ -r /proc/sysvipc/shm ]] || die "/proc/sysvipc/shm not readable: no System V IPC in this kernel?"
[[ -d /dev/shm && -w /dev/shm ]] || die "/dev/shm is not a writable directory"
command -v ipcrm >/dev/null || die "ipcrm (util-linux) not found"
run_under_reaper

ready_timeout=120 # s, for shm_target to write its memory
cpr_timeout=300   # s, per cpr invocation
make_workdir cpr-shm

# ---------------------------------------------------------------- our objects
# Segments and /dev/shm files our targets made, as each printed at once to
# its output file in $wd: removed at exit if still there (a step failed, or
# the run was interrupted). A segment is removed only while its id still
# names an IPC_PRIVATE segment of the size the target made.
segment_row() { # id -> "size nattch" from /proc/sysvipc/shm, empty if none
  awk -v id="$1" 'NR > 1 && $2 == id { print $4, $7 }' /proc/sysvipc/shm
}
segment_of() { # target output file -> "id bytes", empty if it made none
  sed -n 's/^shmid=\([0-9]*\) bytes=\([0-9]*\)$/\1 \2/p' "$1"
}
remove_leftovers() {
  local f id bytes path
  for f in "$wd"/target.*; do
    [[ $f == *.out || $f == *.out.g ]] || continue
    read -r id bytes < <(segment_of "$f")
    if [[ -n $id && $(awk -v id="$id" 'NR > 1 && $2 == id { print $1, $4 }' /proc/sysvipc/shm) == "0 $bytes" ]]; then
      ipcrm -m "$id" 2>/dev/null
    fi
    path=$(sed -n 's/^posix=//p' "$f")
    [[ $path =~ ^/dev/shm/cpr-bench-[0-9]+$ ]] && rm -f -- "$path"
  done
}
# Our targets killed first (none can make another object then), what they
# leave removed, then lib.sh's cleanup (statefiles, the work directory).
on_exit() {
  local rc=$? pid
  for pid in "${pids[@]}"; do
    if is_our_target "$pid"; then kill -KILL "$pid" 2>/dev/null; fi
  done
  [[ -d ${wd:-} ]] && remove_leftovers
  (exit "$rc")
  cleanup
}
trap on_exit EXIT

sysv_inodes() { # pid -> the ids (inodes) of the System V segments it maps, sorted
  awk '$6 ~ /^\/SYSV/ { print $5 }' "/proc/$1/maps" 2>/dev/null | sort -u | tr '\n' ' '
}
maps_file() { # pid path: does it map path (by that name, not deleted)?
  awk -v p="$2" '$6 == p && NF == 6 { found = 1 } END { exit !found }' "/proc/$1/maps" 2>/dev/null
}

# ---------------------------------------------------------------- one case
# run_case sysv_mib posix_mib leftover: start the pair, checkpoint it
# (killed), then either remove what the kill leaves behind (leftover=gone:
# the segment and the /dev/shm file, as after a reboot; the restart makes
# them again) or keep it (leftover=kept: the restart takes the segment over
# and refills it), restart, check ids, names and data.
declare -A r_ckpt_ms r_frozen r_frozen_g r_fsync_ms r_restart_ms r_shm_bytes r_pages_bytes r_sf_bytes
run_case() {
  local smib=$1 pmib=$2 leftover=$3 key="$1/$2/$3" out sf pid child shmid="" posix=""
  local want st verdict t0 t1 row p label=${case_label[$key]:-$key}

  out="$wd/target.$smib.$pmib.$leftover.out"
  start_target "$out" "$smib" "$pmib"
  pid=$target_pid
  child=$(sed -n 's/^child=//p' "$out")
  [[ -n $child && $(children_of "$pid") == "$child" ]] || die "start ($label): no child $child of $pid"
  pids+=("$child")
  if ((smib > 0)); then
    read -r shmid _ < <(segment_of "$out")
    [[ $shmid =~ ^[0-9]+$ ]] || die "start ($label): shm_target printed no shmid"
    for p in "$pid" "$child"; do
      [[ $(sysv_inodes "$p") == "$shmid " ]] ||
        die "start ($label): process $p maps System V ids '$(sysv_inodes "$p")', expected $shmid"
    done
  fi
  if ((pmib > 0)); then
    posix=$(sed -n 's/^posix=//p' "$out")
    [[ $posix == /dev/shm/cpr-bench-$pid ]] || die "start ($label): shm_target printed no POSIX name"
  fi

  # 1. checkpoint, the pair killed
  sf="$wd/sf.$pid"
  run_cpr "checkpoint ($label)" "$wd/cpr-c.err" -c "$sf" -p "$pid:HID"
  r_ckpt_ms[$key]=$(min "${r_ckpt_ms[$key]:-}" "$wall_ms")
  r_frozen[$key]=$(min "${r_frozen[$key]:-}" "$(field "$timing" frozen_ms)")
  for p in "$pid" "$child"; do
    wait_gone "$p" 10 || die "checkpoint ($label): process $p still running 10s after 'cpr -c' (expected it killed)"
  done
  wait "$launcher_pid"
  for p in "$pid" "$child"; do
    wait_reaped "$p" 10 || die "checkpoint ($label): PID $p still taken 10s after it was killed"
  done
  [[ $(result_of "$out") == "" ]] || die "checkpoint ($label): target finished on its own: $(result_of "$out")"

  # What a user's fsync of the shm data costs once cpr has returned: 0 if
  # cpr had made it durable (as it does pages/), the write-back otherwise.
  want=$(((smib + pmib) << 20))
  if ((want > 0)); then
    t0=$EPOCHREALTIME
    sync -- "$sf"/ipc/* || die "checkpoint ($label): cannot fsync $sf/ipc"
    t1=$EPOCHREALTIME
    r_fsync_ms[$key]=$(min "${r_fsync_ms[$key]:-}" "$(ms_between "$t0" "$t1")")
  fi
  r_shm_bytes[$key]=$(find "$sf/ipc" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
  ((r_shm_bytes[$key] == want)) ||
    die "checkpoint ($label): the statefile's ipc/ holds ${r_shm_bytes[$key]} bytes, expected $want (every page written)"
  r_pages_bytes[$key]=$(du -sb "$sf/pages" | cut -f1)
  r_sf_bytes[$key]=$(du -sb "$sf" | cut -f1)

  # 2. what the kill left behind: the segment (nobody attached) and the file
  if [[ -n $shmid ]]; then
    row=$(segment_row "$shmid")
    [[ $row == "$((smib << 20)) 0" ]] ||
      die "checkpoint ($label): System V id $shmid is '${row:-gone}' (size nattch) after the kill, expected '$((smib << 20)) 0'"
    [[ $leftover == gone ]] && { ipcrm -m "$shmid" || die "checkpoint ($label): cannot remove segment $shmid"; }
  fi
  if [[ -n $posix ]]; then
    [[ -f $posix ]] || die "checkpoint ($label): $posix gone after the kill"
    [[ $leftover == gone ]] && { rm -f -- "$posix" || die "checkpoint ($label): cannot remove $posix"; }
  fi

  # 3. restart: same PIDs, same segment id, same name
  run_cpr "restart ($label)" "$wd/cpr-r.err" -r "$sf"
  r_restart_ms[$key]=$(min "${r_restart_ms[$key]:-}" "$wall_ms")
  for p in "$pid" "$child"; do
    st=$(proc_state "$p")
    [[ $st == [SRD] ]] || die "restart ($label): PID $p is in state '${st:-gone}' after 'cpr -r', expected running or sleeping"
  done
  [[ $(children_of "$pid") == "$child" ]] || die "restart ($label): $pid has children '$(children_of "$pid")', expected $child"
  if [[ -n $shmid ]]; then
    for p in "$pid" "$child"; do
      [[ $(sysv_inodes "$p") == "$shmid " ]] ||
        die "restart ($label): process $p maps System V ids '$(sysv_inodes "$p")' after restart, expected $shmid (the id before)"
    done
    row=$(segment_row "$shmid")
    [[ $row == "$((smib << 20)) 2" ]] ||
      die "restart ($label): /proc/sysvipc/shm has id $shmid as '${row:-gone}' (size nattch), expected '$((smib << 20)) 2'"
  fi
  if [[ -n $posix ]]; then
    [[ -f $posix && $(stat -c %s "$posix") == $((pmib << 20)) ]] ||
      die "restart ($label): $posix is not back with $((pmib << 20)) bytes"
    for p in "$pid" "$child"; do
      maps_file "$p" "$posix" || die "restart ($label): process $p does not map $posix after restart"
    done
  fi

  # 4. both check every page; the parent removes the objects
  kill -USR1 "$pid" "$child" || die "restart ($label): cannot signal the restarted pair"
  wait_gone "$pid" 120 || die "restart ($label): restarted $pid did not exit within 120s of SIGUSR1"
  verdict=$(result_of "$out")
  [[ $verdict == ok ]] || die "restart ($label): check after restart: ${verdict:-no verdict}; stderr: $(tail -n 3 "$out.err" | tr '\n' ' ')"
  [[ -z $shmid || -z $(segment_row "$shmid") ]] || die "restart ($label): segment $shmid still there after the target removed it"
  [[ -z $posix || ! -e $posix ]] || die "restart ($label): $posix still there after the target unlinked it"
  run_cpr "delete ($label)" "$wd/cpr-d.err" -D "$sf"
  [[ ! -e $sf ]] || die "delete ($label): 'cpr -D $sf' left it in place"

  # 5. checkpoint with -g of a fresh pair: how long it is stopped while the
  # data is copied out; it must go on unharmed. (Once per size: the
  # leftover makes no difference here.)
  [[ $leftover == gone ]] || return 0
  start_target "$out.g" "$smib" "$pmib"
  pid=$target_pid
  child=$(sed -n 's/^child=//p' "$out.g")
  pids+=("$child")
  sf="$wd/sf.g.$pid"
  run_cpr "checkpoint -g ($label)" "$wd/cpr-g.err" -c "$sf" -p "$pid:HID" -g
  r_frozen_g[$key]=$(min "${r_frozen_g[$key]:-}" "$(field "$timing" frozen_ms)")
  for p in "$pid" "$child"; do
    st=$(proc_state "$p")
    [[ $st == [SRD] ]] || die "checkpoint -g ($label): process $p is in state '${st:-gone}' afterwards, expected running"
  done
  kill -USR1 "$pid" "$child" || die "checkpoint -g ($label): cannot signal the pair"
  wait_gone "$pid" 120 || die "checkpoint -g ($label): $pid did not exit within 120s of SIGUSR1"
  wait "$launcher_pid"
  verdict=$(result_of "$out.g")
  [[ $(cat "$out.g.status" 2>/dev/null) == 0 && $verdict == ok ]] ||
    die "checkpoint -g ($label): the pair failed its check afterwards: ${verdict:-no verdict}; stderr: $(tail -n 3 "$out.g.err" | tr '\n' ' ')"
  run_cpr "delete ($label)" "$wd/cpr-d.err" -D "$sf"
}

# ---------------------------------------------------------------- machine
fs_type=$(findmnt -no FSTYPE -T "$work_parent" 2>/dev/null || stat -f -c %T "$work_parent")
echo "cpr benchmark: shared memory  $(date -u '+%Y-%m-%d %H:%M:%SZ')"
echo "  machine : $(machine_summary)"
echo "  cpr     : $cpr"
echo "  work dir: $wd ($fs_type)"
echo "  target  : shm_target, a parent and child sharing a System V segment or a POSIX"
echo "            shm object, every page written"
echo "  reps    : $reps (best kept)"
echo

# ---------------------------------------------------------------- limits
calc() { awk "BEGIN { print $1 }"; }
echo "measuring machine limits..."
mc=$("$memcpy_speed") || die "memcpy_speed failed"
memcpy_MBps=$(calc "$(sed -n 's/^memcpy_GBps=//p' <<<"$mc") * 1000")
ft_MBps=$(calc "$(sed -n 's/^first_touch_memcpy_GBps=//p' <<<"$mc") * 1000")
declare -A raw_MBps
for s in 64 1024; do
  n=5
  ((s >= 1024)) && n=2
  w=$("$write_speed" "$wd" "$s" "$n") || die "write_speed $s MiB in $wd failed"
  raw_MBps[$s]=$(sed -n 's/^write_MBps=//p' <<<"$w")
  [[ -n ${raw_MBps[$s]} ]] || die "write_speed printed no figure: $w"
done
echo "  raw durable write to $fs_type (write+fdatasync): $(printf '%.0f' "${raw_MBps[64]}") MB/s at 64 MiB, $(printf '%.0f' "${raw_MBps[1024]}") MB/s at 1024 MiB"
echo "  memcpy, pre-touched 256 MiB, 1 thread : $(printf '%.0f' "$memcpy_MBps") MB/s"
echo "  memcpy into fresh memory (first touch): $(printf '%.0f' "$ft_MBps") MB/s"
echo

# ---------------------------------------------------------------- cases
# sysv_mib/posix_mib/leftover. 0/0 is the same pair with no shared memory:
# what the processes cost without it.
cases=("0/0/gone" "64/0/gone" "1024/0/gone" "0/1024/gone" "1024/0/kept")
declare -A case_label=(
  [0/0/gone]="no shm (baseline)"
  [64/0/gone]="SysV 64 MiB"
  [1024/0/gone]="SysV 1 GiB"
  [0/1024/gone]="POSIX 1 GiB"
  [1024/0/kept]="SysV 1 GiB, kept"
)
for ((rep = 1; rep <= reps; rep++)); do
  for c in "${cases[@]}"; do
    echo "running: ${case_label[$c]} (rep $rep/$reps)..."
    IFS=/ read -r smib pmib leftover <<<"$c"
    run_case "$smib" "$pmib" "$leftover"
  done
done

# ---------------------------------------------------------------- report
# MB = 1e6 bytes. Rates are shm bytes (what the statefile's ipc/ holds) over
# the wall time of the whole cpr command.
rate() { awk -v b="$1" -v ms="$2" 'BEGIN { if (ms > 0 && b > 0) printf "%.0f", b / 1e6 / (ms / 1000); else printf "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else printf "-" }'; }
raw_for() { # shm bytes -> the raw write speed measured for the nearest size
  awk -v b="$1" -v a="${raw_MBps[64]}" -v c="${raw_MBps[1024]}" 'BEGIN { print (b > 256 * 1048576) ? c : a }'
}
base=0/0/gone
echo
echo "Results (ms = wall time of the whole cpr command; MB = 1e6 bytes; rates = shm bytes / that time)"
hdr="%-18s %5s | %7s %7s %7s %6s %6s | %7s %7s %7s %7s | %9s\n"
printf "$hdr" "case" "shm" "ckpt" "frozen" "frozen" "ckpt" "/raw" "restart" "restart" "/memcpy" "/1sttch" "statefile"
printf "$hdr" "" "MiB" "ms" "ms" "-g ms" "MB/s" "write" "ms" "MB/s" "" "" "MiB"
for c in "${cases[@]}"; do
  b=${r_shm_bytes[$c]}
  ck=$(rate "$b" "${r_ckpt_ms[$c]}")
  rs=$(rate "$b" "${r_restart_ms[$c]}")
  printf "$hdr" "${case_label[$c]}" "$(mib "$b" 0)" "${r_ckpt_ms[$c]}" "$(or_na "${r_frozen[$c]}")" \
    "$(or_na "${r_frozen_g[$c]:-}")" "$ck" "$(ratio "$ck" "$(raw_for "$b")")" \
    "${r_restart_ms[$c]}" "$rs" "$(ratio "$rs" "$memcpy_MBps")" "$(ratio "$rs" "$ft_MBps")" \
    "$(mib "${r_sf_bytes[$c]}" 1)"
done
echo
echo "The shm data alone (each case minus the baseline), and what cpr left unsynced"
hdr2="%-18s | %8s %7s %6s | %8s %7s %7s | %8s %10s | %7s\n"
printf "$hdr2" "case" "ckpt" "ckpt" "/raw" "restart" "restart" "/1sttch" "fsync" "/raw write" "pages/"
printf "$hdr2" "" "+ms" "MB/s" "write" "+ms" "MB/s" "" "ipc/ ms" "with fsync" "MiB"
unsynced=0
for c in "${cases[@]}"; do
  [[ $c == "$base" ]] && continue
  b=${r_shm_bytes[$c]}
  dc=$(calc "${r_ckpt_ms[$c]} - ${r_ckpt_ms[$base]}")
  dr=$(calc "${r_restart_ms[$c]} - ${r_restart_ms[$base]}")
  ck=$(rate "$b" "$dc")
  rs=$(rate "$b" "$dr")
  durable=$(rate "$b" "$(calc "${r_ckpt_ms[$c]} + ${r_fsync_ms[$c]}")")
  printf "$hdr2" "${case_label[$c]}" "$(printf '%.1f' "$dc")" "$ck" "$(ratio "$ck" "$(raw_for "$b")")" \
    "$(printf '%.1f' "$dr")" "$rs" "$(ratio "$rs" "$ft_MBps")" "${r_fsync_ms[$c]}" \
    "$(ratio "$durable" "$(raw_for "$b")")" "$(mib "${r_pages_bytes[$c]}" 2)"
  awk -v f="${r_fsync_ms[$c]}" 'BEGIN { exit !(f >= 10) }' && unsynced=1
done
cat <<'EOF'

  frozen: frozen_ms of the killing checkpoint (stopped until the statefile
    is committed); frozen -g: of a -g checkpoint of a fresh pair, which goes
    on once everything is copied out, before the statefile is synced.
  fsync ipc/ ms: an fsync of the statefile's ipc/ files right after `cpr -c`
    returned: ~0 if cpr had made them durable.
  /raw write with fsync: the checkpoint rate counting that fsync, against the
    raw durable write (write + fdatasync) of the same size.
  /1sttch: restart writes the data into new tmpfs pages, each allocated on
    first touch; against memcpy into fresh memory, the ceiling on a machine
    whose page faults are slow (as in this VM), not memcpy.
  pages/: the processes' own memory: the shm data is saved once, in ipc/,
    not in either process's pages.
EOF
if ((unsynced)); then
  echo
  echo "note: cpr -c returned before the shm data in ipc/ was on disk (fsync ipc/ ms above):"
  echo "      a crash right after a checkpoint, whose processes are gone, could lose it"
fi
echo
echo "all steps succeeded; ids, names and data came back intact"
exit 0
