// The command line of cpr, as in the IRIX guide:
//   cpr -c statefile -p id[:type][,id[:type]...] [-f] [-k | -g]
//       [--distribute] [--outside-pipes] [--all-ipc] [--timeout S]
//       [--compress[=LEVEL]] [--since earlier]
//   cpr -r [-j] [--fork-any] statefile...
//   cpr -i statefile...
//   cpr -D statefile...
#pragma once

#include <cpr/engine/engine.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace cpr::cli {

enum class Mode { checkpoint, restart, info, remove, reseal, help, version };

struct Options {
  Mode mode = Mode::help;
  engine::CheckpointRequest checkpoint;
  std::vector<std::string> statefiles;        // -r, -i, -D
  engine::Fork fork = engine::Fork::original; // -r --fork-any
  bool interactive = false;                   // -r -j
  bool force_changed = false;                 // -r --force-changed
  bool quiet = false; // -q: no progress bar on the terminal
};

class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

Options parse_options(const std::vector<std::string> &args);
const char *usage();

} // namespace cpr::cli
