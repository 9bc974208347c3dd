// A stopwatch that adds the time it lived to a total: where the pages
// readers and writers say how long they took.
#pragma once

#include <chrono>

namespace cpr::engine {

class Stopwatch {
public:
  explicit Stopwatch(double &total) : total_(total) {}
  ~Stopwatch() {
    total_ += std::chrono::duration<double>(clock::now() - start_).count();
  }

private:
  using clock = std::chrono::steady_clock;
  double &total_;
  clock::time_point start_ = clock::now();
};

} // namespace cpr::engine
