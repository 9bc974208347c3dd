// PageReader: a process's memory filled from its pages file at restart,
// the next chunk read and the last one tagged while one fills the process.
#include "statefile/pages.hpp"

#include "remote/remote.hpp"
#include "statefile/page_chunks.hpp"
#include "statefile/stopwatch.hpp"
#include "trust/privilege.hpp"
#include "trust/safe_open.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <algorithm>
#include <fcntl.h>
#include <fmt/format.h>
#include <set>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace cpr::engine {

PageReader::PageReader(std::string statefile, int dir_fd, SealKey key,
                       SealEntries sealed)
    : statefile_(std::move(statefile)), buffers_{make_buffer(), make_buffer()} {
  auto own = std::make_unique<Source>();
  own->statefile = statefile_;
  own->dir_fd = dir_fd;
  own->key = std::move(key);
  own->sealed = std::move(sealed);
  sources_.push_back(std::move(own));
}

void PageReader::add_source(OpenedStatefile ancestor) {
  auto s = std::make_unique<Source>();
  s->statefile = ancestor.path;
  s->own_dir = std::move(ancestor.dir);
  s->dir_fd = s->own_dir.get();
  s->key = std::move(ancestor.key);
  s->sealed = std::move(ancestor.pages);
  for (ProcessRecord &p : ancestor.manifest.processes)
    s->files[p.pid] = {p.pages_bytes, std::move(p.page_frames)};
  sources_.push_back(std::move(s));
}

PageReader::~PageReader() = default;

namespace {

// Pages files this small are read ahead into the page cache as soon as
// they are opened, up to the budget: the disk reads them while the tree
// is built, where one read each, just before its process is filled, would
// have nothing to overlap with.
constexpr std::uint64_t read_ahead_file = 2 * buffer_size;
constexpr std::uint64_t read_ahead_budget = 512ULL << 20;

// Extents in order, apart, of whole pages, each inside the file of its
// source (`bytes_of`: its size, 0 for no such source).
template <class BytesOf>
bool well_formed(const std::vector<PageExtent> &extents, BytesOf bytes_of) {
  std::uint64_t logical_end = 0;
  for (const PageExtent &e : extents) {
    bool pages = (e.logical | e.length | e.physical) % page_size == 0;
    std::uint64_t bytes = bytes_of(e.source);
    if (!pages || e.length == 0 || e.logical < logical_end ||
        e.physical > bytes || e.length > bytes - e.physical ||
        e.logical + e.length < e.logical)
      return false;
    logical_end = e.logical + e.length;
  }
  return true;
}

} // namespace

std::uint64_t PageReader::source_bytes(std::uint32_t source, pid_t pid,
                                       std::uint64_t own) const {
  if (source == 0)
    return own;
  if (source >= sources_.size())
    return 0;
  auto f = sources_[source]->files.find(pid);
  return f == sources_[source]->files.end() ? 0 : f->second.first;
}

void PageReader::open(pid_t pid, std::uint64_t bytes,
                      std::vector<PageExtent> extents,
                      std::vector<PageFrame> frames) {
  auto bytes_of = [&](std::uint32_t k) { return source_bytes(k, pid, bytes); };
  if (!well_formed(extents, bytes_of) || !frames_well_formed(frames, bytes))
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile {}: the index of "
                                 "pages/{}.img is inconsistent",
                                 statefile_, pid));
  std::set<std::uint32_t> used;
  for (const PageExtent &e : extents)
    used.insert(e.source);
  if (bytes > 0)
    used.insert(0);
  for (std::uint32_t k : used)
    if (k == 0)
      open_file(0, pid, bytes, std::move(frames));
    else
      open_file(k, pid, bytes_of(k), sources_[k]->files.at(pid).second);
  extents_[pid] = std::move(extents);
}

