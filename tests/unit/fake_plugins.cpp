#include "fake_plugins.hpp"

#include "process/proc.hpp"

#include <cpr/sdk/error.hpp>

#include <dlfcn.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cpr::test {

std::string fake_plugin(const std::string &name) {
  return fmt::format("{}/cpr_fake_{}.so", CPR_FAKE_PLUGIN_DIR, name);
}

engine::Registry load_fake_plugins(std::initializer_list<std::string> names) {
  engine::Registry registry;
  for (const std::string &name : names)
    registry.load_library(fake_plugin(name));
  return registry;
}

bool library_loaded(const std::string &path) {
  void *handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (!handle)
    return false;
  ::dlclose(handle);
  return true;
}

sdk::OpenFile own_open_file(int fd) {
  sdk::OpenFile file;
  file.pid = ::getpid();
  file.fd = fd;
  file.path = engine::proc::readlink("/proc/self/fd/" + std::to_string(fd));
  if (::fstat(fd, &file.st) != 0)
    sdk::throw_errno("fstat", errno);
  return file;
}

std::string read_to_end(int fd) {
  std::string text;
  char buffer[256];
  for (;;) {
    ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got > 0)
      text.append(buffer, static_cast<std::size_t>(got));
    else if (got == 0 || errno != EINTR)
      return text;
  }
}

std::uint64_t NoPages::save(pid_t, std::span<const sdk::PagesToSave>) {
  throw std::logic_error("a fake handler saved pages");
}

void NoPages::restore(pid_t, std::uint64_t, std::span<const sdk::Range>) {
  throw std::logic_error("a fake handler restored pages");
}

namespace {

// Above every fd the tests hold: the child parks its fds-to-be there while it
// closes all it inherited below.
constexpr int first_parked_fd = 1000;

// In the child, between fork and pause: only async-signal-safe calls. A byte
// written to `ready` tells the parent the fds are in place.
[[noreturn]] void hold_only(const std::vector<HeldFd> &fds,
                            std::vector<int> &parked, int ready) {
  for (std::size_t i = 0; i < fds.size(); ++i)
    if ((parked[i] = ::fcntl(fds[i].ours, F_DUPFD, first_parked_fd)) < 0)
      ::_exit(1);
  if ((ready = ::fcntl(ready, F_DUPFD, first_parked_fd)) < 0)
    ::_exit(1);
  ::close_range(0, first_parked_fd - 1, 0);
  for (std::size_t i = 0; i < fds.size(); ++i)
    if (::dup3(parked[i], fds[i].number, fds[i].cloexec ? O_CLOEXEC : 0) < 0)
      ::_exit(1);
  for (int fd : parked)
    ::close(fd);
  if (::write(ready, "k", 1) != 1)
    ::_exit(1);
  ::close(ready);
  for (;;)
    ::pause();
}

} // namespace

ChildWithFds::ChildWithFds(const std::vector<HeldFd> &fds) {
  std::vector<int> parked(fds.size());
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0)
    sdk::throw_errno("pipe2", errno);
  pid_ = ::fork();
  if (pid_ == 0)
    hold_only(fds, parked, ready[1]);
  ::close(ready[1]);
  // Its byte, then the end of file once it closed its end too.
  bool placed = read_to_end(ready[0]) == "k";
  ::close(ready[0]);
  if (pid_ < 0)
    sdk::throw_errno("fork", errno);
  if (!placed) {
    ::waitpid(pid_, nullptr, 0);
    throw std::runtime_error("the child could not place its fds");
  }
}

ChildWithFds::~ChildWithFds() {
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

} // namespace cpr::test
