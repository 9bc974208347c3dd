#!/usr/bin/env bash
# build.sh BUILD_DIR STAGE_DIR: installs the build into STAGE_DIR, then
# compiles the drivers of the guide's Examples 3-1 to 3-9 (run_3_*.c, which
# #include the examples) against the INSTALLED <ckpt.h> and libcpr, found
# with pkg-config, into STAGE_DIR/examples. Compiler warnings are expected
# (the samples are 1990s C: implicit int, ...); an error fails the build.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR STAGE_DIR" >&2
  exit 2
fi
build=$1
stage=$2
here=$(cd "$(dirname "$0")" && pwd)

cmake --install "$build" --prefix "$stage" >/dev/null

pc=$(find "$stage" -path '*/pkgconfig/cpr.pc' -print -quit)
if [ -z "$pc" ]; then
  echo "build.sh: no pkgconfig/cpr.pc under $stage" >&2
  exit 1
fi
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
read -r -a cflags <<<"$(pkg-config --cflags cpr)"
read -r -a libs <<<"$(pkg-config --libs cpr)"
libdir=$(cd "$(pkg-config --variable=libdir cpr)" && pwd -P)

mkdir -p "$stage/examples"
for driver in "$here"/run_3_*.c; do
  name=$(basename "$driver" .c)
  echo "${CC:-cc} ${cflags[*]} -o $stage/examples/$name $driver ${libs[*]}" \
       "-Wl,-rpath,$libdir"
  "${CC:-cc}" "${cflags[@]}" -o "$stage/examples/$name" "$driver" \
    "${libs[@]}" "-Wl,-rpath,$libdir"
done
echo "build.sh: examples built in $stage/examples"
