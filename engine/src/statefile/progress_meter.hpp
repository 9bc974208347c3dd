// Counts the bytes of pages moved and tells the caller's ProgressSink.
#pragma once

#include <cpr/engine/progress.hpp>

#include <cstdint>

namespace cpr::engine {

class ProgressMeter {
public:
  explicit ProgressMeter(ProgressSink sink = {}) : sink_(std::move(sink)) {}
  void expect(std::uint64_t bytes) {
    progress_.total += bytes;
    tell();
  }
  void add(std::uint64_t bytes) {
    progress_.done += bytes;
    tell();
  }

private:
  void tell() const {
    if (sink_)
      sink_(progress_);
  }
  ProgressSink sink_;
  Progress progress_;
};

} // namespace cpr::engine
