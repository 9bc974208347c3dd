#!/bin/bash
# tree.sh: a small process tree for process-set checkpoints. The script starts
# three workers with & (bash subshells running builtins only, so nothing execs
# or forks further), waits for them, then prints what each wrote and the exit
# statuses they returned. Workers write worker1.txt..worker3.txt in the cwd.
# Usage: tree.sh [iterations]
iterations=${1:-400000}
lines_every=20000

worker() {
  local id=$1 i acc=0 seed
  ((seed = id * 7919 + 1))
  for ((i = 1; i <= iterations; i++)); do
    ((seed = (seed * 1103515245 + 12345) % 2147483648))
    ((acc = (acc * 31 + (seed >> 8)) % 1000000007))
    if ((i % lines_every == 0)); then
      echo "worker $id iteration $i acc $acc"
    fi
  done
  echo "worker $id done $acc"
  exit $((acc % 100 + 1))
}

echo "tree: starting 3 workers"
worker 1 >worker1.txt &
w1=$!
worker 2 >worker2.txt &
w2=$!
worker 3 >worker3.txt &
w3=$!
wait $w1
s1=$?
wait $w2
s2=$?
wait $w3
s3=$?
for id in 1 2 3; do
  while IFS= read -r line; do
    echo "$line"
  done <worker$id.txt
done
echo "statuses $s1 $s2 $s3 sum $((s1 + s2 + s3))"
