#include "trust/privilege.hpp"

#include <csignal>
#include <cstdlib>
#include <string>
#include <sys/auxv.h>
#include <unistd.h>

namespace cpr::engine {

uid_t caller_uid() { return ::getuid(); }

bool caller_is_root() { return caller_uid() == 0; }

bool run_setuid() { return ::getauxval(AT_SECURE) != 0; }

bool environment_trusted() { return caller_is_root() && !run_setuid(); }

bool bench_unsealed() {
  static const bool unsealed = [] {
    const char *v = std::getenv("CPR_BENCH_UNSEALED");
    return environment_trusted() && v && std::string(v) == "1";
  }();
  return unsealed;
}

void kill_point(const char *name) {
  static const char *chosen =
      environment_trusted() ? std::getenv("CPR_TEST_KILL_AT") : nullptr;
  if (chosen && std::string(chosen) == name)
    ::kill(::getpid(), SIGKILL);
}

} // namespace cpr::engine
