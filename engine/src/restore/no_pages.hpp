// NoPages: the page source of a restart's handlers while they open files,
// which is before any memory is restored.
#pragma once

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/pages.hpp>

#include <fmt/format.h>

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

} // namespace cpr::engine
