#include <cpr/sdk/error.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <new>
#include <system_error>

namespace cpr::sdk {

Error::Error(const std::string &message) : std::runtime_error(message) {}
Error::Error(Code code, const std::string &message)
    : std::runtime_error(message), code_(code) {}
Error::Error(int system_errno, const std::string &message)
    : std::runtime_error(message), code_(Code::system), errno_(system_errno) {}
Error::~Error() = default;

Error Error::within(const std::string &context) const {
  Error e(code_, context + what());
  e.errno_ = errno_;
  return e;
}

IdTaken::IdTaken(const std::string &message)
    : Error(Code::unavailable_pid, message) {}
IdTaken::~IdTaken() = default;

void throw_errno(const std::string &what, int err) {
  throw Error(err, what + ": " + std::strerror(err));
}

void throw_errno(Code code, const std::string &what, int err) {
  throw Error(code, what + ": " + std::strerror(err));
}

std::string message_of(const std::exception &e) { return as_error(e).what(); }

Error as_error(const std::exception &e) {
  if (auto *error = dynamic_cast<const Error *>(&e))
    return *error;
  if (dynamic_cast<const std::bad_alloc *>(&e) ||
      dynamic_cast<const std::length_error *>(&e))
    return Error(Code::no_space, "Not enough space: cpr ran out of memory");
  if (auto *fs = dynamic_cast<const std::filesystem::filesystem_error *>(&e))
    return Error(fs->code().value(),
                 fs->path1().string() + ": " + fs->code().message());
  if (auto *sys = dynamic_cast<const std::system_error *>(&e))
    return Error(sys->code().value(),
                 "other fatal failure: " + sys->code().message());
  return Error("other fatal failure: an internal error in cpr");
}

} // namespace cpr::sdk
