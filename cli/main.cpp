// cpr: checkpoint and restart processes (IRIX cpr(1), for Linux), built on
// the <ckpt.h> library: ckpt_create, ckpt_restart and ckpt_remove report
// their failures on stderr themselves.
#include "options.hpp"

#include <ckpt.h>
#include <cpr/engine/engine.hpp>
#include <cpr/sdk/error.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <sys/wait.h>
#include <vector>

namespace {

using cpr::engine::CheckpointRequest;
using cpr::engine::Will;

// cpr runs the checkpoint itself (CKPT_TYPE_INPLACE): it is never in the
// set, even when it belongs to the session or group checkpointed.
int create_checkpoint(const CheckpointRequest &r) {
  std::vector<ckpt_args> args{
      {CKPT_ARG_IDS, const_cast<char *>(r.ids.c_str())}};
  unsigned timeout = static_cast<unsigned>(r.handler_timeout.count());
  args.push_back({CKPT_ARG_TIMEOUT, &timeout});
  if (r.force)
    args.push_back({CKPT_ARG_FORCE, nullptr});
  if (r.outside_pipes)
    args.push_back({CKPT_ARG_OUTSIDE_PIPES, nullptr});
  if (r.outside_sockets)
    args.push_back({CKPT_ARG_OUTSIDE_SOCKETS, nullptr});
  if (r.all_ipc)
    args.push_back({CKPT_ARG_ALL_IPC, nullptr});
  std::vector<ckpt_args *> list;
  for (ckpt_args &a : args)
    list.push_back(&a);
  cpr_flags = 0;
  if (r.will == Will::cont)
    cpr_flags |= CKPT_CHECKPOINT_CONT;
  if (r.will == Will::kill)
    cpr_flags |= CKPT_CHECKPOINT_KILL;
  if (r.distribute)
    cpr_flags |= CKPT_OPENFILE_DISTRIBUTE;
  if (r.upgrade)
    cpr_flags |= CKPT_CHECKPOINT_UPGRADE;
  return ckpt_create(r.statefile.c_str(), 0, P_PID | CKPT_TYPE_INPLACE,
                     list.data(), list.size()) == 0
             ? 0
             : 1;
}

// cpr -j: cpr is the job its shell knows, and the restored processes are
// in its process group: it stays until they end, and leaves Ctrl-C and
// Ctrl-\ to them. Its exit status is the last one to end's.
int wait_for_job() {
  int result = 0;
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR)
      continue;
    if (pid < 0)
      return result;
    result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
}

int restart_statefiles(const cpr::cli::Options &opts) {
  std::vector<ckpt_args> args;
  for (size_t i = 1; i < opts.statefiles.size(); ++i)
    args.push_back(
        {CKPT_ARG_STATEFILE, const_cast<char *>(opts.statefiles[i].c_str())});
  if (opts.fork == cpr::engine::Fork::any)
    args.push_back({CKPT_ARG_FORK_ANY, nullptr});
  if (opts.force_changed)
    args.push_back({CKPT_ARG_FORCE, nullptr});
  std::vector<ckpt_args *> list;
  for (ckpt_args &a : args)
    list.push_back(&a);
  cpr_flags = opts.interactive ? CKPT_RESTART_INTERACTIVE : 0;
  if (opts.interactive) {
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGQUIT, SIG_IGN);
  }
  if (ckpt_restart(opts.statefiles[0].c_str(), list.data(), list.size()) < 0)
    return 1;
  return opts.interactive ? wait_for_job() : 0;
}

int describe(const std::vector<std::string> &statefiles) {
  try {
    for (const std::string &s : statefiles)
      cpr::engine::describe(s, std::cout);
    return 0;
  } catch (const std::exception &e) {
    std::cout.flush();
    std::fprintf(stderr, "cpr: %s\n", cpr::sdk::message_of(e).c_str());
    return 1;
  }
}

int run(const cpr::cli::Options &opts) {
  using cpr::cli::Mode;
  switch (opts.mode) {
  case Mode::help:
    std::fputs(cpr::cli::usage(), stdout);
    return 0;
  case Mode::version:
    std::printf("cpr %s\n", CPR_VERSION);
    return 0;
  case Mode::checkpoint:
    return create_checkpoint(opts.checkpoint);
  case Mode::restart:
    return restart_statefiles(opts);
  case Mode::info:
    return describe(opts.statefiles);
  case Mode::reseal:
    try {
      for (const std::string &s : opts.statefiles)
        cpr::engine::reseal(s);
      return 0;
    } catch (const std::exception &e) {
      std::fprintf(stderr, "cpr: %s\n", cpr::sdk::message_of(e).c_str());
      return 1;
    }
  case Mode::remove:
    for (const std::string &s : opts.statefiles)
      if (ckpt_remove(s.c_str()) != 0)
        return 1;
    return 0;
  }
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  try {
    auto opts = cpr::cli::parse_options({argv + 1, argv + argc});
    return run(opts);
  } catch (const cpr::cli::UsageError &e) {
    std::fprintf(stderr, "cpr: %s\n%s", e.what(), cpr::cli::usage());
    return 2;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "cpr: %s\n", cpr::sdk::message_of(e).c_str());
    return 1;
  }
}
