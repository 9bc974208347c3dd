#include <cpr/sdk/error.hpp>
#include <cpr/sdk/tracee.hpp>

#include <fcntl.h>
#include <sys/syscall.h>

namespace cpr::sdk {

std::vector<long> Tracee::syscalls(const std::vector<Call> &calls) {
  std::vector<long> results;
  for (const Call &c : calls)
    results.push_back(syscall(c.nr, c.args[0], c.args[1], c.args[2], c.args[3],
                              c.args[4], c.args[5]));
  return results;
}

long remote_call(Tracee &t, const std::string &what, long nr, std::uint64_t a1,
                 std::uint64_t a2, std::uint64_t a3, std::uint64_t a4,
                 std::uint64_t a5, std::uint64_t a6) {
  long ret = t.syscall(nr, a1, a2, a3, a4, a5, a6);
  if (ret < 0 && ret > -4096)
    throw_errno("process " + std::to_string(t.pid()) + ": " + what,
                static_cast<int>(-ret));
  return ret;
}

int remote_open(Tracee &t, const std::string &path, int flags) {
  std::uint64_t where = t.scratch(path.size() + 1);
  t.write(where, path.c_str(), path.size() + 1);
  return static_cast<int>(remote_call(
      t, "open " + path, SYS_openat, static_cast<std::uint64_t>(AT_FDCWD),
      where, static_cast<std::uint64_t>(flags)));
}

void remote_close(Tracee &t, int fd) {
  remote_call(t, "close fd " + std::to_string(fd), SYS_close,
              static_cast<std::uint64_t>(fd));
}

} // namespace cpr::sdk
