#!/usr/bin/env bash
# The main job, end to end: start a program that was never prepared for cpr,
# checkpoint it in the middle of its work, kill it, restart it from the
# statefile, and watch it finish exactly as an uninterrupted run does.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
cpr=$PWD/build/cli/cpr
job=$PWD/build/tests/targets/heap_avx
work=$(mktemp -d /tmp/cpr-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Starts the job in the background with nothing but files and /dev/null
# open (cpr refuses fds it cannot carry, such as a pipe from the terminal).
start_job() {
  (for fd in /proc/$BASHPID/fd/*; do
     n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"
   done
   exec "$job" 64 > "$1" 2>&1 < /dev/null) &
  pid=$!
}

say "An uninterrupted run of the job (64 MiB heap, AVX arithmetic), for reference"
"$job" 64 > reference.out
tail -n 2 reference.out

say "Start it again in the background"
start_job job.out
sleep 1
echo "job is PID $pid; its output so far:"; tail -n 2 job.out

say "cpr -c ckptDemo -p $pid   (checkpoint; WILL EXIT: the job is killed)"
"$cpr" -c ckptDemo -p "$pid"
wait "$pid" 2>/dev/null || true
echo "PID $pid is gone: $(ps -p "$pid" >/dev/null && echo no || echo yes)"

say "cpr -i ckptDemo"
"$cpr" -i ckptDemo

say "cpr -r ckptDemo   (restart: same PID, resumes where it was)"
"$cpr" -r ckptDemo
ps -o pid,stat,cmd -p "$pid" || true
while ! grep -q '^checksum' job.out 2>/dev/null; do sleep 0.2; done
sleep 0.2

say "The restarted job finished:"
tail -n 2 job.out
if cmp -s reference.out job.out; then
  echo "Its whole output is identical to the uninterrupted run's."
else
  echo "Its output DIFFERS from the uninterrupted run's:"; diff reference.out job.out || true
  exit 1
fi

say "cpr -D ckptDemo"
"$cpr" -D ckptDemo && echo "statefile deleted"
