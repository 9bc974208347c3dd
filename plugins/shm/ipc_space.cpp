#include "ipc_space.hpp"

#include "queue.hpp"
#include "segment.hpp"
#include "semaphore.hpp"
#include "sysv.hpp"

#include <cpr/sdk/error.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::shm {
namespace {

ino_t namespace_inode(const std::string &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: cannot read {}", path),
                     errno);
  return st.st_ino;
}

int open_own_namespace() {
  int own = ::open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
  if (own < 0)
    sdk::throw_errno("cannot open cpr's IPC namespace", errno);
  return own;
}

// What the handlers of one kind made, removed (in the namespace they were
// made in) and forgotten.
template <IpcKind Kind>
void take_back(sdk::Sessions &sessions, const sdk::SetHandler &handler) {
  auto &made = sessions.of<MadeObjects<Kind>>(handler.kind());
  made.restart_over(false);
  made.ids.clear();
  made.to_mark.clear();
}

} // namespace

IpcSpace &ipc_space(sdk::Sessions &sessions) {
  return sessions.of<IpcSpace>("shm.ipc-namespace");
}

IpcSpace::~IpcSpace() {
  if (own_ < 0)
    return;
  (void)::setns(own_, CLONE_NEWIPC);
  ::close(own_);
}

void IpcSpace::enter_set_namespace(const sdk::SaveContext &ctx) {
  if (looked_ || ctx.processes.empty())
    return;
  looked_ = true;
  pid_t first = ctx.processes.front();
  std::string theirs = fmt::format("/proc/{}/ns/ipc", first);
  if (namespace_inode(theirs) == namespace_inode("/proc/self/ns/ipc"))
    return;
  int own = open_own_namespace();
  int fd = ::open(theirs.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWIPC) != 0) {
    int err = errno;
    if (fd >= 0)
      ::close(fd);
    ::close(own);
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: cannot enter the IPC "
                                 "namespace of process {}",
                                 first),
                     err);
  }
  ::close(fd);
  own_ = own;
  set_has_own_ = true;
}

void IpcSpace::enter_new() {
  int own = open_own_namespace();
  if (::unshare(CLONE_NEWIPC) != 0) {
    int err = errno;
    ::close(own);
    sdk::throw_errno("cannot make a new IPC namespace", err);
  }
  own_ = own;
}

void IpcSpace::restart_in_own(const std::string &statefile) {
  if (own_ < 0 && !made_.empty())
    throw sdk::Error(sdk::Code::component_unavailable,
                     fmt::format("component unavailable: {} cannot restart "
                                 "with {}: its set had an IPC namespace of its "
                                 "own, the other did not",
                                 statefile, made_.front().ctx.statefile));
  if (own_ < 0)
    enter_new();
  own_statefiles_.insert(statefile);
}

void IpcSpace::move_to_new_namespace(sdk::Sessions &sessions) {
  take_back<IpcKind::shm>(sessions, SegmentHandler());
  take_back<IpcKind::sem>(sessions, SemaphoreHandler());
  take_back<IpcKind::msg>(sessions, QueueHandler());
  enter_new();
  moved_by_fork_any_ = true;
  std::vector<Made> again;
  again.swap(made_);
  for (Made &m : again)
    m.handler->restore(m.record, m.ctx);
}

void IpcSpace::make(const sdk::SetHandler &handler, const sdk::Record &record,
                    sdk::RestoreContext &ctx,
                    const std::function<void()> &make_it) {
  if (own_ >= 0 && !moved_by_fork_any_ && !own_statefiles_.count(ctx.statefile))
    throw sdk::Error(sdk::Code::component_unavailable,
                     fmt::format("component unavailable: {} cannot restart "
                                 "with {}: its set had no IPC namespace of its "
                                 "own, the other did",
                                 ctx.statefile, *own_statefiles_.begin()));
  try {
    make_it();
  } catch (const sdk::IdTaken &) {
    if (ctx.options.get("fork").value_or("") != "any" || own_ >= 0)
      throw;
    move_to_new_namespace(ctx.sessions);
    make_it();
  }
  made_.push_back({&handler, record, ctx});
}

} // namespace cpr::shm
