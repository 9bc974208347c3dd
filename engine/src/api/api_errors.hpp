// How the C API reports a failure: errno, a one-line message on stderr (as
// IRIX's library did) and ckpt_errmsg().
#pragma once

#include <cpr/sdk/error.hpp>

#include <cerrno>
#include <exception>
#include <string>
#include <string_view>

namespace cpr::api {

// The errno for a message in the guide's words ("No such process" ESRCH,
// "Checkpoint error" ECKPT, ...): the phrase that comes first in it.
int errno_for(std::string_view message);

// Prints "cpr: message", keeps it for ckpt_errmsg() and sets errno.
void report_failure(const std::string &message, int err);
void report_failure(const std::string &message);
// Keeps a message printed elsewhere (by ckpt_create's child).
void remember_failure(const std::string &message, int err);

// Runs `body`; a failure is reported and `failed` returned.
template <class T, class Body> T guarded(T failed, Body body) {
  try {
    return body();
  } catch (const std::exception &e) {
    report_failure(sdk::message_of(e));
    return failed;
  }
}

} // namespace cpr::api
