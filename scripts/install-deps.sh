#!/usr/bin/env bash
# Installs what cpr needs to build and test, from Debian's packages. Idempotent.
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config
          libboost-dev libboost-filesystem-dev libboost-serialization-dev
          libfmt-dev libssl-dev libzstd-dev libxxhash-dev catch2 python3 clang libclang-rt-14-dev clang-format
          tmux vim bsdutils nftables redis-server redis-tools curl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
