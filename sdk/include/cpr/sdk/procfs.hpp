// Small readers of /proc that the engine and plugins share.
#pragma once

#include <cpr/sdk/range.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace cpr::sdk {

// One line of /proc/PID/maps or a header line of /proc/PID/smaps.
struct Mapping {
  Range range;
  std::string perms; // "rw-p"
  std::uint64_t offset = 0;
  std::uint64_t inode = 0;
  std::string path;    // "" for anonymous, "[stack]", "/usr/lib/...", ...
  std::string vmflags; // smaps "VmFlags:" ("rd wr mr mw me ac"), if read
};

// Whole contents of a (proc) file; throws Error naming the file.
std::string read_file(const std::string &path);
// read_file, or std::nullopt if the file does not exist (ESRCH, ENOENT).
std::optional<std::string> try_read_file(const std::string &path);

std::vector<Mapping> read_maps(pid_t pid);
// Like read_maps, with each mapping's VmFlags filled in.
std::vector<Mapping> read_smaps(pid_t pid);

// The name a file `pid` maps has now. Maps shows a file removed under the
// name it was mapped by as "NAME (deleted)", even when the file lives on
// under another name in the same directory (glibc's sem_open maps a
// temporary file, links it under the semaphore's name, removes the
// temporary one): that other name. std::nullopt if it has none.
std::optional<std::string> mapped_file_name(pid_t pid, const Mapping &m);

// UNIX98 ptys. The index of the pty whose slave device is `rdev`, or -1;
// the slave device of pty `index`.
int pty_slave_index(dev_t rdev);
dev_t pty_slave_device(int index);
// The index of the pty whose master the process holds at `fd` (its fdinfo
// says), or -1 if that fd is not a pty master.
int pty_master_index(pid_t pid, int fd);

// The fd numbers process `pid` has open, in order.
std::vector<int> fds_of(pid_t pid);

// The top of a 47-bit x86_64 user address space.
inline constexpr std::uint64_t task_size = 0x7ffffffff000ULL;

// An address A such that [A - pad, A + size + pad) meets none of `taken`:
// the lowest such spot, or (`highest`) the highest just above a taken range.
std::optional<std::uint64_t> find_gap(const std::vector<Range> &taken,
                                      std::uint64_t size, std::uint64_t pad,
                                      bool highest = false);

} // namespace cpr::sdk
