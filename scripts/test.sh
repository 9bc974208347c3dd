#!/usr/bin/env bash
# Installs, builds, and runs the whole test suite (unit and end-to-end).
# The end-to-end tests checkpoint and restart real processes: run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd build
# The tests run at once: most of their time is spent waiting on the
# programs they checkpoint, not on the CPU. What they share with the whole
# host is locked (tests/CMakeLists.txt, cpr_discover_tests). CPR_TEST_JOBS=1
# runs them one at a time.
jobs=${CPR_TEST_JOBS:-$(($(nproc) + 1))}
ctest --output-on-failure --timeout 300 --parallel "$jobs" "$@"
