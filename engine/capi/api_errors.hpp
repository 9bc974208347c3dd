// How the C API reports a failure: errno, a one-line message on stderr (as
// IRIX's library did) and ckpt_errmsg().
#pragma once

#include <cpr/sdk/error.hpp>

#include <cerrno>
#include <exception>
#include <string>

namespace cpr::api {

// The errno for a failure: from its code (sdk::Code), never its words.
int errno_for(const sdk::Error &e);

// Prints "cpr: message", keeps it for ckpt_errmsg() and sets errno.
void report_failure(const sdk::Error &e);
// Keeps a message printed elsewhere (by ckpt_create's child).
void remember_failure(const std::string &message, int err);

// Runs `body`; a failure is reported and `failed` returned.
template <class T, class Body> T guarded(T failed, Body body) {
  try {
    return body();
  } catch (const std::exception &e) {
    report_failure(sdk::as_error(e));
    return failed;
  }
}

} // namespace cpr::api
