// The first life of a restored process: a copy of cpr, forked with the saved
// PID, that sets up from inside what is simplest done there (fds, cwd,
// session, limits) and then stops for the engine to rebuild the rest.
#pragma once

#include "manifest.hpp"
#include "registry.hpp"

#include <string>
#include <sys/types.h>

namespace cpr::engine {

class Helper {
public:
  // Creates the process with its saved PID and waits until it has set itself
  // up and stopped under ptrace. Throws with the helper's own error.
  Helper(const ProcessRecord &p, const Manifest &manifest,
         const Registry &registry, const std::string &statefile);
  // Unless released, kills it: a failed restart leaves nothing behind.
  ~Helper();
  Helper(const Helper &) = delete;
  Helper &operator=(const Helper &) = delete;

  pid_t pid() const { return pid_; }
  void release();

private:
  pid_t pid_ = -1;
  bool released_ = false;
};

} // namespace cpr::engine
