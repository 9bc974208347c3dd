// RemoteProcess and the tracee's memory: reading and writing it, the
// scratch memory of its calls, areas mapped at a spot far from the rest.
#include "remote/remote.hpp"

#include "remote/remote_code.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

namespace cpr::engine {

std::uint64_t RemoteProcess::scratch(std::size_t size) {
  if (scratch_.size() == 0 || size > scratch_.size())
    throw sdk::Error("internal error: no scratch memory of " +
                     std::to_string(size) + " bytes in process " +
                     std::to_string(pid_));
  return scratch_.start;
}

void RemoteProcess::read(std::uint64_t addr, void *buf, std::size_t len) {
  iovec local{buf, len};
  iovec remote{reinterpret_cast<void *>(addr), len};
  ssize_t n = ::process_vm_readv(pid_, &local, 1, &remote, 1, 0);
  if (n != static_cast<ssize_t>(len))
    sdk::throw_errno("cannot read memory of process " + std::to_string(pid_),
                     n < 0 ? errno : EFAULT);
}

void RemoteProcess::write(std::uint64_t addr, const void *buf,
                          std::size_t len) {
  // Through /proc/PID/mem, which may write into read-only pages.
  if (mem_fd_ < 0) {
    std::string path = "/proc/" + std::to_string(pid_) + "/mem";
    mem_fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (mem_fd_ < 0)
      sdk::throw_errno("cannot open " + path, errno);
  }
  ssize_t n = ::pwrite(mem_fd_, buf, len, static_cast<off_t>(addr));
  if (n != static_cast<ssize_t>(len))
    sdk::throw_errno("cannot write memory of process " + std::to_string(pid_),
                     n < 0 ? errno : EFAULT);
}

std::uint64_t RemoteProcess::free_spot(const std::vector<sdk::Range> &avoid,
                                       std::uint64_t size) const {
  std::vector<sdk::Range> taken = avoid;
  for (const sdk::Mapping &m : sdk::read_maps(pid_))
    taken.push_back(m.range);
  // A wide margin keeps the area from merging with, or sitting in the
  // guard gap of, any mapping of the process. High up, its line in
  // /proc/PID/maps comes after the process's own (a /proc file's offset is
  // set while the area is there: the text up to it must be the process's).
  auto where = sdk::find_gap(taken, size, 1 << 20, true);
  if (!where)
    throw sdk::Error(EAGAIN,
                     "Resource temporarily unavailable: no free address "
                     "range in process " +
                         std::to_string(pid_));
  return *where;
}

sdk::Range RemoteProcess::map_private_area(const std::vector<sdk::Range> &avoid,
                                           std::size_t pages) {
  std::uint64_t size = pages * page;
  std::uint64_t where = free_spot(avoid, size);
  sdk::remote_call(*this, "map a work area", SYS_mmap, where, size,
                   PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                   static_cast<std::uint64_t>(-1), 0);
  reserved_.push_back({where, where + size});
  return reserved_.back();
}

void RemoteProcess::unmap(sdk::Range area) {
  sdk::remote_call(*this, "unmap a work area", SYS_munmap, area.start,
                   area.size());
  std::erase_if(reserved_, [&](const sdk::Range &r) {
    return r.start == area.start && r.end == area.end;
  });
  if (scratch_.overlaps(area))
    scratch_ = {};
}

} // namespace cpr::engine
