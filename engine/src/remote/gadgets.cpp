#include "remote/gadgets.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <array>
#include <string>
#include <sys/uio.h>
#include <vector>

namespace cpr::engine {
namespace {

using Bytes = std::vector<unsigned char>;

// Each executable mapping of the process, the vDSO first, with its code
// (up to 16 MiB of it).
template <typename Visit> void for_each_code(pid_t pid, Visit visit) {
  std::vector<sdk::Mapping> maps = sdk::read_maps(pid);
  std::stable_partition(maps.begin(), maps.end(), [](const sdk::Mapping &m) {
    return m.path == "[vdso]";
  });
  for (const sdk::Mapping &m : maps) {
    if (m.perms.size() < 3 || m.perms[0] != 'r' || m.perms[2] != 'x')
      continue;
    Bytes code(std::min<std::uint64_t>(m.range.size(), 16 << 20));
    iovec local{code.data(), code.size()};
    iovec remote{reinterpret_cast<void *>(m.range.start), code.size()};
    ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
    code.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    if (visit(m.range.start, code))
      return;
  }
}

std::uint64_t find(std::uint64_t start, const Bytes &code,
                   const Bytes &pattern) {
  auto at =
      std::search(code.begin(), code.end(), pattern.begin(), pattern.end());
  if (at == code.end())
    return 0;
  return start + static_cast<std::uint64_t>(at - code.begin());
}

const Bytes syscall_insn{0x0f, 0x05};
const Bytes syscall_ret{0x0f, 0x05, 0xc3};
const std::array<Bytes, 2> restorers{
    Bytes{0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05}, // mov $15,%rax
    Bytes{0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05}};            // mov $15,%eax

} // namespace

std::uint64_t find_syscall_insn(pid_t pid) {
  std::uint64_t found = 0;
  for_each_code(pid, [&](std::uint64_t start, const Bytes &code) {
    found = find(start, code, syscall_insn);
    return found != 0;
  });
  if (!found)
    throw sdk::Error(sdk::Code::checkpoint_error,
                     "Checkpoint error: process " + std::to_string(pid) +
                         " has no syscall instruction cpr can use");
  return found;
}

WayBack find_way_back(pid_t pid) {
  WayBack way;
  for_each_code(pid, [&](std::uint64_t start, const Bytes &code) {
    if (!way.syscall_ret)
      way.syscall_ret = find(start, code, syscall_ret);
    for (const Bytes &r : restorers)
      if (!way.restorer)
        way.restorer = find(start, code, r);
    return way.restorer && way.syscall_ret;
  });
  return way;
}

} // namespace cpr::engine
