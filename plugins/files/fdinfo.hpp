// Reading what the kernel says of an open file in /proc/PID/fdinfo/N, for
// the objects that exist only as file descriptions (eventfd, timerfd, ...).
#pragma once

#include <cpr/sdk/handler.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cpr::files {

// O_LARGEFILE as the kernel sets it in f_flags: glibc defines O_LARGEFILE
// as 0 on 64-bit targets.
inline constexpr unsigned kernel_o_largefile = 0100000;

// "Checkpoint error: process P fd N (PATH): WHAT".
std::string fd_error(const sdk::OpenFile &file, std::string_view what);

// Throws a Checkpoint error unless the access mode of `file` is
// `access_mode` and its other flags are among `allowed`.
void check_flags(const sdk::OpenFile &file, unsigned access_mode,
                 unsigned allowed);

// A number as fdinfo prints it; throws a Checkpoint error naming `what`.
std::uint64_t parse_number(const sdk::OpenFile &file, std::string_view text,
                           int base, std::string_view what);

class FdInfo {
public:
  explicit FdInfo(const sdk::OpenFile &file); // reads it now
  // The rest of the first line that starts with `key` (e.g. "ticks:"),
  // trimmed; a Checkpoint error if no line does.
  std::string value(std::string_view key) const;
  std::uint64_t number(std::string_view key, int base) const;
  // Every line starting with `prefix` (e.g. "tfd:"), in order.
  std::vector<std::string> lines_starting(std::string_view prefix) const;

private:
  const sdk::OpenFile &file_;
  std::vector<std::string> lines_;
};

// The "key:value" and "key: value" fields of one line of an fdinfo list
// ("tfd: 5 events: 19 data: 7 pos:0 ..."), read one after another.
class FieldLine {
public:
  FieldLine(const sdk::OpenFile &file, const std::string &line);
  std::string text(std::string_view key) const;
  std::uint64_t number(std::string_view key, int base) const;

private:
  const sdk::OpenFile &file_;
  std::string line_;
  std::map<std::string, std::string, std::less<>> fields_;
};

using sdk::borrow_fd;
using sdk::UniqueFd;

} // namespace cpr::files
