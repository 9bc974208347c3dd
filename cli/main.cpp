// cpr: checkpoint and restart processes (IRIX cpr(1), for Linux), built on
// the engine's C++ interface, as libcpr's <ckpt.h> functions are.
#include "options.hpp"
#include "progress_bar.hpp"

#include <cpr/engine/engine.hpp>
#include <cpr/sdk/error.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sys/wait.h>
#include <vector>

namespace {

// Runs `body`; a failure is told on stderr in one line, and is exit 1.
template <class Body> int reporting_failure(Body body) {
  try {
    body();
    return 0;
  } catch (const std::exception &e) {
    std::cout.flush();
    std::fprintf(stderr, "cpr: %s\n", cpr::sdk::message_of(e).c_str());
    return 1;
  }
}

// The engine's `work` on `req`, with a progress bar on cpr's terminal unless
// `quiet`; the bar is cleared before anything else is printed.
template <class Request, class Work>
int with_progress(const char *what, bool quiet, Request &req, Work work) {
  std::optional<cpr::cli::ProgressBar> bar;
  if (!quiet && cpr::cli::ProgressBar::wanted()) {
    bar.emplace(what);
    req.progress = [&bar](const cpr::engine::Progress &p) { bar->show(p); };
  }
  struct ClearFirst {
    std::optional<cpr::cli::ProgressBar> &bar;
    ~ClearFirst() { bar.reset(); }
  };
  return reporting_failure([&] {
    ClearFirst clear{bar};
    work(req);
  });
}

int checkpoint(const cpr::cli::Options &opts) {
  cpr::engine::CheckpointRequest req = opts.checkpoint;
  return with_progress("checkpoint", opts.quiet, req,
                       [](const auto &r) { cpr::engine::checkpoint(r); });
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
  cpr::engine::RestartRequest req;
  req.statefiles = opts.statefiles;
  req.fork = opts.fork;
  req.interactive = opts.interactive;
  req.force_changed = opts.force_changed;
  if (opts.interactive) {
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGQUIT, SIG_IGN);
  }
  if (with_progress("restart", opts.quiet, req,
                    [](const auto &r) { cpr::engine::restart(r); }) != 0)
    return 1;
  return opts.interactive ? wait_for_job() : 0;
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
    // cpr runs the checkpoint itself: it is never in the set, even when it
    // belongs to the session or group checkpointed.
    return checkpoint(opts);
  case Mode::restart:
    return restart_statefiles(opts);
  case Mode::info:
    return reporting_failure([&] {
      for (const std::string &s : opts.statefiles)
        cpr::engine::describe(s, std::cout);
    });
  case Mode::reseal:
    return reporting_failure([&] {
      for (const std::string &s : opts.statefiles)
        cpr::engine::reseal(s);
    });
  case Mode::remove:
    return reporting_failure([&] {
      for (const std::string &s : opts.statefiles)
        cpr::engine::remove(s);
    });
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
