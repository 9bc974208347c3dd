// ckpt_create(): the checkpoint is made by a child of the caller, as IRIX's
// library did, so cpr's ptrace, CPU pinning and signals never touch the
// caller, and the caller itself can be in the set: a process checkpoints
// itself while it waits for that child.
#include "api_errors.hpp"
#include "id_types.hpp"

#include <ckpt.h>
#include <cpr/engine/engine.hpp>
#include <cpr/sdk/error.hpp>

#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

int cpr_flags = 0;

namespace cpr::api {
namespace {

std::string id_list(ckpt_id_t id, unsigned long type) {
  const char *name = type_name(CKPT_REAL_TYPE(type));
  if (!name)
    throw sdk::Error(EINVAL, fmt::format("Invalid argument: unknown ID type {}",
                                         CKPT_REAL_TYPE(type)));
  if (CKPT_REAL_TYPE(type) == P_JID)
    return fmt::format("0x{:x}:JID", static_cast<std::uint64_t>(id));
  return fmt::format("{}:{}", id, name);
}

std::optional<engine::Will> will_from_flags() {
  bool cont = cpr_flags & CKPT_CHECKPOINT_CONT;
  bool kill = cpr_flags & CKPT_CHECKPOINT_KILL;
  if (cont && kill)
    throw sdk::Error(EINVAL, "Invalid argument: cpr_flags has both "
                             "CKPT_CHECKPOINT_CONT and CKPT_CHECKPOINT_KILL");
  if (cont)
    return engine::Will::cont;
  if (kill)
    return engine::Will::kill;
  return std::nullopt; // the attribute file's WILL
}

engine::CheckpointRequest request(const char *path, ckpt_id_t id,
                                  unsigned long type, ckpt_args *args[],
                                  size_t nargs) {
  if (!path || !*path)
    throw sdk::Error(EINVAL, "Invalid argument: no statefile path");
  engine::CheckpointRequest req;
  req.statefile = path;
  req.will = will_from_flags();
  req.distribute = cpr_flags & CKPT_OPENFILE_DISTRIBUTE;
  req.upgrade = cpr_flags & CKPT_CHECKPOINT_UPGRADE;
  bool ids_given = false;
  for (size_t i = 0; i < nargs; ++i) {
    const ckpt_args *a = args ? args[i] : nullptr;
    if (!a)
      throw sdk::Error(EINVAL, "Invalid argument: ckpt_args entry is NULL");
    if (a->ckpt_type == CKPT_ARG_FORCE) {
      req.force = true;
    } else if (a->ckpt_type == CKPT_ARG_OUTSIDE_PIPES) {
      req.outside_pipes = true;
    } else if (a->ckpt_type == CKPT_ARG_OUTSIDE_SOCKETS) {
      req.outside_sockets = true;
    } else if (a->ckpt_type == CKPT_ARG_ALL_IPC) {
      req.all_ipc = true;
    } else if (a->ckpt_type == CKPT_ARG_SINCE && a->ckpt_data) {
      req.since = static_cast<const char *>(a->ckpt_data);
    } else if (a->ckpt_type == CKPT_ARG_COMPRESS) {
      req.compress = a->ckpt_data ? *static_cast<int *>(a->ckpt_data) : 1;
      if (req.compress == 0) // 0 would mean "not compressed"
        throw sdk::Error(EINVAL, "Invalid argument: the compression level "
                                 "is 1 to 19, not 0");
    } else if (a->ckpt_type == CKPT_ARG_TIMEOUT && a->ckpt_data) {
      req.handler_timeout =
          std::chrono::seconds(*static_cast<unsigned *>(a->ckpt_data));
    } else if (a->ckpt_type == CKPT_ARG_IDS && a->ckpt_data) {
      req.ids = engine::IdList::parse(static_cast<const char *>(a->ckpt_data));
      ids_given = true;
    } else {
      throw sdk::Error(EINVAL, fmt::format("Invalid argument: ckpt_args type "
                                           "{:#x} is not one of ckpt_create's",
                                           a->ckpt_type));
    }
  }
  if (!ids_given)
    req.ids = engine::IdList::parse(id_list(id, type));
  return req;
}

// What the child tells the caller, written into the caller's memory. In a
// restarted copy of a caller that checkpointed itself, it is still
// `pending`: the copy was saved before the child wrote it.
struct ChildReport {
  enum State : int { pending, done, failed };
  volatile int state = pending;
  int error = 0;
  char message[512] = {};
};

void tell_parent(pid_t parent, ChildReport *at, const ChildReport &report) {
  iovec local{const_cast<ChildReport *>(&report), sizeof report};
  iovec remote{at, sizeof report};
  ::process_vm_writev(parent, &local, 1, &remote, 1, 0);
}

[[noreturn]] void run_checkpoint(const engine::CheckpointRequest &req,
                                 pid_t parent, ChildReport *at) {
  // A SIGCHLD handler of the caller's would reap the tracees' stops.
  ::signal(SIGCHLD, SIG_DFL);
  ChildReport report;
  try {
    engine::checkpoint(req);
    report.state = ChildReport::done;
  } catch (const std::exception &e) {
    sdk::Error error = sdk::as_error(e);
    std::string message = error.what();
    std::fprintf(stderr, "cpr: %s\n", message.c_str());
    report.state = ChildReport::failed;
    report.error = errno_for(error);
    std::snprintf(report.message, sizeof report.message, "%s", message.c_str());
  }
  tell_parent(parent, at, report);
  ::_exit(report.state == ChildReport::done ? 0 : 1);
}

int checkpoint_in_child(const engine::CheckpointRequest &req) {
  ChildReport report;
  // Under Yama's ptrace_scope 1 a child may trace its parent only if asked.
  ::prctl(PR_SET_PTRACER, ::getpid(), 0, 0, 0);
  pid_t parent = ::getpid();
  pid_t child = ::fork();
  if (child == 0)
    run_checkpoint(req, parent, &report);
  if (child < 0)
    sdk::throw_errno("Resource temporarily unavailable: cannot fork", errno);
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(child, &status, 0)) < 0 && errno == EINTR) {
  }
  int wait_error = errno;
  // The child wrote `report` behind the compiler's back.
  asm volatile("" : : "r"(&report) : "memory");
  ::prctl(PR_SET_PTRACER, 0, 0, 0, 0);
  if (report.state == ChildReport::done)
    return 0;
  if (report.state == ChildReport::failed) {
    remember_failure(report.message, report.error);
    return -1;
  }
  if (r < 0 && wait_error == ECHILD)
    return CKPT_RESTARTED; // the restarted copy: the child is not ours
  throw sdk::Error(sdk::Code::checkpoint_error,
                   fmt::format("Checkpoint error: the checkpointing process "
                               "{} died (wait status {:#x})",
                               child, status));
}

} // namespace
} // namespace cpr::api

extern "C" int ckpt_create(const char *path, ckpt_id_t id, u_long type,
                           struct ckpt_args *args[], size_t nargs) {
  using namespace cpr;
  return api::guarded(-1, [&] {
    engine::CheckpointRequest req = api::request(path, id, type, args, nargs);
    if (type & CKPT_TYPE_INPLACE) {
      engine::checkpoint(req);
      return 0;
    }
    return api::checkpoint_in_child(req);
  });
}

extern "C" char *ckpt_type_str(ckpt_type_t type) {
  const char *name = cpr::api::type_name(type);
  return const_cast<char *>(name ? name : "UNKNOWN");
}
