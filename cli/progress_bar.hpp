// The progress of a checkpoint or restart that takes more than a second
// (CPR_PROGRESS_DELAY), drawn on one line of cpr's terminal (stderr) and
// cleared at the end.
#pragma once

#include <cpr/engine/progress.hpp>

#include <chrono>
#include <string>

namespace cpr::cli {

class ProgressBar {
public:
  // `what`: "checkpoint" or "restart".
  explicit ProgressBar(std::string what);
  ~ProgressBar();
  ProgressBar(const ProgressBar &) = delete;
  ProgressBar &operator=(const ProgressBar &) = delete;

  void show(const engine::Progress &progress);
  // Whether one is shown at all: stderr is a terminal.
  static bool wanted();

private:
  using Clock = std::chrono::steady_clock;
  std::string what_;
  std::chrono::duration<double> quiet_for_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_{};
  bool drawn_ = false;
};

} // namespace cpr::cli
