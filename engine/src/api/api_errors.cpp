#include "api_errors.hpp"

#include <ckpt.h>

#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

namespace cpr::api {
namespace {

thread_local std::string last_message;

// The guide's words that Linux's strerror() spells otherwise, and cpr's own.
const std::vector<std::pair<std::string, int>> &phrases() {
  static const std::vector<std::pair<std::string, int>> table = [] {
    std::vector<std::pair<std::string, int>> t{
        {"Checkpoint error", ECKPT},         {"component unavailable", ECKPT},
        {"unavailable PID", EBUSY},          {"Resource busy", EBUSY},
        {"damaged statefile", EBADMSG},      {"Not enough space", ENOMEM},
        {"Filename too long", ENAMETOOLONG}, {"Too many symbolic links", ELOOP},
    };
    for (int e = 1; e < 134; ++e)
      t.emplace_back(std::strerror(e), e);
    return t;
  }();
  return table;
}

} // namespace

int errno_for(std::string_view message) {
  size_t best = std::string_view::npos;
  int err = ECKPT;
  for (const auto &[phrase, e] : phrases()) {
    size_t at = message.find(phrase);
    if (at < best) {
      best = at;
      err = e;
    }
  }
  return err;
}

void remember_failure(const std::string &message, int err) {
  last_message = message;
  errno = err;
}

void report_failure(const std::string &message, int err) {
  std::fprintf(stderr, "cpr: %s\n", message.c_str());
  remember_failure(message, err);
}

void report_failure(const std::string &message) {
  report_failure(message, errno_for(message));
}

} // namespace cpr::api

extern "C" const char *ckpt_errmsg(void) {
  return cpr::api::last_message.c_str();
}
