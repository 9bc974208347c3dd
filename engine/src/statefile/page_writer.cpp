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

PageWriter::~PageWriter() {
  try {
    wait_for_write();
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
  if (writing_.valid())
    writing_.get();
}

// Pages the process cannot read itself (PROT_NONE, write-only) are read
// through /proc/PID/mem, which may.
void PageWriter::read_forced(pid_t pid, char *buffer,
                             std::span<const iovec> remote) {
  std::string path = fmt::format("/proc/{}/mem", pid);
  sdk::UniqueFd mem(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  for (const iovec &r : remote) {
    auto at = reinterpret_cast<std::uint64_t>(r.iov_base);
    ssize_t n = mem.get() < 0 ? -1
                              : ::pread(mem.get(), buffer, r.iov_len,
                                        static_cast<off_t>(at));
    if (n != static_cast<ssize_t>(r.iov_len))
      sdk::throw_errno(sdk::Code::checkpoint_error,
                       fmt::format("Checkpoint error: cannot read the memory "
                                   "of process {} at {:#x}",
                                   pid, at),
                       n < 0 ? errno : EFAULT);
    buffer += r.iov_len;
  }
}

char *PageWriter::read_chunk(pid_t pid, std::span<const iovec> remote,
                             std::size_t len) {
  char *buffer = buffers_[next_].get();
  next_ ^= 1;
  iovec local{buffer, len};
  ssize_t got =
      ::process_vm_readv(pid, &local, 1, remote.data(), remote.size(), 0);
  if (got != static_cast<ssize_t>(len))
    read_forced(pid, buffer, remote);
  return buffer;
}

void PageWriter::write_chunk(pid_t pid, File &out, const char *buffer,
                             std::size_t len) {
  wait_for_write();
  // The digest is taken on the other core while the device writes.
  writing_ = std::async(std::launch::async, [&out, buffer, len, pid] {
    std::future<void> hashing;
    if (!bench_unsealed())
      hashing =
          std::async(std::launch::async, [&] { out.mac.update(buffer, len); });
    write_all(out.fd, buffer, len, pid);
    if (hashing.valid())
      hashing.get();
  });
  out.size += len;
  if (meter_)
    meter_->add(len);
}

void PageWriter::copy_chunk(pid_t pid, File &out, std::span<const iovec> remote,
                            std::size_t len) {
  write_chunk(pid, out, read_chunk(pid, remote, len), len);
}

void PageWriter::copy_nonzero(pid_t pid, File &out,
                              std::span<const iovec> remote, std::size_t len,
                              std::vector<sdk::Range> &kept) {
  char *buffer = read_chunk(pid, remote, len);
  std::size_t used = 0; // the pages kept, moved down over those left out
  const char *page = buffer;
  for (const iovec &r : remote) {
    auto at = reinterpret_cast<std::uint64_t>(r.iov_base);
    for (std::uint64_t end = at + r.iov_len; at < end;
         at += page_size, page += page_size) {
      if (all_zero(page))
        continue;
      if (page != buffer + used)
        std::memcpy(buffer + used, page, page_size);
      used += page_size;
      if (!kept.empty() && kept.back().end == at)
        kept.back().end = at + page_size;
      else
        kept.push_back({at, at + page_size});
    }
  }
  if (used > 0)
    write_chunk(pid, out, buffer, used);
  else
    next_ ^= 1; // unused: the next chunk fills it, not the one being written
}

std::uint64_t PageWriter::save(pid_t pid, std::span<const sdk::Range> ranges) {
  Stopwatch watch(seconds_);
  File &out = file(pid);
  std::uint64_t start = out.size;
  for_each_chunk(ranges, buffer_size,
                 [&](std::span<const iovec> remote, std::size_t len) {
                   copy_chunk(pid, out, remote, len);
                 });
  return start;
}

std::uint64_t PageWriter::save_nonzero(pid_t pid,
                                       std::vector<sdk::Range> &ranges,
                                       const std::vector<bool> &may_drop) {
  Stopwatch watch(seconds_);
  File &out = file(pid);
  std::uint64_t start = out.size;
  std::vector<sdk::Range> kept;
  // Runs of ranges alike: a chunk holds ranges of one kind only.
  for (std::size_t i = 0; i < ranges.size();) {
    std::size_t j = i;
    while (j < ranges.size() && may_drop[j] == may_drop[i])
      ++j;
    std::span<const sdk::Range> run(ranges.data() + i, j - i);
    for_each_chunk(run, buffer_size,
                   [&](std::span<const iovec> remote, std::size_t len) {
                     if (may_drop[i])
                       copy_nonzero(pid, out, remote, len, kept);
                     else
                       copy_chunk(pid, out, remote, len);
                   });
    if (!may_drop[i])
      kept.insert(kept.end(), run.begin(), run.end());
    i = j;
  }
  ranges = std::move(kept);
  return start;
}

void PageWriter::finish() {
  Stopwatch watch(seconds_);
  wait_for_write();
  for (auto &[pid, f] : files_)
    if (::fdatasync(f.fd) != 0)
      sdk::throw_errno(fmt::format("cannot write the pages of process {}", pid),
                       errno);
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
  return it == files_.end() ? 0 : it->second.size;
}

std::uint64_t PageWriter::total_bytes() const {
  std::uint64_t total = 0;
  for (const auto &[pid, f] : files_)
    total += f.size;
  return total;
}

} // namespace cpr::engine
