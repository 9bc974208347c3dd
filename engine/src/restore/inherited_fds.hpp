// Restart helpers' fds that come from an ancestor: what one process
// opens for several (a shared open file, both ends of a pipe), inherited.
#pragma once

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/pages.hpp>

#include <fmt/format.h>
#include <sys/resource.h>

namespace cpr::engine {

// Files are installed before any memory is: nothing reads pages here (and a
// PageReader's buffers would cost every helper 16 MiB of first touches).
class NoPages final : public sdk::PageSource {
public:
  void restore(pid_t pid, std::uint64_t, std::span<const sdk::Range>) override {
    throw sdk::Error(fmt::format("internal error: pages of process {} "
                                 "wanted while its files are installed",
                                 pid));
  }
};

// As many fds as the hard limit allows: the set's numbers and those parked
// above them.
inline void allow_all_fds() {
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);
}

} // namespace cpr::engine
