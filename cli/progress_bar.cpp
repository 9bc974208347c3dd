#include "progress_bar.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <unistd.h>

namespace cpr::cli {
namespace {

// How long the work goes on before a bar is drawn: CPR_PROGRESS_DELAY
// seconds, 1 unless set.
std::chrono::duration<double> quiet_period() {
  const char *set = std::getenv("CPR_PROGRESS_DELAY");
  char *end = nullptr;
  double seconds = set ? std::strtod(set, &end) : 1;
  return std::chrono::duration<double>(
      set && end != set && seconds >= 0 ? seconds : 1);
}
constexpr auto redraw_every = std::chrono::milliseconds(100);
constexpr int bar_width = 20;

std::string size(std::uint64_t bytes) {
  double mib = static_cast<double>(bytes) / (1 << 20);
  return mib >= 1024 ? fmt::format("{:.1f} GiB", mib / 1024)
                     : fmt::format("{:.0f} MiB", mib);
}

std::string bar(double fraction) {
  int full = static_cast<int>(fraction * bar_width);
  return std::string(static_cast<std::size_t>(full), '#') +
         std::string(static_cast<std::size_t>(bar_width - full), '.');
}

} // namespace

ProgressBar::ProgressBar(std::string what)
    : what_(std::move(what)), quiet_for_(quiet_period()) {}

ProgressBar::~ProgressBar() {
  if (drawn_)
    std::fputs("\r\033[K", stderr);
}

bool ProgressBar::wanted() { return ::isatty(STDERR_FILENO) == 1; }

void ProgressBar::show(const engine::Progress &p) {
  Clock::time_point now = Clock::now();
  if (now - start_ < quiet_for_ || now - last_ < redraw_every)
    return;
  last_ = now;
  std::uint64_t total = std::max(p.total, p.done);
  double seconds = std::chrono::duration<double>(now - start_).count();
  double rate = static_cast<double>(p.done) / seconds;
  double fraction = total ? static_cast<double>(p.done) / total : 0;
  std::string left =
      rate > 0 && total > p.done
          ? fmt::format("  {:.0f} s left",
                        static_cast<double>(total - p.done) / rate)
          : "";
  std::fputs(fmt::format("\r\033[Kcpr: {} [{}] {:3.0f}%  {} of {}  {}/s{}",
                         what_, bar(fraction), fraction * 100, size(p.done),
                         size(total), size(static_cast<std::uint64_t>(rate)),
                         left)
                 .c_str(),
             stderr);
  std::fflush(stderr);
  drawn_ = true;
}

} // namespace cpr::cli
