// The one exception type that crosses the plugin boundary.
#pragma once

#include <stdexcept>
#include <string>

namespace cpr::sdk {

// A failure a user can meet. The message is one line, names the process or
// object, and uses the IRIX guide's words where it has them
// ("Checkpoint error", "No such process", "unavailable PID", ...).
class Error : public std::runtime_error {
public:
  explicit Error(const std::string &message);
  ~Error() override;
};

// Error with strerror(errno) appended: "<what>: <strerror>".
[[noreturn]] void throw_errno(const std::string &what, int err);

} // namespace cpr::sdk
