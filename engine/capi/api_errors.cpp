#include "api_errors.hpp"

#include <ckpt.h>

#include <cstdio>
#include <cstring>

namespace cpr::api {
namespace {

thread_local std::string last_message;

} // namespace

int errno_for(const sdk::Error &e) {
  switch (e.code()) {
  case sdk::Code::unavailable_pid:
  case sdk::Code::busy:
    return EBUSY;
  case sdk::Code::damaged_statefile:
    return EBADMSG;
  case sdk::Code::no_space:
    return ENOMEM;
  case sdk::Code::system:
    return e.system_errno() > 0 ? e.system_errno() : ECKPT;
  case sdk::Code::other:
  case sdk::Code::checkpoint_error:
  case sdk::Code::component_unavailable:
    break;
  }
  return ECKPT;
}

void remember_failure(const std::string &message, int err) {
  last_message = message;
  errno = err;
}

void report_failure(const std::string &message, int err) {
  std::fprintf(stderr, "cpr: %s\n", message.c_str());
  remember_failure(message, err);
}

void report_failure(const sdk::Error &e) {
  report_failure(e.what(), errno_for(e));
}

} // namespace cpr::api

extern "C" const char *ckpt_errmsg(void) {
  return cpr::api::last_message.c_str();
}
