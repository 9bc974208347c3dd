// Who cpr acts for. Installed setuid root (or run by root), cpr is
// privileged, but the real uid decides what it may do, and nothing in the
// environment chooses what code runs or which key it trusts unless root
// itself runs it.
#pragma once

#include <sys/types.h>

namespace cpr::engine {

// The user cpr acts for: the real uid (setuid: the caller).
uid_t caller_uid();
bool caller_is_root();
// Run setuid (or with file capabilities): the environment is the caller's.
bool run_setuid();
// Root ran cpr itself, not through setuid: its environment may choose what
// code runs and which key is trusted.
bool environment_trusted();
// bench/seal.sh measures what sealing costs: root's own cpr with
// CPR_BENCH_UNSEALED=1 neither seals statefiles nor checks seals.
bool bench_unsealed();
// Tests kill cpr at exact moments: root's own cpr with CPR_TEST_KILL_AT=NAME
// sends itself SIGKILL when it reaches the moment called NAME.
void kill_point(const char *name);

} // namespace cpr::engine
