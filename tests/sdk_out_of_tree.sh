#!/usr/bin/env bash
# sdk_out_of_tree.sh SOURCE_DIR BUILD_DIR JOB: installs the build into a
# temporary prefix, builds examples/hello-plugin against that installed SDK
# (find_package(cpr-sdk)) and installs it beside cpr's own plugins; then a
# job whose oom_score_adj is 500 is checkpointed and restarted with the
# installed cpr: it comes back with 500 and finishes as an uninterrupted
# run. Without the plugin the restart is refused, naming the kind.
set -euo pipefail
src=$1
build=$2
job=$3
stage=$(mktemp -d /tmp/cpr-sdk.XXXXXX)
trap 'kill -9 "${pid:-0}" 2>/dev/null || true; rm -rf "$stage"' EXIT
prefix=$stage/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
cmake -S "$src/examples/hello-plugin" -B "$stage/build" \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$stage/build" >/dev/null
cmake --install "$stage/build" >/dev/null
plugin=$(find "$prefix" -name cpr_hello.so -print -quit)
[ -n "$plugin" ] && [ -e "$(dirname "$plugin")/cpr_memory.so" ] ||
  { echo "cpr_hello.so is not beside cpr's plugins" >&2; exit 1; }

cd "$stage"
"$job" 8 4000 > reference.out
(for fd in /proc/$BASHPID/fd/*; do
   n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"
 done
 exec sh -c 'echo 500 > /proc/self/oom_score_adj && exec "$0" 8 4000' "$job" \
   > job.out 2>&1 < /dev/null) &
pid=$!
sleep 0.4
"$prefix/bin/cpr" -c sf -p "$pid"
wait "$pid" || true
"$prefix/bin/cpr" -i sf | grep -q "hello.oom_score_adj.*oom_score_adj 500" ||
  { "$prefix/bin/cpr" -i sf >&2; echo "no hello.oom_score_adj record" >&2; exit 1; }

mv "$plugin" "$stage/away.so"
if "$prefix/bin/cpr" -r sf 2> refused.err; then
  echo "restarted without the plugin" >&2; exit 1
fi
grep -q "no plugin handles objects of kind 'hello.oom_score_adj'" refused.err ||
  { cat refused.err >&2; exit 1; }
mv "$stage/away.so" "$plugin"

"$prefix/bin/cpr" -r sf
[ "$(cat /proc/$pid/oom_score_adj)" = 500 ] ||
  { echo "oom_score_adj is $(cat /proc/$pid/oom_score_adj)" >&2; exit 1; }
# The restarted job computes for seconds: up to a minute for it to finish,
# as other tests may be computing beside it (ctest --parallel).
for _ in $(seq 600); do grep -q '^checksum' job.out && break; sleep 0.1; done
sleep 0.1
cmp reference.out job.out
echo "1 passed, 0 failed"
