// One process of a restart rebuilt from outside, under ptrace, once its
// helper has set itself up and stopped: its plugins' state (memory first),
// then its threads, signals, credentials, timers, seccomp filters and
// registers.
#pragma once

#include "dispatch/registry.hpp"
#include "restore/loaded_statefile.hpp"
#include "restore/process_tree.hpp"
#include <cpr/sdk/terminals.hpp>

#include <cstdint>

namespace cpr::engine {

// `own_syscall_insn`: a `syscall` instruction in cpr's code, which the
// helper (a copy of cpr) still has.
void build_process(const PlannedProcess &pp, const LoadedStatefile &l,
                   const Registry &registry, std::uint64_t own_syscall_insn,
                   ProcessTree &tree, const sdk::SessionTerminals &terminals);

} // namespace cpr::engine
