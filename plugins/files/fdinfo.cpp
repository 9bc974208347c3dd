#include "fdinfo.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <charconv>
#include <fcntl.h>
#include <fmt/format.h>
#include <sstream>
#include <sys/syscall.h>
#include <unistd.h>

namespace cpr::files {
namespace {

std::string trim(std::string_view text) {
  auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos)
    return {};
  auto last = text.find_last_not_of(" \t");
  return std::string(text.substr(first, last - first + 1));
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

} // namespace

std::string fd_error(const sdk::OpenFile &file, std::string_view what) {
  return fmt::format("Checkpoint error: process {} fd {} ({}): {}", file.pid,
                     file.fd, file.path, what);
}

void check_flags(const sdk::OpenFile &file, unsigned access_mode,
                 unsigned allowed) {
  unsigned mode = file.flags & O_ACCMODE;
  unsigned unknown = file.flags & ~(O_ACCMODE | allowed);
  if (mode != access_mode || unknown != 0)
    throw sdk::Error(fd_error(
        file, fmt::format("flags 0{:o} not understood (0{:o} unexpected)",
                          file.flags, unknown | (mode ^ access_mode))));
}

std::uint64_t parse_number(const sdk::OpenFile &file, std::string_view text,
                           int base, std::string_view what) {
  std::uint64_t value = 0;
  const char *end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value, base);
  if (text.empty() || ec != std::errc() || ptr != end)
    throw sdk::Error(
        fd_error(file, fmt::format("fdinfo field {} is '{}', not a number",
                                   what, text)));
  return value;
}

FdInfo::FdInfo(const sdk::OpenFile &file) : file_(file) {
  std::istringstream in(
      sdk::read_file(fmt::format("/proc/{}/fdinfo/{}", file.pid, file.fd)));
  for (std::string line; std::getline(in, line);)
    lines_.push_back(line);
}

std::string FdInfo::value(std::string_view key) const {
  for (const std::string &line : lines_)
    if (starts_with(line, key))
      return trim(std::string_view(line).substr(key.size()));
  throw sdk::Error(fd_error(file_, fmt::format("fdinfo has no {}", key)));
}

std::uint64_t FdInfo::number(std::string_view key, int base) const {
  return parse_number(file_, value(key), base, key);
}

std::vector<std::string> FdInfo::lines_starting(std::string_view prefix) const {
  std::vector<std::string> out;
  for (const std::string &line : lines_)
    if (starts_with(line, prefix))
      out.push_back(line);
  return out;
}

FieldLine::FieldLine(const sdk::OpenFile &file, const std::string &line)
    : file_(file), line_(line) {
  std::istringstream in(line);
  std::string token;
  while (in >> token) {
    auto colon = token.find(':');
    if (colon == std::string::npos)
      continue;
    std::string value = token.substr(colon + 1);
    if (value.empty())
      in >> value;
    fields_[token.substr(0, colon + 1)] = value;
  }
}

std::string FieldLine::text(std::string_view key) const {
  auto found = fields_.find(key);
  if (found == fields_.end())
    throw sdk::Error(
        fd_error(file_, fmt::format("fdinfo line '{}' has no {}", line_, key)));
  return found->second;
}

std::uint64_t FieldLine::number(std::string_view key, int base) const {
  return parse_number(file_, text(key), base, key);
}

} // namespace cpr::files
