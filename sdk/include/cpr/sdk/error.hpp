// The exception types that cross the plugin boundary.
#pragma once

#include <exception>
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

// A restart needs an id that another object of the system holds now (a
// System V IPC id): under FORK ANY the engine then makes the set's objects
// in a namespace of their own, where the id is free.
class IdTaken : public Error {
public:
  explicit IdTaken(const std::string &message);
  ~IdTaken() override;
};

// Error with strerror(errno) appended: "<what>: <strerror>".
[[noreturn]] void throw_errno(const std::string &what, int err);

// What a user is told of any exception: an Error's own words; for one from
// the C++ library, no raw text ("std::bad_alloc", "vector::reserve"), but
// the guide's words for what happened.
std::string message_of(const std::exception &e);

} // namespace cpr::sdk
