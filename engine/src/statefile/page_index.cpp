#include "statefile/page_index.hpp"

#include "statefile/page_chunks.hpp"

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <xxhash.h>

namespace cpr::engine {
namespace {

constexpr char magic[8] = {'C', 'P', 'R', 'I', 'D', 'X', '1', '\0'};

void put(std::string &out, std::uint64_t v) {
  out.append(reinterpret_cast<const char *>(&v), sizeof v);
}

} // namespace

PageHash hash_page(const char *page) {
  XXH128_hash_t h = XXH3_128bits(page, page_size);
  PageHash out{h.low64, h.high64};
  if (!out.saved())
    out.low = 1; // 0, 0 means "not saved"
  return out;
}

namespace {

constexpr char indexes_magic[8] = {'C', 'P', 'R', 'I', 'N', 'D', 'X', '1'};

} // namespace

std::string indexes_bytes(const std::map<pid_t, const PageIndex *> &indexes) {
  std::string out(indexes_magic, sizeof indexes_magic);
  put(out, indexes.size());
  for (const auto &[pid, index] : indexes) {
    std::string one = index->bytes();
    put(out, static_cast<std::uint64_t>(pid));
    put(out, one.size());
    out += one;
  }
  return out;
}

std::map<pid_t, PageIndex> parse_indexes(const std::string &bytes,
                                         const std::string &statefile) {
  auto bad = [&] {
    return sdk::Error(sdk::Code::damaged_statefile,
                      fmt::format("damaged statefile {}: {} is inconsistent",
                                  statefile, index_file));
  };
  std::size_t at = sizeof indexes_magic + 8;
  if (bytes.size() < at ||
      std::memcmp(bytes.data(), indexes_magic, sizeof indexes_magic))
    throw bad();
  std::uint64_t count;
  std::memcpy(&count, bytes.data() + sizeof indexes_magic, 8);
  std::map<pid_t, PageIndex> out;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t pid, len;
    if (bytes.size() - at < 16)
      throw bad();
    std::memcpy(&pid, bytes.data() + at, 8);
    std::memcpy(&len, bytes.data() + at + 8, 8);
    at += 16;
    if (len > bytes.size() - at || pid == 0 || pid > 0x7fffffff)
      throw bad();
    out[static_cast<pid_t>(pid)] =
        PageIndex::parse(bytes.substr(at, len), statefile, index_file);
    at += len;
  }
  if (at != bytes.size())
    throw bad();
  return out;
}

std::string PageIndex::bytes() const {
  std::string out(magic, sizeof magic);
  out.reserve(sizeof magic + 16 + runs.size() * 24 + hashes.size() * 16);
  put(out, runs.size());
  put(out, hashes.size());
  for (const IndexRun &r : runs)
    for (std::uint64_t v : {r.address, r.length, r.logical})
      put(out, v);
  for (const PageHash &h : hashes)
    for (std::uint64_t v : {h.low, h.high})
      put(out, v);
  return out;
}

PageIndex PageIndex::parse(const std::string &bytes,
                           const std::string &statefile,
                           const std::string &file) {
  auto bad = [&] {
    return sdk::Error(sdk::Code::damaged_statefile,
                      fmt::format("damaged statefile {}: {} is inconsistent",
                                  statefile, file));
  };
  const std::size_t head = sizeof magic + 16;
  if (bytes.size() < head || std::memcmp(bytes.data(), magic, sizeof magic))
    throw bad();
  std::uint64_t nruns, nhashes;
  std::memcpy(&nruns, bytes.data() + sizeof magic, 8);
  std::memcpy(&nhashes, bytes.data() + sizeof magic + 8, 8);
  if (nruns > bytes.size() / 24 || nhashes > bytes.size() / 16 ||
      bytes.size() != head + nruns * 24 + nhashes * 16)
    throw bad();
  PageIndex index;
  index.runs.resize(nruns);
  index.hashes.resize(nhashes);
  const char *p = bytes.data() + head;
  for (IndexRun &r : index.runs) {
    std::memcpy(&r, p, 24);
    p += 24;
    bool pages = (r.address | r.length | r.logical) % page_size == 0;
    if (!pages || r.length == 0 || r.address + r.length < r.address ||
        r.logical / page_size > nhashes ||
        r.length / page_size > nhashes - r.logical / page_size)
      throw bad();
  }
  std::memcpy(index.hashes.data(), p, nhashes * 16);
  return index;
}

void PageIndex::sort_by_address() {
  std::sort(runs.begin(), runs.end(), [](const IndexRun &a, const IndexRun &b) {
    return a.address < b.address;
  });
}

std::optional<std::uint64_t>
PageIndex::logical_at(std::uint64_t address) const {
  auto after = std::upper_bound(
      runs.begin(), runs.end(), address,
      [](std::uint64_t a, const IndexRun &r) { return a < r.address; });
  if (after == runs.begin())
    return std::nullopt;
  const IndexRun &r = *std::prev(after);
  if (address - r.address >= r.length)
    return std::nullopt;
  return r.logical + (address - r.address);
}

std::optional<PageExtent> EarlierPages::same_page(pid_t pid,
                                                  std::uint64_t address,
                                                  const PageHash &hash) const {
  auto p = processes.find(pid);
  if (p == processes.end())
    return std::nullopt;
  std::optional<std::uint64_t> logical = p->second.index.logical_at(address);
  if (!logical || p->second.index.hashes[*logical / page_size] != hash)
    return std::nullopt;
  const std::vector<PageExtent> &extents = p->second.extents;
  auto after = std::upper_bound(
      extents.begin(), extents.end(), *logical,
      [](std::uint64_t at, const PageExtent &e) { return at < e.logical; });
  if (after == extents.begin())
    return std::nullopt;
  const PageExtent &e = *std::prev(after);
  if (*logical - e.logical >= e.length)
    return std::nullopt;
  return PageExtent{0, page_size, e.physical + (*logical - e.logical),
                    e.source + 1};
}

} // namespace cpr::engine
