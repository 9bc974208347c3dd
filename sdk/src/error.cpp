#include <cpr/sdk/error.hpp>

#include <cstring>

namespace cpr::sdk {

Error::Error(const std::string &message) : std::runtime_error(message) {}
Error::~Error() = default;

IdTaken::IdTaken(const std::string &message) : Error(message) {}
IdTaken::~IdTaken() = default;

void throw_errno(const std::string &what, int err) {
  throw Error(what + ": " + std::strerror(err));
}

} // namespace cpr::sdk
