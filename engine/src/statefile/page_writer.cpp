// PageWriter: a process's memory copied into its pages file at checkpoint,
// read from the process while the last chunk is written and tagged.
#include "statefile/pages.hpp"

#include "remote/remote.hpp"
#include "statefile/page_chunks.hpp"
#include "statefile/statefile.hpp"
#include "statefile/stopwatch.hpp"
#include "trust/privilege.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/uio.h>
#include <unistd.h>

namespace cpr::engine {
namespace {

// Most pages that are not all zero show it in their first bytes.
bool all_zero(const char *page) {
  auto word = [page](std::size_t i) {
    std::uint64_t w;
    std::memcpy(&w, page + i, sizeof w);
    return w;
  };
  if (word(0) != 0)
    return false;
  std::uint64_t any = 0;
  for (std::size_t i = 0; i < page_size; i += sizeof any)
    any |= word(i);
  return any == 0;
}

} // namespace

PageWriter::PageWriter(std::string statefile_dir, SealKey key)
    : dir_(std::move(statefile_dir)),
      key_(std::move(key)), buffers_{make_buffer(), make_buffer()} {}

// Each task waited for on its own: a failed compression may leave a write
// running, from a buffer freed with this.
PageWriter::~PageWriter() {
  for (std::future<void> *task : {&compressing_, &writing_})
    try {
      if (task->valid())
        task->get();
    } catch (...) {
    }
  for (auto &[pid, f] : files_)
    if (f.fd >= 0)
      ::close(f.fd);
}

PageWriter::File &PageWriter::file(pid_t pid) {
  File &f = files_[pid];
  if (f.fd < 0) {
    std::string path = pages_file(dir_, pid);
    // O_DIRECT: pages go from our buffers to the device without filling
    // the page cache, whose fresh memory is slow to touch. Not every
    // filesystem takes it (tmpfs does not).
    int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
    f.fd = ::open(path.c_str(), flags | O_DIRECT, 0600);
    if (f.fd < 0 && errno == EINVAL)
      f.fd = ::open(path.c_str(), flags, 0600);
    if (f.fd < 0)
      sdk::throw_errno("cannot write " + path, errno);
    if (!bench_unsealed())
      f.mac = key_.mac_for(fmt::format("pages/{}.img", pid));
  }
  return f;
}

static void write_all(int fd, const char *p, std::size_t left, pid_t pid) {
  allow_any_cpu();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      sdk::throw_errno(fmt::format("cannot write the pages of process {}", pid),
                       errno);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void PageWriter::wait_for_write() {
  if (compressing_.valid())
    compressing_.get();
  if (writing_.valid())
    writing_.get();
}

// Through /proc/PID/mem: it reads the pages the process cannot read itself
// (PROT_NONE, write-only), and the pages a fork shares with its parent
// without copying them (process_vm_readv would: it pins what it reads).
void PageWriter::read_memory_file(pid_t pid, int fd, char *buffer,
                                  std::span<const iovec> remote) {
  for (const iovec &r : remote) {
    auto at = reinterpret_cast<std::uint64_t>(r.iov_base);
    ssize_t n =
        fd < 0 ? -1 : ::pread(fd, buffer, r.iov_len, static_cast<off_t>(at));
    if (n != static_cast<ssize_t>(r.iov_len))
      sdk::throw_errno(sdk::Code::checkpoint_error,
                       fmt::format("Checkpoint error: cannot read the memory "
                                   "of process {} at {:#x}",
                                   pid, at),
                       n < 0 ? errno : EFAULT);
    buffer += r.iov_len;
  }
}

char *PageWriter::read_chunk(const Run &run, std::span<const iovec> remote,
                             std::size_t len) {
  char *buffer = buffers_[next_].get();
  next_ ^= 1;
  if (run.memory_fd >= 0) {
    read_memory_file(run.pid, run.memory_fd, buffer, remote);
    return buffer;
  }
  iovec local{buffer, len};
  ssize_t got =
      ::process_vm_readv(run.pid, &local, 1, remote.data(), remote.size(), 0);
  if (got != static_cast<ssize_t>(len)) {
    std::string path = fmt::format("/proc/{}/mem", run.pid);
    sdk::UniqueFd mem(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    read_memory_file(run.pid, mem.get(), buffer, remote);
  }
  return buffer;
}

void PageWriter::write_chunk(pid_t pid, File &out, const char *buffer,
                             std::size_t len) {
  if (compressor_) {
    compress_and_write(pid, out, buffer, len);
  } else {
    wait_for_write();
    writing_ = start_write(pid, out, buffer, len);
  }
  out.raw += len;
  if (meter_)
    meter_->add(len);
}

// The digest is taken on the other core while the device writes.
std::future<void> PageWriter::start_write(pid_t pid, File &out,
                                          const char *data, std::size_t len) {
  return std::async(std::launch::async, [&out, data, len, pid, this] {
    std::future<void> hashing = std::async(std::launch::async, [&] {
      allow_any_cpu(); // not on the core that reads the next chunk
      if (!bench_unsealed())
        out.mac.update(data, len);
      if (!compressor_) // else hashed before it was compressed
        hash_pages(out, data, len);
    });
    write_all(out.fd, data, len, pid);
    if (hashing.valid())
      hashing.get();
    out.size += len;
  });
}

// Pages copied later (from a snapshot, -g) than others saved after them
// have extents out of order, which a restart refuses as inconsistent.
void PageWriter::sort_extents(File &f) {
  std::sort(f.extents.begin(), f.extents.end(),
            [](const PageExtent &a, const PageExtent &b) {
              return a.logical < b.logical;
            });
  std::vector<PageExtent> merged;
  merged.reserve(f.extents.size());
  std::swap(merged, f.extents);
  for (const PageExtent &e : merged)
    add_extent(f, e);
}

void PageWriter::add_extent(File &f, const PageExtent &e) {
  if (!f.extents.empty()) {
    PageExtent &last = f.extents.back();
    if (last.source == e.source && last.logical + last.length == e.logical &&
        last.physical + last.length == e.physical) {
      last.length += e.length;
      return;
    }
  }
  f.extents.push_back(e);
}

// Each page is left out if it is zeros that come back as zeros, or if the
// statefile this one follows holds it as it is (an extent there instead);
// the rest move down over those left out, and are hashed for the index as
// they are written.
void PageWriter::copy_pages(Run &run, std::span<const iovec> remote,
                            std::size_t len) {
  char *buffer = read_chunk(run, remote, len);
  std::size_t used = 0, at = 0;
  for (const iovec &r : remote) {
    const auto address = reinterpret_cast<std::uint64_t>(r.iov_base);
    for (std::size_t off = 0; off < r.iov_len;
         off += page_size, at += page_size) {
      const char *page = buffer + at;
      const std::uint64_t logical = run.logical + at;
      if (run.drop_zeros && all_zero(page))
        continue;
      if (earlier_) {
        PageHash hash = hash_page(page);
        if (auto e = earlier_->same_page(run.pid, address + off, hash)) {
          e->logical = logical;
          add_extent(run.out, *e);
          std::vector<PageHash> &hashes = run.out.index.hashes;
          if (hashes.size() <= logical / page_size) // not while frozen
            hashes.resize(run.out.logical / page_size);
          hashes[logical / page_size] = hash;
          continue;
        }
      }
      if (page != buffer + used)
        std::memcpy(buffer + used, page, page_size);
      add_extent(run.out, {logical, page_size, run.out.raw + used, 0});
      used += page_size;
    }
  }
  run.logical += len;
  if (used > 0)
    write_chunk(run.pid, run.out, buffer, used);
  else
    next_ ^= 1; // unused: the next chunk fills it, not the one being written
}

void PageWriter::copy_run(Run run, std::span<const sdk::Range> ranges) {
  for_each_chunk(ranges, buffer_size,
                 [&](std::span<const iovec> remote, std::size_t len) {
                   copy_pages(run, remote, len);
                 });
}

std::uint64_t PageWriter::save(pid_t pid,
                               std::span<const sdk::PagesToSave> ranges) {
  Stopwatch watch(seconds_);
  File &out = file(pid);
  const std::uint64_t start = out.logical;
  // Runs of ranges alike: a chunk holds ranges of one kind only.
  std::vector<sdk::Range> run;
  for (std::size_t i = 0; i < ranges.size();) {
    const sdk::PagesToSave &first = ranges[i];
    std::uint64_t logical = out.logical;
    run.clear();
    for (; i < ranges.size() && ranges[i].private_copy == first.private_copy &&
           ranges[i].zeros_come_back == first.zeros_come_back;
         ++i) {
      if (defer_ && first.private_copy)
        out.deferred.push_back({out.logical, ranges[i]});
      else
        run.push_back(ranges[i].range);
      out.index.runs.push_back(
          {ranges[i].range.start, ranges[i].range.size(), out.logical});
      out.logical += ranges[i].range.size();
    }
    if (!run.empty())
      copy_run({pid, -1, out, logical, first.zeros_come_back}, run);
  }
  return start;
}

void PageWriter::read_deferred_from(pid_t pid, pid_t fork) {
  std::string path = fmt::format("/proc/{}/mem", fork);
  sdk::UniqueFd mem(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (mem.get() < 0)
    sdk::throw_errno(fmt::format("cannot read the snapshot of process {}", pid),
                     errno);
  files_.at(pid).fork_memory = std::move(mem);
}

std::vector<pid_t> PageWriter::deferred() const {
  std::vector<pid_t> pids;
  for (const auto &[pid, f] : files_)
    if (!f.deferred.empty())
      pids.push_back(pid);
  return pids;
}

// Each run of deferred ranges that follow one another, as one.
void PageWriter::copy_deferred(pid_t pid) {
  Stopwatch watch(seconds_);
  File &out = files_.at(pid);
  if (out.fork_memory.get() >= 0)
    kill_point("snapshot-copying");
  std::vector<sdk::Range> run;
  for (std::size_t i = 0; i < out.deferred.size();) {
    const auto &[logical, first] = out.deferred[i];
    std::uint64_t next = logical;
    run.clear();
    for (; i < out.deferred.size() && out.deferred[i].first == next &&
           out.deferred[i].second.zeros_come_back == first.zeros_come_back;
         ++i) {
      run.push_back(out.deferred[i].second.range);
      next += out.deferred[i].second.range.size();
    }
    copy_run({pid, out.fork_memory.get(), out, logical, first.zeros_come_back},
             run);
  }
  out.deferred.clear();
}

void PageWriter::finish() {
  for (pid_t pid : deferred())
    copy_deferred(pid);
  Stopwatch watch(seconds_);
  wait_for_write();
  for (auto &[pid, f] : files_)
    sort_extents(f);
  for (auto &[pid, f] : files_)
    if (::fdatasync(f.fd) != 0)
      sdk::throw_errno(fmt::format("cannot write the pages of process {}", pid),
                       errno);
}

void PageWriter::hash_pages(File &out, const char *data, std::size_t len) {
  for (std::size_t at = 0; at < len; at += page_size)
    out.written_hashes.push_back(hash_page(data + at));
}

std::string PageWriter::index_bytes() {
  std::map<pid_t, const PageIndex *> indexes;
  for (auto &[pid, f] : files_) {
    if (f.written_hashes.size() != f.raw / page_size)
      throw sdk::Error(sdk::Code::checkpoint_error,
                       fmt::format("Checkpoint error: the pages of process "
                                   "{} were not all hashed",
                                   pid));
    f.index.hashes.resize(f.logical / page_size);
    for (const PageExtent &e : f.extents) // the pages written here
      if (e.source == 0)
        std::copy_n(f.written_hashes.begin() + e.physical / page_size,
                    e.length / page_size,
                    f.index.hashes.begin() + e.logical / page_size);
    indexes[pid] = &f.index;
  }
  return indexes_bytes(indexes);
}

SealEntries PageWriter::digests() {
  wait_for_write();
  SealEntries entries;
  if (bench_unsealed())
    return entries;
  for (auto &[pid, f] : files_)
    entries[fmt::format("pages/{}.img", pid)] = {f.size, f.mac.final()};
  return entries;
}

std::uint64_t PageWriter::bytes(pid_t pid) const {
  auto it = files_.find(pid);
  return it == files_.end() ? 0 : it->second.raw;
}

std::vector<PageExtent> PageWriter::extents(pid_t pid) const {
  auto it = files_.find(pid);
  return it == files_.end() ? std::vector<PageExtent>{} : it->second.extents;
}

std::vector<PageFrame> PageWriter::frames(pid_t pid) const {
  auto it = files_.find(pid);
  return it == files_.end() ? std::vector<PageFrame>{} : it->second.frames;
}

std::uint64_t PageWriter::total_bytes() const {
  std::uint64_t total = 0;
  for (const auto &[pid, f] : files_)
    total += f.raw;
  return total;
}

} // namespace cpr::engine
