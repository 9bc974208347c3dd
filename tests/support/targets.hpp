// The programs of tests/targets and their reference (uninterrupted) output.
#pragma once

#include "support/harness.hpp"

#include <string>
#include <vector>

namespace cpr_test {

struct TargetSpec {
  std::string name;              // for messages
  std::vector<std::string> argv; // absolute program path first
  std::string key() const;       // identifies the program and its arguments
};

// Each takes the target's own arguments; none means its defaults (~2-3 s).
TargetSpec heap_avx(std::vector<std::string> args = {});
TargetSpec counter_py(std::vector<std::string> args = {});
TargetSpec loop_sh(std::vector<std::string> args = {});
// Statically linked, so it also runs in a bare chroot.
TargetSpec static_count();

// stdout of an uninterrupted run, computed once per test binary run. Throws
// if that run fails or writes to stderr.
const std::string &reference_output(const TargetSpec &target);

struct StartOptions {
  std::optional<Credentials> as = std::nullopt;
  bool stdout_to_pipe = false;
};

// A target started in `dir` (its cwd), writing dir/stdout.txt and
// dir/stderr.txt (or stdout into a pipe).
struct RunningTarget {
  pid_t pid = -1;
  fs::path out;
  fs::path err;
  Fd stdout_pipe;
};

RunningTarget start_target(const TargetSpec &target, const TempDir &dir,
                           const StartOptions &opts = {});

} // namespace cpr_test
