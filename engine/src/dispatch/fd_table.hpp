// A process's fd table: every fd handed to the handler that claims it; one
// open file description shared by several fds is one object, saved once.
#pragma once

#include "dispatch/registry.hpp"
#include "statefile/manifest.hpp"

#include <map>

#include <cpr/sdk/handler.hpp>

namespace cpr::engine {

class FdTableCollector {
public:
  FdTableCollector(const Registry &registry, sdk::SaveContext &ctx,
                   Manifest &manifest);
  // Fills p.fds, adding object records to the manifest.
  void collect(ProcessRecord &p);
  // An fd of cpr's own (a file in flight that a handler was given): its
  // object, saved once like any fd of the set.
  std::uint64_t save_own(int fd);

private:
  struct Known {
    pid_t pid;
    int fd;
    dev_t dev;
    ino_t ino;
    std::uint64_t id;
  };
  sdk::OpenFile describe(pid_t pid, int fd) const;
  std::uint64_t object_for(const sdk::OpenFile &file);

  const Registry &registry_;
  sdk::SaveContext &ctx_;
  Manifest &manifest_;
  std::vector<Known> known_;
};

// Inside the process being restored: opens every object its fds refer to
// (but those an ancestor opened already: `opened_above`, object to fd) and
// puts each at its fd number. Closes every other fd below `keep_from`.
void install_fds(const ProcessRecord &p, const Manifest &manifest,
                 const Registry &registry, sdk::RestoreContext &ctx,
                 int keep_from,
                 const std::map<std::uint64_t, int> &opened_above);

} // namespace cpr::engine
