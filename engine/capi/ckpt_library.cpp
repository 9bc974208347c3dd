// ckpt_restart(), ckpt_stat(), ckpt_remove(), ckpt_setup() and rev_to_str().
#include "api_errors.hpp"
#include "id_types.hpp"

#include <ckpt.h>
#include <cpr/engine/engine.hpp>
#include <cpr/sdk/error.hpp>

#include <csignal>
#include <cstdlib>
#include <fmt/format.h>
#include <pthread.h>

namespace cpr::api {
namespace {

engine::RestartRequest restart_request(const char *path, ckpt_args *args[],
                                       size_t nargs) {
  if (!path || !*path)
    throw sdk::Error(EINVAL, "Invalid argument: no statefile path");
  engine::RestartRequest req;
  req.interactive = (cpr_flags & CKPT_RESTART_INTERACTIVE) != 0;
  req.statefiles.push_back(path);
  for (size_t i = 0; i < nargs; ++i) {
    const ckpt_args *a = args ? args[i] : nullptr;
    if (a && a->ckpt_type == CKPT_ARG_FORK_ANY)
      req.fork = engine::Fork::any;
    else if (a && a->ckpt_type == CKPT_ARG_FORCE)
      req.force_changed = true;
    else if (a && a->ckpt_type == CKPT_ARG_STATEFILE && a->ckpt_data)
      req.statefiles.push_back(static_cast<const char *>(a->ckpt_data));
    else
      throw sdk::Error(EINVAL,
                       "Invalid argument: a ckpt_args entry is not one of "
                       "ckpt_restart's");
  }
  return req;
}

// The restored processes are the caller's children: keep a SIGCHLD
// handler of the caller from reaping their ptrace stops meanwhile.
class SigchldBlocked {
public:
  SigchldBlocked() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~SigchldBlocked() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

private:
  sigset_t old_;
};

ckpt_stat_t *stat_node(const engine::StatefileSummary &s,
                       const engine::ProcessSummary &p, const struct stat &st) {
  auto *node = static_cast<ckpt_stat_t *>(std::calloc(1, sizeof(ckpt_stat_t)));
  if (!node)
    throw sdk::Error(sdk::Code::no_space, "Not enough space for ckpt_stat");
  node->cs_revision = s.revision;
  std::tie(node->cs_id, node->cs_type) =
      first_id(s.ids, s.processes.empty() ? 0 : s.processes[0].pid);
  node->cs_pid = p.pid;
  node->cs_ppid = p.ppid;
  node->cs_pgrp = p.pgid;
  node->cs_sid = p.sid;
  node->cs_uid = p.uid;
  node->cs_gid = p.gid;
  node->cs_stat = st;
  node->cs_stat.st_mtim = {static_cast<time_t>(s.time), 0};
  node->cs_nfiles = p.nfiles;
  node->cs_nthreads = p.nthreads;
  std::snprintf(node->cs_comm, sizeof node->cs_comm, "%s", p.comm.c_str());
  std::snprintf(node->cs_psargs, sizeof node->cs_psargs, "%s",
                p.psargs.c_str());
  std::snprintf(node->cs_cdir, sizeof node->cs_cdir, "%s", p.cwd.c_str());
  return node;
}

} // namespace
} // namespace cpr::api

using namespace cpr;

extern "C" int ckpt_setup(struct ckpt_args *[], size_t) { return 0; }

extern "C" ckpt_id_t ckpt_restart(const char *path, struct ckpt_args *args[],
                                  size_t nargs) {
  return api::guarded<ckpt_id_t>(-1, [&] {
    engine::RestartRequest req = api::restart_request(path, args, nargs);
    api::SigchldBlocked quiet;
    engine::Restarted r = engine::restart(req);
    return api::first_id(r.ids, r.first_pid).first;
  });
}

extern "C" int ckpt_stat(const char *path, ckpt_stat_t **sp) {
  return api::guarded(-1, [&] {
    if (!path || !sp)
      throw sdk::Error(EINVAL, "Invalid argument: ckpt_stat needs a path and a "
                               "place for the list");
    engine::StatefileSummary s = engine::summarize(path);
    struct stat st {};
    if (::stat(path, &st) != 0)
      sdk::throw_errno(fmt::format("cannot use statefile {}", path), errno);
    ckpt_stat_t *head = nullptr, **tail = &head;
    try {
      for (const engine::ProcessSummary &p : s.processes) {
        *tail = api::stat_node(s, p, st);
        tail = &(*tail)->cs_next;
      }
    } catch (...) {
      for (ckpt_stat_t *next; head; head = next) {
        next = head->cs_next;
        std::free(head);
      }
      throw;
    }
    *sp = head;
    return 0;
  });
}

extern "C" int ckpt_remove(const char *path) {
  return api::guarded(-1, [&] {
    if (!path || !*path)
      throw sdk::Error(EINVAL, "Invalid argument: no statefile path");
    engine::remove(path);
    return 0;
  });
}

extern "C" char *rev_to_str(ckpt_rev_t rev) {
  static thread_local char text[32];
  std::snprintf(text, sizeof text, "CPR revision %lld", rev);
  return text;
}
