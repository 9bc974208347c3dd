#!/usr/bin/env bash
# cpr installed setuid root for the group cpr, as the IRIX guide describes:
# its members checkpoint and restart their own processes, and the real uid
# decides everything else. Every refusal is tried as an unprivileged user.
set -euo pipefail
build=$1      # the build tree
job=$2        # tests/targets/heap_avx
staged_cpr=$3 # cpr with the prefix's absolute RUNPATH (cli/CMakeLists.txt)
prefix=$build/setuid-prefix
passed=0
failed=0

ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAILED: $*"; failed=$((failed + 1)); }
# `expect_refusal WHAT WORDS command...`: fails, saying WORDS.
expect_refusal() {
  local what=$1 words=$2 out
  shift 2
  if out=$("$@" 2>&1); then
    fail "$what: it succeeded"
  elif grep -q -- "$words" <<<"$out"; then
    ok "$what ($out)"
  else
    fail "$what: said '$out', not '$words'"
  fi
}

getent group cpr >/dev/null || groupadd --system cpr
for user in cpr-alice cpr-bob; do
  id -u "$user" >/dev/null 2>&1 || useradd -M -N -g users -G cpr "$user"
done
id -u cpr-carol >/dev/null 2>&1 || useradd -M -N -g users cpr-carol

rm -rf "$prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
install -o root -g cpr -m 4750 "$staged_cpr" "$prefix/bin/cpr"
cpr=$prefix/bin/cpr

work=$(mktemp -d /tmp/cpr-setuid.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"
for user in cpr-alice cpr-bob; do
  mkdir "$work/$user"
  chown "$user:users" "$work/$user"
done

as() {
  local user=$1
  shift
  runuser -u "$user" -- "$@"
}
# Starts the job as USER in DIR with nothing but files open; sets $pid.
start_job() {
  local user=$1 dir=$2
  as "$user" bash -c 'for fd in /proc/$$/fd/*; do n=${fd##*/}
      [ "$n" -gt 2 ] && eval "exec $n>&-"; done
      cd "$1" && exec setsid "$2" 8 4000 > job.out 2>&1 < /dev/null' \
    _ "$dir" "$job" &
  # Up to 30 s: other tests may be running beside it (ctest --parallel).
  for _ in $(seq 600); do
    pid=$(pgrep -u "$user" -f "$job 8 4000" | head -1) && break
    sleep 0.05
  done
  pids+=("$pid")
  sleep 0.4
}

alice=$work/cpr-alice
bob=$work/cpr-bob
(cd "$work" && "$job" 8 4000 > reference.out)

# A member of the group checkpoints and restarts her own job.
start_job cpr-alice "$alice"
alice_pid=$pid
if as cpr-alice "$cpr" -c "$alice/sf" -p "$alice_pid" &&
  [ "$(stat -c %U "$alice/sf")" = cpr-alice ]; then
  ok "alice checkpoints her own job; the statefile is hers"
else
  fail "alice cannot checkpoint her own job"
fi
cp -a "$alice/sf" "$alice/sf-copy"
if as cpr-alice "$cpr" -r "$alice/sf"; then
  # It computes for seconds: up to a minute (ctest --parallel).
  for _ in $(seq 600); do
    grep -q '^checksum' "$alice/job.out" && break
    sleep 0.1
  done
  sleep 0.1
  if cmp -s "$work/reference.out" "$alice/job.out" &&
    [ "$(stat -c %U /proc/"$alice_pid" 2>/dev/null || echo cpr-alice)" = cpr-alice ]; then
    ok "alice restarts it and it finishes as an uninterrupted run"
  else
    fail "alice's restarted job did not finish as the reference"
  fi
else
  fail "alice cannot restart her own statefile"
fi

start_job cpr-bob "$bob"
bob_pid=$pid
expect_refusal "alice checkpoints bob's job" "not permitted" \
  as cpr-alice "$cpr" -c "$alice/bob-sf" -p "$bob_pid"
expect_refusal "alice checkpoints a root process" "not permitted" \
  as cpr-alice "$cpr" -c "$alice/root-sf" -p 1
kill -0 "$bob_pid" && ok "bob's job runs on" || fail "bob's job was harmed"

as cpr-bob "$cpr" -c "$bob/sf" -p "$bob_pid" -g
expect_refusal "alice restarts bob's statefile" "Permission denied" \
  as cpr-alice "$cpr" -r "$bob/sf"
expect_refusal "alice reads bob's statefile" "Permission denied" \
  as cpr-alice "$cpr" -i "$bob/sf"
expect_refusal "alice deletes bob's statefile" "Permission denied" \
  as cpr-alice "$cpr" -D "$bob/sf"
start_job cpr-alice "$alice"
alice_pid=$pid
expect_refusal "alice writes a statefile where she may not" "Permission denied" \
  as cpr-alice "$cpr" -c /etc/alice-sf -p "$alice_pid" -g
[ -e /etc/alice-sf ] && fail "a statefile was written in /etc" || true

"$cpr" -c "$work/root-sf" -p "$bob_pid" -g
chmod 755 "$work/root-sf"
expect_refusal "alice restarts a statefile root made" "Permission denied" \
  as cpr-alice "$cpr" -r "$work/root-sf"

# Her own statefile, edited: refused before anything is made.
printf 'X' | dd of="$alice/sf-copy/MANIFEST" bs=1 seek=200 conv=notrunc \
  status=none
expect_refusal "alice restarts her edited statefile" \
  "was altered after checkpoint (MANIFEST)" \
  as cpr-alice "$cpr" -r "$alice/sf-copy"

# Code comes only from where root put it.
mkdir "$work/evil"
cp "$prefix/lib/libcpr_sdk.so" "$work/evil/cpr_evil.so"
if out=$(as cpr-alice env CPR_PLUGIN_PATH="$work/evil" \
  "$cpr" -c "$alice/evil-sf" -p "$alice_pid" -g 2>&1); then
  ok "CPR_PLUGIN_PATH is ignored in a setuid cpr"
else
  fail "CPR_PLUGIN_PATH was followed: $out"
fi
echo "not a library" > "$work/evil/libfmt.so.9"
if (cd "$work/evil" && as cpr-alice "$cpr" --version >/dev/null); then
  ok "a library in the current directory is not loaded"
else
  fail "cpr run from a directory with a planted library failed"
fi
if readelf -d "$cpr" | grep RUNPATH | grep -Eq '\[:|::|:\]'; then
  fail "RUNPATH has an empty entry: $(readelf -d "$cpr" | grep RUNPATH)"
else
  ok "RUNPATH has no empty entry"
fi

expect_refusal "carol, not in the group cpr, runs cpr" "Permission denied" \
  as cpr-carol "$cpr" --version

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
