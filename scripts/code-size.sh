#!/usr/bin/env bash
# Lines of code (C++, C and assembly, comments included) of the engine's
# core, its C API, and each plugin: the core should stay smaller than the
# largest plugin (issue 18). Usage: scripts/code-size.sh [GIT_REV]
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-HEAD}
lines() {
  git ls-tree -r --name-only "$rev" -- "$1" |
    grep -E '\.(cpp|hpp|c|h|S)$' |
    while read -r f; do git show "$rev:$f"; done | wc -l
}
printf '%-22s %6s\n' "engine core" "$(( $(lines engine/src) - $(lines engine/src/api) ))"
printf '%-22s %6s\n' "engine C API" "$(( $(lines engine/capi) + $(lines engine/src/api) ))"
for p in $(git ls-tree --name-only "$rev" plugins/ | grep -v CMakeLists); do
  printf '%-22s %6s\n' "$p" "$(lines "$p")"
done
