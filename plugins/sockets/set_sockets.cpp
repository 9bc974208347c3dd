#include "set_sockets.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/socket_address.hpp>

#include <fmt/format.h>

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

namespace cpr::sockets {
namespace {

namespace fs = std::filesystem;

template <class Fn> void each_socket_of(pid_t pid, Fn see) {
  std::error_code ec;
  for (const auto &e :
       fs::directory_iterator(fmt::format("/proc/{}/fd", pid), ec)) {
    std::error_code link_ec;
    std::string link = fs::read_symlink(e.path(), link_ec).string();
    if (!link.starts_with("socket:["))
      continue;
    try {
      see(std::stoull(link.substr(8)), std::stoi(e.path().filename()));
    } catch (const std::exception &) {
    }
  }
}

} // namespace

std::string protocol_name(pid_t pid, int fd) {
  char name[64] = "";
  ssize_t n = ::getxattr(fmt::format("/proc/{}/fd/{}", pid, fd).c_str(),
                         "system.sockprotoname", name, sizeof name - 1);
  return n > 0 ? std::string(name, ::strnlen(name, static_cast<size_t>(n)))
               : std::string();
}

std::map<std::uint64_t, Holder> sockets_held_by(const std::vector<pid_t> &set) {
  std::map<std::uint64_t, Holder> held;
  for (pid_t pid : set)
    each_socket_of(pid, [&](std::uint64_t inode, int fd) {
      held.emplace(inode, Holder{pid, fd});
    });
  return held;
}

std::optional<std::string> outside_holder(std::uint64_t inode,
                                          const std::vector<pid_t> &set) {
  std::error_code ec;
  std::optional<std::string> found;
  for (const auto &e : fs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit))
      continue;
    pid_t pid = std::stoi(name);
    if (pid == ::getpid() || // what cpr holds was lent to it by the set
        std::find(set.begin(), set.end(), pid) != set.end())
      continue;
    each_socket_of(pid, [&](std::uint64_t ino, int fd) {
      if (ino == inode && !found)
        found = fmt::format("process {} fd {}", pid, fd);
    });
    if (found)
      break;
  }
  return found;
}

void check_network_namespace(const sdk::OpenFile &file,
                             const std::string &what) {
  struct stat mine {
  }, theirs{};
  if (::stat("/proc/self/ns/net", &mine) != 0 ||
      ::stat(fmt::format("/proc/{}/ns/net", file.pid).c_str(), &theirs) != 0)
    return;
  if (mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev)
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: {} is in a network "
                                 "namespace of its own, which cpr cannot "
                                 "carry yet",
                                 what));
}

std::string describe(const sdk::OpenFile &file, int fd) {
  return fmt::format("process {} fd {} ({}: {})", file.pid, file.fd, file.path,
                     sdk::describe_socket(fd));
}

} // namespace cpr::sockets