void PageReader::open_file(std::uint32_t source, pid_t pid, std::uint64_t bytes,
                           std::vector<PageFrame> frames) {
  const Source &src = *sources_[source];
  std::string name = fmt::format("pages/{}.img", pid);
  if (files_.count({source, pid}))
    return;
  if (!frames_well_formed(frames, bytes))
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile {}: the index of {} is "
                                 "inconsistent",
                                 src.statefile, name));
  auto sealed = src.sealed.find(name);
  const std::uint64_t stored =
      frames.empty() ? bytes : frame_end(frames.back());
  bool ahead = stored > 0 && stored <= read_ahead_file &&
               read_ahead_ + stored <= read_ahead_budget;
  // Else O_DIRECT, as the pages were written: they are not in the page
  // cache, and big direct reads beat its read-ahead.
  sdk::UniqueFd fd =
      open_beneath(src.dir_fd, name, O_RDONLY | (ahead ? 0 : O_DIRECT));
  if (fd.get() < 0 && errno == EINVAL)
    fd = open_beneath(src.dir_fd, name, O_RDONLY);
  if (fd.get() < 0 && errno == ENOENT)
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile {}: {} is missing",
                                 src.statefile, name));
  if (fd.get() < 0 || sealed == src.sealed.end())
    statefile_altered(src.statefile, name);
  struct stat st {};
  ::fstat(fd.get(), &st);
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < stored || size < sealed->second.size)
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile {}: {} is truncated",
                                 src.statefile, name));
  if (size > sealed->second.size && !bench_unsealed())
    statefile_altered(src.statefile, name); // its tail would not be read
  if (ahead && ::posix_fadvise(fd.get(), 0, static_cast<off_t>(stored),
                               POSIX_FADV_WILLNEED) == 0)
    read_ahead_ += stored;
  if (!frames.empty() && !frame_) {
    stored_frame_ = make_buffer(FrameCompressor::bound(buffer_size));
    frame_ = make_buffer();
  }
  File &f = files_[{source, pid}];
  f.source = &src;
  f.fd = std::move(fd);
  f.frames = std::move(frames);
  f.name = name;
  f.sealed = sealed->second;
  if (!bench_unsealed())
    f.mac = src.key.mac_for(name);
}

void PageReader::read_chunk(char *buffer, const Chunk &c) {
  for (const Piece &p : c.pieces) {
    if (p.file->frames.empty())
      read_exactly(*p.file, buffer, p.len, p.offset);
    else
      read_frames(*p.file, buffer, p);
    buffer += p.len;
  }
}

void PageReader::read_exactly(File &f, char *buffer, std::size_t len,
                              std::uint64_t offset) {
  std::size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(f.fd.get(), buffer + done, len - done,
                        static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw sdk::Error(sdk::Code::damaged_statefile,
                       fmt::format("damaged statefile {}: {} is short",
                                   f.source->statefile, f.name));
    done += static_cast<std::size_t>(n);
  }
}

// A compressed file is hashed as its frames are read (load_frame).
void PageReader::hash_chunk(const char *buffer, const Chunk &c) {
  for (const Piece &p : c.pieces) {
    hash_piece(*p.file, buffer, p);
    buffer += p.len;
  }
}

void PageReader::hash_piece(File &f, const char *buffer, const Piece &c) {
  if (bench_unsealed() || !f.frames.empty())
    return;
  // Pages the restart skips (those a later statefile changed, when this is
  // an earlier one's file) are read too, when few, to hash it in order.
  constexpr std::uint64_t max_gap = 1 << 20;
  if (f.in_order && c.offset > f.hashed && c.offset - f.hashed <= max_gap) {
    const std::uint64_t gap = c.offset - f.hashed;
    Buffer between = make_buffer(gap);
    read_exactly(f, between.get(), gap, f.hashed);
    f.mac.update(between.get(), gap);
    f.hashed = c.offset;
  }
  if (f.in_order && c.offset == f.hashed) {
    f.mac.update(buffer, c.len);
    f.hashed += c.len;
  } else {
    f.in_order = false;
  }
}

void PageReader::verify() {
  if (bench_unsealed())
    return;
  for (auto &[key, f] : files_) {
    // Read out of order, or not all of it: read again. (What the process
    // got could then differ from what is checked, but pages are only ever
    // the owner's own memory.)
    bool as_sealed = f.in_order && f.hashed == f.sealed.size
                         ? f.mac.final() == f.sealed.digest
                         : whole_file_as_sealed(f);
    if (!as_sealed)
      statefile_altered(f.source->statefile, f.name);
  }
}

bool PageReader::whole_file_as_sealed(const File &f) const {
  sdk::UniqueFd plain = open_beneath(f.source->dir_fd, f.name, O_RDONLY);
  if (plain.get() < 0)
    return false;
  std::uint64_t size = 0;
  Digest d = digest_of(plain.get(), f.source->key.mac_for(f.name), size);
  return size == f.sealed.size && d == f.sealed.digest;
}

