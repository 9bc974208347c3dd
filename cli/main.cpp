// cpr: checkpoint and restart processes (IRIX cpr(1), for Linux).
#include "options.hpp"

#include <cpr/engine/engine.hpp>
#include <cpr/sdk/error.hpp>

#include <cstdio>
#include <iostream>

namespace {

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
    cpr::engine::checkpoint(opts.checkpoint);
    return 0;
  case Mode::restart:
    cpr::engine::restart({opts.statefiles, opts.fork});
    return 0;
  case Mode::info:
    for (const std::string &s : opts.statefiles)
      cpr::engine::describe(s, std::cout);
    return 0;
  case Mode::remove:
    for (const std::string &s : opts.statefiles)
      cpr::engine::remove(s);
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
    std::fprintf(stderr, "cpr: %s\n", e.what());
    return 1;
  }
}
