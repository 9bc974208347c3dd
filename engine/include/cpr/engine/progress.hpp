// How far a checkpoint or a restart is, in the bytes of memory it moves: the
// CLI draws a progress bar of it on a terminal.
#pragma once

#include <cstdint>
#include <functional>

namespace cpr::engine {

struct Progress {
  // Bytes of pages written to the statefile (checkpoint) or put back into
  // the processes (restart).
  std::uint64_t done = 0;
  // What is expected in all: exact at restart; at checkpoint the set's
  // private memory as it is frozen, an estimate (done may pass it).
  std::uint64_t total = 0;
};

// Called as the work goes on, from the thread that called the engine.
using ProgressSink = std::function<void(const Progress &)>;

} // namespace cpr::engine
