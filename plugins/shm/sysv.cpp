#include "sysv.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sstream>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

namespace cpr::shm {
namespace {

const char *proc_name(IpcKind kind) {
  switch (kind) {
  case IpcKind::shm:
    return "shm";
  case IpcKind::sem:
    return "sem";
  case IpcKind::msg:
    return "msg";
  }
  return "";
}

const char *object_name(IpcKind kind) {
  switch (kind) {
  case IpcKind::shm:
    return "System V shared memory";
  case IpcKind::sem:
    return "System V semaphore set";
  case IpcKind::msg:
    return "System V message queue";
  }
  return "";
}

void write_next_id(IpcKind kind, int id) {
  std::string path =
      fmt::format("/proc/sys/kernel/{}_next_id", proc_name(kind));
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  std::string text = std::to_string(id);
  bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) ==
                           static_cast<ssize_t>(text.size());
  int err = errno;
  if (fd >= 0)
    ::close(fd);
  if (!ok)
    sdk::throw_errno(fmt::format("Operation not permitted: cannot ask for "
                                 "{} id {} through {}",
                                 object_name(kind), id, path),
                     err);
}

// The kernel keeps an id asked for until an object takes it, and -1 cannot
// be written back: a failed call leaves it to the next object anybody
// makes. A throwaway object takes it instead.
void use_up_next_id(IpcKind kind) {
  int id = -1;
  switch (kind) {
  case IpcKind::shm:
    id = ::shmget(IPC_PRIVATE, 1, 0600);
    break;
  case IpcKind::sem:
    id = ::semget(IPC_PRIVATE, 1, 0600);
    break;
  case IpcKind::msg:
    id = ::msgget(IPC_PRIVATE, 0600);
    break;
  }
  if (id >= 0)
    remove_object(kind, id);
}

} // namespace

std::string describe(IpcKind kind, const IpcPerm &perm) {
  return fmt::format("{} id {} (key {:#010x})", object_name(kind), perm.id,
                     static_cast<std::uint32_t>(perm.key));
}

std::vector<int> list_ids(IpcKind kind) {
  std::istringstream in(
      sdk::read_file(fmt::format("/proc/sysvipc/{}", proc_name(kind))));
  std::vector<int> ids;
  std::string line;
  std::getline(in, line); // the column names
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    long long key = 0;
    int id = -1;
    if (fields >> key >> id)
      ids.push_back(id);
  }
  return ids;
}

IpcPerm perm_of(int id, const ipc_perm &p) {
  return {id, static_cast<std::int32_t>(p.__key), p.uid, p.gid, p.mode};
}

bool is_one_of(pid_t pid, const std::vector<pid_t> &processes) {
  return std::find(processes.begin(), processes.end(), pid) != processes.end();
}

bool used_outside(pid_t pid, const std::vector<pid_t> &set) {
  return pid > 0 && !is_one_of(pid, set) &&
         (::kill(pid, 0) == 0 || errno == EPERM);
}

bool same_owner_and_key(const IpcPerm &saved, const ipc_perm &now) {
  return static_cast<std::int32_t>(now.__key) == saved.key &&
         now.uid == saved.uid && now.gid == saved.gid &&
         (now.mode & 0777) == (saved.mode & 0777);
}

void id_taken(IpcKind kind, const IpcPerm &saved, const std::string &by) {
  throw sdk::IdTaken(fmt::format("Resource busy: {} id {} is taken by {}",
                                 object_name(kind), saved.id, by));
}

int make_with_id(IpcKind kind, const IpcPerm &saved,
                 const std::function<int()> &make) {
  write_next_id(kind, saved.id);
  int got = make();
  int err = errno;
  if (got < 0) {
    use_up_next_id(kind);
    if (err == EEXIST)
      throw sdk::IdTaken(fmt::format("Resource busy: the key of {} is taken "
                                     "by another object",
                                     describe(kind, saved)));
    sdk::throw_errno(
        sdk::Code::checkpoint_error,
        fmt::format("Checkpoint error: cannot make {}", describe(kind, saved)),
        err);
  }
  if (got != saved.id) {
    remove_object(kind, got);
    id_taken(kind, saved, "another object");
  }
  return got;
}

void set_owner(IpcKind kind, const IpcPerm &saved,
               const std::function<int(ipc_perm &)> &set) {
  ipc_perm p{};
  p.uid = saved.uid;
  p.gid = saved.gid;
  p.mode = static_cast<decltype(p.mode)>(saved.mode & 0777);
  if (set(p) != 0)
    sdk::throw_errno(fmt::format("Operation not permitted: cannot give {} "
                                 "its owner {}:{} back",
                                 describe(kind, saved), saved.uid, saved.gid),
                     errno);
}

void remove_object(IpcKind kind, int id) noexcept {
  switch (kind) {
  case IpcKind::shm:
    ::shmctl(id, IPC_RMID, nullptr);
    break;
  case IpcKind::sem:
    ::semctl(id, 0, IPC_RMID);
    break;
  case IpcKind::msg:
    ::msgctl(id, IPC_RMID, nullptr);
    break;
  }
}

} // namespace cpr::shm
