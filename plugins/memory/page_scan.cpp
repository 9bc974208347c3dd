#include "page_scan.hpp"

#include <cpr/sdk/error.hpp>

#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace cpr::memory {
namespace {

// PAGEMAP_SCAN (Linux 6.7), from <linux/fs.h>, which Debian 12 predates.
struct PageRegion {
  std::uint64_t start, end, categories;
};
struct PmScanArg {
  std::uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
  std::uint64_t category_inverted, category_mask, category_anyof_mask,
      return_mask;
};
constexpr unsigned long pagemap_scan = _IOWR('f', 16, PmScanArg);
constexpr std::uint64_t page_is_file = 1 << 2;
constexpr std::uint64_t page_is_present = 1 << 3;
constexpr std::uint64_t page_is_swapped = 1 << 4;
constexpr std::uint64_t page_is_pfnzero = 1 << 5;
constexpr std::uint64_t page_is_guard = 1 << 8; // Linux 6.14

constexpr std::uint64_t page = 4096;

void append(std::vector<sdk::Range> &out, std::uint64_t start,
            std::uint64_t end) {
  if (!out.empty() && out.back().end == start)
    out.back().end = end;
  else
    out.push_back({start, end});
}

} // namespace

PageScanner::PageScanner(pid_t pid) : pid_(pid) {
  std::string path = fmt::format("/proc/{}/pagemap", pid);
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot open " + path, errno);
}

PageScanner::~PageScanner() { ::close(fd_); }

std::vector<sdk::Range>
PageScanner::data_pages(sdk::Range vma, bool private_only,
                        std::vector<sdk::Range> *guards) {
  Found found;
  if (!have_ioctl_ || !scan_ioctl(vma, private_only, found)) {
    have_ioctl_ = false;
    found = {};
    scan_pagemap(vma, private_only, found);
  }
  if (guards)
    *guards = std::move(found.guards);
  return std::move(found.data);
}

bool PageScanner::scan_ioctl(sdk::Range vma, bool private_only, Found &out) {
  std::vector<PageRegion> regions(4096);
  PmScanArg arg{};
  arg.size = sizeof arg;
  arg.start = vma.start;
  arg.end = vma.end;
  arg.vec = reinterpret_cast<std::uint64_t>(regions.data());
  arg.vec_len = regions.size();
  std::uint64_t excluded = page_is_pfnzero | (private_only ? page_is_file : 0);
  arg.category_inverted = excluded;
  arg.category_mask = excluded;
  arg.category_anyof_mask = page_is_present | page_is_swapped | page_is_guard;
  arg.return_mask = page_is_present | page_is_swapped | page_is_guard;
  while (arg.start < vma.end) {
    long n = ::ioctl(fd_, pagemap_scan, &arg);
    if (n < 0 && errno == EINVAL && (arg.category_anyof_mask & page_is_guard)) {
      // Before 6.14 there are no guard regions to find.
      arg.category_anyof_mask &= ~page_is_guard;
      arg.return_mask &= ~page_is_guard;
      continue;
    }
    if (n < 0) {
      if (errno == ENOTTY || errno == EINVAL)
        return false; // an older kernel: read pagemap instead
      sdk::throw_errno(sdk::Code::checkpoint_error,
                       fmt::format("Checkpoint error: cannot scan the pages "
                                   "of process {}",
                                   pid_),
                       errno);
    }
    for (long i = 0; i < n; ++i)
      append(regions[i].categories & page_is_guard ? out.guards : out.data,
             regions[i].start, regions[i].end);
    if (arg.walk_end <= arg.start)
      break;
    arg.start = arg.walk_end;
  }
  return true;
}

void PageScanner::scan_pagemap(sdk::Range vma, bool private_only, Found &out) {
  constexpr std::uint64_t present = 1ULL << 63, swapped = 1ULL << 62,
                          file_or_shared = 1ULL << 61, guard = 1ULL << 58;
  std::vector<std::uint64_t> entries(1 << 16);
  for (std::uint64_t at = vma.start; at < vma.end;) {
    std::uint64_t count =
        std::min<std::uint64_t>(entries.size(), (vma.end - at) / page);
    ssize_t n = ::pread(fd_, entries.data(), count * 8,
                        static_cast<off_t>(at / page * 8));
    if (n != static_cast<ssize_t>(count * 8))
      sdk::throw_errno(sdk::Code::checkpoint_error,
                       fmt::format("Checkpoint error: cannot read the page "
                                   "map of process {}",
                                   pid_),
                       n < 0 ? errno : EIO);
    for (std::uint64_t i = 0; i < count; ++i) {
      std::uint64_t e = entries[i];
      bool data =
          (e & (present | swapped)) && !(private_only && (e & file_or_shared));
      if (data)
        append(out.data, at + i * page, at + (i + 1) * page);
      else if (e & guard)
        append(out.guards, at + i * page, at + (i + 1) * page);
    }
    at += count * page;
  }
}

} // namespace cpr::memory
