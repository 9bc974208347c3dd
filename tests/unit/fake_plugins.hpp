// For the tests that load the fake plugins of tests/plugins alone: where
// they are, the registry of only those named, and the processes and
// contexts their handlers are run with.
#pragma once

#include "dispatch/registry.hpp"

#include <cpr/sdk/handler.hpp>

#include <initializer_list>
#include <string>
#include <sys/types.h>
#include <vector>

namespace cpr::test {

// CPR_FAKE_PLUGIN_DIR/cpr_fake_<name>.so
std::string fake_plugin(const std::string &name);
// A registry of the named fake plugins, loaded in that order.
engine::Registry load_fake_plugins(std::initializer_list<std::string> names);
// Whether this process has the library mapped (it is not loaded to see).
bool library_loaded(const std::string &path);
// All that is written to `fd` until its last writer closes it.
std::string read_to_end(int fd);
// An fd of this process as the engine describes an fd to a handler.
sdk::OpenFile own_open_file(int fd);

// Nothing the fake handlers save or restore has pages.
struct NoPages final : sdk::PageSink, sdk::PageSource {
  std::uint64_t save(pid_t, std::span<const sdk::PagesToSave>) override;
  void restore(pid_t, std::uint64_t, std::span<const sdk::Range>) override;
};

// An fd a child is to hold: a duplicate of one of ours, at `number`.
struct HeldFd {
  int number;
  int ours;
  bool cloexec = false;
};

// A child process that holds exactly the given fds and waits, until it is
// killed at the end of the scope.
class ChildWithFds {
public:
  explicit ChildWithFds(const std::vector<HeldFd> &fds);
  ~ChildWithFds();
  ChildWithFds(const ChildWithFds &) = delete;
  ChildWithFds &operator=(const ChildWithFds &) = delete;
  pid_t pid() const { return pid_; }

private:
  pid_t pid_ = -1;
};

} // namespace cpr::test
