#!/bin/bash
# loop.sh: a deterministic checkpoint target that uses only bash builtins, so
# the shell never forks. Usage: loop.sh [iterations]
iterations=${1:-650000}
lines_every=13000
seed=12345
declare -a table
for ((slot = 0; slot < 64; slot++)); do
  table[slot]=$slot
done

for ((i = 1; i <= iterations; i++)); do
  ((seed = (seed * 1103515245 + 12345) % 2147483648))
  ((table[i % 64] ^= seed))
  if ((i % lines_every == 0 || i == iterations)); then
    sum=0
    for ((slot = 0; slot < 64; slot++)); do
      ((sum = (sum * 31 + table[slot]) % 1000000007))
    done
    echo "iteration $i seed $seed table $sum"
  fi
done
echo "done $seed"
