// Figures printed to stderr when CPR_TIMING=1, for bench/.
#pragma once

#include <chrono>

namespace cpr::engine {

class Clock {
public:
  double ms() const {
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now() - start_)
        .count();
  }

private:
  std::chrono::steady_clock::time_point start_ =
      std::chrono::steady_clock::now();
};

bool timing_wanted();

} // namespace cpr::engine
