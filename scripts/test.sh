#!/usr/bin/env bash
# Installs, builds, and runs the whole test suite (unit and end-to-end).
# The end-to-end tests checkpoint and restart real processes: run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd build
ctest --output-on-failure --timeout 300 "$@"
