// The open flags of a saved file: described for messages, cleaned for a
// reopen, and a reopen tried at checkpoint.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>

namespace cpr::files {

std::string describe_flags(std::uint32_t flags);
// Flags to reopen with: the saved ones, without those that only act at open.
int reopen_flags(std::uint32_t flags);

// At checkpoint, what a restart will do: opens `path` with `flags` (and
// closes it), and checks it is the same kind of file (S_IFMT `type`).
// Throws a Checkpoint error naming the file: a checkpoint that could not be
// restarted fails before WILL EXIT ends anything.
void try_reopen(pid_t pid, int fd, const std::string &path, int flags,
                unsigned type);

} // namespace cpr::files
