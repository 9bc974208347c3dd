// A process the engine holds under ptrace: frozen at checkpoint, or being
// built at restart. Handlers act on it only through this interface.
#pragma once

#include <cpr/sdk/range.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace cpr::sdk {

class Tracee {
public:
  virtual ~Tracee() = default;

  virtual pid_t pid() const = 0;

  // Runs one system call inside the tracee and returns what the kernel
  // returned (a negative errno on failure). Registers are put back after.
  virtual long syscall(long nr, std::uint64_t a1 = 0, std::uint64_t a2 = 0,
                       std::uint64_t a3 = 0, std::uint64_t a4 = 0,
                       std::uint64_t a5 = 0, std::uint64_t a6 = 0) = 0;

  struct Call {
    long nr;
    std::uint64_t args[6];
  };
  // The calls, one after another inside the tracee, each result (errors
  // included) in order; the engine runs them in one go where it can. Only
  // for calls that do not block.
  virtual std::vector<long> syscalls(const std::vector<Call> &calls);

  // The address of at least `size` bytes of scratch memory inside the
  // tracee (read-write), valid until the next call of scratch().
  virtual std::uint64_t scratch(std::size_t size) = 0;

  // Areas of the tracee's address space that the engine itself placed there
  // (the syscall gadget, the scratch page). Handlers leave them alone.
  virtual std::vector<Range> reserved() const = 0;

  virtual void read(std::uint64_t addr, void *buf, std::size_t len) = 0;
  virtual void write(std::uint64_t addr, const void *buf, std::size_t len) = 0;
};

// Helpers built on Tracee::syscall. All throw Error on failure, naming `what`.
long remote_call(Tracee &t, const std::string &what, long nr,
                 std::uint64_t a1 = 0, std::uint64_t a2 = 0,
                 std::uint64_t a3 = 0, std::uint64_t a4 = 0,
                 std::uint64_t a5 = 0, std::uint64_t a6 = 0);
int remote_open(Tracee &t, const std::string &path, int flags);
void remote_close(Tracee &t, int fd);

} // namespace cpr::sdk
