// The exception types that cross the plugin boundary.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace cpr::sdk {

// What kind of failure an Error is. The C API sets errno from it (never
// from the message's words); the message begins with the guide's words for
// it where the guide has them.
enum class Code {
  other,                 // a failure of cpr's own: ECKPT
  checkpoint_error,      // "Checkpoint error": ECKPT
  component_unavailable, // "component unavailable": ECKPT
  unavailable_pid,       // "unavailable PID": EBUSY
  busy,                  // "Resource busy": EBUSY
  damaged_statefile,     // "damaged statefile": EBADMSG
  no_space,              // "Not enough space": ENOMEM
  system,                // a system call's errno (Error::system_errno())
};

// A failure a user can meet. The message is one line, names the process or
// object, and uses the IRIX guide's words where it has them
// ("Checkpoint error", "No such process", "unavailable PID", ...).
class Error : public std::runtime_error {
public:
  // Code::other.
  explicit Error(const std::string &message);
  Error(Code code, const std::string &message);
  // Code::system: what `system_errno` (EACCES, ESRCH ...) says.
  Error(int system_errno, const std::string &message);
  ~Error() override;
  Code code() const { return code_; }
  int system_errno() const { return errno_; }
  // The same failure, told with `context` before it ("restart of process
  // 5 failed: " + what()).
  Error within(const std::string &context) const;

private:
  Code code_ = Code::other;
  int errno_ = 0;
};

// A restart needs an id that another object of the system holds now (a
// System V IPC id): under FORK ANY the engine then makes the set's objects
// in a namespace of their own, where the id is free.
class IdTaken : public Error {
public:
  explicit IdTaken(const std::string &message);
  ~IdTaken() override;
};

// Error "<what>: <strerror>", of Code::system with `err`.
[[noreturn]] void throw_errno(const std::string &what, int err);
// Of `code` instead ("component unavailable: cannot reopen ...").
[[noreturn]] void throw_errno(Code code, const std::string &what, int err);

// What a user is told of any exception: an Error's own words; for one from
// the C++ library, no raw text ("std::bad_alloc", "vector::reserve"), but
// the guide's words for what happened.
std::string message_of(const std::exception &e);

// The same failure as an Error of the engine's, for any exception.
Error as_error(const std::exception &e);

} // namespace cpr::sdk
