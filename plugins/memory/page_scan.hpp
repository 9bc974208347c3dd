// Which pages of a mapping hold data worth saving: present or swapped, and
// (for private mappings) not the file's own page nor the shared zero page.
#pragma once

#include <cpr/sdk/range.hpp>

#include <sys/types.h>
#include <vector>

namespace cpr::memory {

class PageScanner {
public:
  explicit PageScanner(pid_t pid);
  ~PageScanner();
  PageScanner(const PageScanner &) = delete;
  PageScanner &operator=(const PageScanner &) = delete;

  // `private_copies_only`: skip pages still backed by the file (or by the
  // zero page): they come back by themselves when the mapping is redone.
  // `guards`, if given, gets the guard regions (MADV_GUARD_INSTALL).
  std::vector<sdk::Range> data_pages(sdk::Range vma, bool private_copies_only,
                                     std::vector<sdk::Range> *guards = nullptr);

private:
  struct Found {
    std::vector<sdk::Range> data, guards;
  };
  bool scan_ioctl(sdk::Range vma, bool private_only, Found &out);
  void scan_pagemap(sdk::Range vma, bool private_only, Found &out);

  pid_t pid_;
  int fd_;
  bool have_ioctl_ = true;
};

} // namespace cpr::memory
