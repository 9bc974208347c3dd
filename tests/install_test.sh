#!/usr/bin/env bash
# Installs the build into a temporary prefix and checkpoints and restarts a
# job with the installed cpr: it must find its libraries and its plugins in
# PREFIX/lib (the build tree is not on an installed cpr's plugin path).
set -euo pipefail
build=$1
job=$2
prefix=$(mktemp -d /tmp/cpr-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
cd "$prefix"
"$job" 8 4000 > reference.out
(for fd in /proc/$BASHPID/fd/*; do
   n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"
 done
 exec "$job" 8 4000 > job.out 2>&1 < /dev/null) &
pid=$!
sleep 0.4
"$prefix/bin/cpr" -c sf -p "$pid"
wait "$pid" || true
"$prefix/bin/cpr" -r sf
# The restarted job computes for seconds: up to a minute for it to finish,
# as other tests may be computing beside it (ctest --parallel).
for _ in $(seq 600); do grep -q '^checksum' job.out && break; sleep 0.1; done
sleep 0.1
cmp reference.out job.out
echo "1 passed, 0 failed"
