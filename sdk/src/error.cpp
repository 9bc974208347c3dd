#include <cpr/sdk/error.hpp>

#include <cstring>
#include <filesystem>
#include <new>
#include <system_error>

namespace cpr::sdk {

Error::Error(const std::string &message) : std::runtime_error(message) {}
Error::~Error() = default;

IdTaken::IdTaken(const std::string &message) : Error(message) {}
IdTaken::~IdTaken() = default;

void throw_errno(const std::string &what, int err) {
  throw Error(what + ": " + std::strerror(err));
}

std::string message_of(const std::exception &e) {
  if (dynamic_cast<const Error *>(&e))
    return e.what();
  if (dynamic_cast<const std::bad_alloc *>(&e) ||
      dynamic_cast<const std::length_error *>(&e))
    return "Not enough space: cpr ran out of memory";
  if (auto *fs = dynamic_cast<const std::filesystem::filesystem_error *>(&e))
    return fs->path1().string() + ": " + fs->code().message();
  if (auto *sys = dynamic_cast<const std::system_error *>(&e))
    return "other fatal failure: " + sys->code().message();
  return "other fatal failure: an internal error in cpr";
}

} // namespace cpr::sdk
