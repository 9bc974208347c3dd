// allow_all_fds: the fd limit raised for restoring a set's fds, in cpr and
// in its helpers.
#pragma once

#include <sys/resource.h>

namespace cpr::engine {

// As many fds as the hard limit allows: the set's numbers and those parked
// above them.
inline void allow_all_fds() {
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);
}

} // namespace cpr::engine