// The pages of `ranges` (one after another from `logical`) that the file
// holds, in buffer-sized pieces of the file, each with where it is there
// (inside the file: open() checked every extent).
std::vector<PageReader::Chunk>
PageReader::chunks_of(pid_t pid, std::uint64_t logical,
                      std::span<const sdk::Range> ranges) {
  static const std::vector<PageExtent> none; // every page left out
  auto known = extents_.find(pid);
  const std::vector<PageExtent> &extents =
      known == extents_.end() ? none : known->second;
  std::vector<Chunk> chunks;
  auto add = [&](File *file, std::uint64_t addr, std::uint64_t len,
                 std::uint64_t at) {
    Chunk *c = chunks.empty() ? nullptr : &chunks.back();
    if (!c || c->remote.size() == max_iov || c->len + len > buffer_size)
      c = &chunks.emplace_back();
    c->remote.push_back(remote_iov(addr, len));
    c->len += len;
    Piece *last = c->pieces.empty() ? nullptr : &c->pieces.back();
    if (last && last->file == file && last->offset + last->len == at)
      last->len += len;
    else
      c->pieces.push_back({file, at, len});
  };
  auto extent = std::upper_bound(
      extents.begin(), extents.end(), logical,
      [](std::uint64_t at, const PageExtent &e) { return at < e.logical; });
  if (extent != extents.begin())
    --extent; // the one that may hold `logical`
  for (const sdk::Range &r : ranges) {
    for (std::uint64_t addr = r.start; addr < r.end;) {
      while (extent != extents.end() &&
             extent->logical + extent->length <= logical)
        ++extent;
      std::uint64_t left = r.end - addr;
      if (extent == extents.end() || extent->logical > logical) {
        // Left out as zeros, up to the next extent.
        std::uint64_t gap = extent == extents.end()
                                ? left
                                : std::min(left, extent->logical - logical);
        addr += gap, logical += gap;
        continue;
      }
      std::uint64_t take = std::min(
          {left, extent->logical + extent->length - logical, buffer_size});
      add(&files_.at({extent->source, pid}), addr, take,
          extent->physical + (logical - extent->logical));
      addr += take, logical += take;
    }
  }
  return chunks;
}

namespace {

// Copies `len` bytes from `buffer` to the `remote` ranges; 0 or an errno.
int write_process(pid_t pid, const char *buffer, std::span<const iovec> remote,
                  std::size_t len) {
  iovec local{const_cast<char *>(buffer), len};
  ssize_t put =
      ::process_vm_writev(pid, &local, 1, remote.data(), remote.size(), 0);
  return put == static_cast<ssize_t>(len) ? 0 : put < 0 ? errno : EFAULT;
}

} // namespace

// Fresh memory is zeroed by the kernel as it is first written, which costs
// more than the copy: half of a big chunk is written from another core.
int PageReader::fill(pid_t pid, const char *buffer, const Chunk &c) {
  constexpr std::size_t worth_a_thread = 1 << 20;
  if (c.len < worth_a_thread)
    return write_process(pid, buffer, c.remote, c.len);
  std::vector<iovec> first, second;
  std::size_t half = c.len / 2 / page_size * page_size, taken = 0;
  for (const iovec &r : c.remote) {
    std::size_t in_first = std::min(r.iov_len, half - std::min(half, taken));
    if (in_first > 0)
      first.push_back({r.iov_base, in_first});
    if (in_first < r.iov_len)
      second.push_back(
          {static_cast<char *>(r.iov_base) + in_first, r.iov_len - in_first});
    taken += r.iov_len;
  }
  std::future<int> other = std::async(std::launch::async, [&] {
    allow_any_cpu();
    return write_process(pid, buffer + half, second, c.len - half);
  });
  int err = write_process(pid, buffer, first, half);
  int other_err = other.get();
  return err != 0 ? err : other_err;
}

void PageReader::restore(pid_t pid, std::uint64_t offset,
                         std::span<const sdk::Range> ranges) {
  Stopwatch watch(seconds_);
  auto alias = aliases_.find(pid);
  const std::vector<Chunk> chunks =
      chunks_of(alias == aliases_.end() ? pid : alias->second, offset, ranges);
  std::future<void> reading;
  auto read_ahead = [&](std::size_t k) {
    reading = std::async(std::launch::async, [&, k] {
      allow_any_cpu();
      read_chunk(buffers_[k % 2].get(), chunks[k]);
    });
  };
  // The first read has nothing to overlap with: no thread for it.
  if (!chunks.empty())
    reading = std::async(std::launch::deferred, &PageReader::read_chunk, this,
                         buffers_[0].get(), std::cref(chunks[0]));
  // Chunk k is hashed on one core while it fills the process on the other,
  // and chunk k+1 is read meanwhile; its buffer was chunk k-1's, so that
  // one's hash must be done first.
  std::future<void> hashing;
  auto settle = [&] {
    for (std::future<void> *f : {&reading, &hashing})
      if (f->valid())
        f->wait();
  };
  for (std::size_t k = 0; k < chunks.size(); ++k) {
    reading.get();
    if (hashing.valid())
      hashing.get();
    if (k + 1 < chunks.size())
      read_ahead(k + 1);
    const Chunk &c = chunks[k];
    const char *buffer = buffers_[k % 2].get();
    hashing = std::async(std::launch::async, [&, buffer] {
      allow_any_cpu(); // not on the core that fills the process
      hash_chunk(buffer, c);
    });
    if (int err = fill(pid, buffer, c); err != 0) {
      settle();
      sdk::throw_errno(fmt::format("cannot fill the memory of process {}", pid),
                       err);
    }
    bytes_ += c.len;
    if (meter_)
      meter_->add(c.len);
  }
  if (hashing.valid())
    hashing.get();
}

} // namespace cpr::engine
