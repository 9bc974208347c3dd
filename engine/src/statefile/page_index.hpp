// The index of a process's pages (in the statefile's INDEX): where each page
// saved came from in the process and a hash of what it held. A checkpoint made
// --since an earlier statefile keeps, of every page that holds what the
// earlier one saved at that address, a reference instead of a copy.
#pragma once

#include "statefile/manifest.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace cpr::engine {

struct PageHash {
  std::uint64_t low = 0, high = 0; // XXH3-128; 0, 0: not saved (zeros)
  bool operator==(const PageHash &) const = default;
  bool saved() const { return low != 0 || high != 0; }
};
PageHash hash_page(const char *page);

// Pages from `address` on, saved from `logical` on.
struct IndexRun {
  std::uint64_t address = 0, length = 0, logical = 0;
};

struct PageIndex {
  std::vector<IndexRun> runs;   // as saved: by logical offset
  std::vector<PageHash> hashes; // by logical page

  std::string bytes() const;
  // Throws "damaged statefile NAME: FILE is inconsistent" unless `bytes`
  // is an index whose runs lie within its hashes.
  static PageIndex parse(const std::string &bytes, const std::string &statefile,
                         const std::string &file);
  // Sorted by address, for logical_at().
  void sort_by_address();
  // The logical offset of the page at `address`, if it was saved.
  std::optional<std::uint64_t> logical_at(std::uint64_t address) const;
};

// The statefile's INDEX: the index of each process's pages, by PID.
inline constexpr const char *index_file = "INDEX";
inline constexpr std::uint64_t max_index_size = 1ULL << 30;
std::string indexes_bytes(const std::map<pid_t, const PageIndex *> &indexes);
// Throws "damaged statefile NAME: INDEX is inconsistent" unless `bytes` is
// one.
std::map<pid_t, PageIndex> parse_indexes(const std::string &bytes,
                                         const std::string &statefile);

// What a checkpoint --since an earlier statefile refers to: for each of its
// processes, its index and where its pages are (in the earlier statefile,
// source 0, or in one it refers to itself, source k: its ancestor k).
struct EarlierPages {
  struct Process {
    PageIndex index;
    std::vector<PageExtent> extents;
  };
  std::map<pid_t, Process> processes;
  // Where the page at `address` of process `pid` is, if it held `hash`
  // there: a one-page extent at logical 0, its source counted from the
  // new statefile (the earlier one is its source 1).
  std::optional<PageExtent> same_page(pid_t pid, std::uint64_t address,
                                      const PageHash &hash) const;
};

} // namespace cpr::engine
