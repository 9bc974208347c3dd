#include "statefile/pages.hpp"

#include "trust/privilege.hpp"
#include "remote/remote.hpp"
#include "trust/safe_open.hpp"
#include "statefile/statefile.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <chrono>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace cpr::engine {
namespace {

constexpr std::size_t buffer_size = 8 << 20;
constexpr std::size_t page_size = 4096;
constexpr std::size_t max_iov = IOV_MAX;

class Stopwatch {
public:
  explicit Stopwatch(double &total) : total_(total) {}
  ~Stopwatch() {
    total_ += std::chrono::duration<double>(clock::now() - start_).count();
  }

private:
  using clock = std::chrono::steady_clock;
  double &total_;
  clock::time_point start_ = clock::now();
};

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

iovec remote_iov(std::uint64_t addr, std::size_t len) {
  return {reinterpret_cast<void *>(addr), len};
}

// Calls `chunk(iovecs, bytes)` for consecutive pieces of `ranges`, each at
// most `limit` bytes and max_iov iovecs.
template <class Fn>
void for_each_chunk(std::span<const sdk::Range> ranges, std::size_t limit,
                    Fn chunk) {
  std::vector<iovec> iov;
  std::size_t len = 0;
  for (const sdk::Range &r : ranges) {
    std::uint64_t at = r.start;
    while (at < r.end) {
      std::size_t take = std::min<std::uint64_t>(r.end - at, limit - len);
      iov.push_back(remote_iov(at, take));
      len += take;
      at += take;
      if (len == limit || iov.size() == max_iov) {
        chunk(std::span<const iovec>(iov), len);
        iov.clear();
        len = 0;
      }
    }
  }
  if (len > 0)
    chunk(std::span<const iovec>(iov), len);
}

} // namespace

Buffer make_buffer() {
  void *p = std::aligned_alloc(4096, buffer_size);
  if (!p)
    throw std::bad_alloc();
  std::memset(p, 0, buffer_size);
  return Buffer(static_cast<char *>(p));
}

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

PageReader::PageReader(std::string statefile, int dir_fd, SealKey key,
                       SealEntries sealed)
    : statefile_(std::move(statefile)), dir_fd_(dir_fd), key_(std::move(key)),
      sealed_(std::move(sealed)), buffers_{make_buffer(), make_buffer()} {}

PageReader::~PageReader() = default;

void PageReader::open(pid_t pid, std::uint64_t bytes) {
  std::string name = fmt::format("pages/{}.img", pid);
  auto sealed = sealed_.find(name);
  // O_DIRECT, as the pages were written: they are not in the page cache,
  // and big direct reads beat its read-ahead.
  sdk::UniqueFd fd = open_beneath(dir_fd_, name, O_RDONLY | O_DIRECT);
  if (fd.get() < 0 && errno == EINVAL)
    fd = open_beneath(dir_fd_, name, O_RDONLY);
  if (fd.get() < 0 && errno == ENOENT)
    throw sdk::Error(
        sdk::Code::damaged_statefile,
        fmt::format("damaged statefile {}: {} is missing", statefile_, name));
  if (fd.get() < 0 || sealed == sealed_.end())
    statefile_altered(statefile_, name);
  struct stat st {};
  ::fstat(fd.get(), &st);
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < bytes || size < sealed->second.size)
    throw sdk::Error(
        sdk::Code::damaged_statefile,
        fmt::format("damaged statefile {}: {} is truncated", statefile_, name));
  File &f = files_[pid];
  f.fd = std::move(fd);
  f.size = bytes;
  f.name = name;
  f.sealed = sealed->second;
  if (!bench_unsealed())
    f.mac = key_.mac_for(name);
}

void PageReader::read_chunk(File &f, char *buffer, const Chunk &c) {
  std::size_t done = 0;
  while (done < c.len) {
    ssize_t n = ::pread(f.fd.get(), buffer + done, c.len - done,
                        static_cast<off_t>(c.offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw sdk::Error(
          sdk::Code::damaged_statefile,
          fmt::format("damaged statefile {}: {} is short", statefile_, f.name));
    done += static_cast<std::size_t>(n);
  }
}

void PageReader::hash_chunk(File &f, const char *buffer, const Chunk &c) {
  if (bench_unsealed())
    return;
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
  for (auto &[pid, f] : files_) {
    Digest d{};
    std::uint64_t size = f.hashed;
    if (f.in_order && f.hashed == f.sealed.size) {
      d = f.mac.final();
    } else {
      // Read out of order, or not all of it: read again. (Nothing reads
      // pages so today; what the process got could then differ from what
      // is checked, but pages are only ever the owner's own memory.)
      sdk::UniqueFd plain = open_beneath(dir_fd_, f.name, O_RDONLY);
      if (plain.get() >= 0)
        d = digest_of(plain.get(), key_.mac_for(f.name), size);
    }
    if (size != f.sealed.size || d != f.sealed.digest)
      statefile_altered(statefile_, f.name);
  }
}

void PageReader::restore(pid_t pid, std::uint64_t offset,
                         std::span<const sdk::Range> ranges) {
  Stopwatch watch(seconds_);
  auto alias = aliases_.find(pid);
  File &f = files_.at(alias == aliases_.end() ? pid : alias->second);
  std::vector<Chunk> chunks;
  for_each_chunk(
      ranges, buffer_size, [&](std::span<const iovec> remote, std::size_t len) {
        chunks.push_back({{remote.begin(), remote.end()}, len, offset});
        offset += len;
      });
  if (!chunks.empty() && offset > f.size)
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile {}: pages of process {} "
                                 "are short",
                                 statefile_, pid));
  std::future<void> reading;
  auto read_ahead = [&](std::size_t k) {
    reading = std::async(std::launch::async, [&, k] {
      allow_any_cpu();
      read_chunk(f, buffers_[k % 2].get(), chunks[k]);
    });
  };
  // The first read has nothing to overlap with: no thread for it.
  if (!chunks.empty())
    reading = std::async(std::launch::deferred, &PageReader::read_chunk, this,
                         std::ref(f), buffers_[0].get(), std::cref(chunks[0]));
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
    hashing = std::async(std::launch::async,
                         [&, buffer] { hash_chunk(f, buffer, c); });
    iovec local{const_cast<char *>(buffer), c.len};
    ssize_t put = ::process_vm_writev(pid, &local, 1, c.remote.data(),
                                      c.remote.size(), 0);
    if (put != static_cast<ssize_t>(c.len)) {
      int err = put < 0 ? errno : EFAULT;
      settle();
      sdk::throw_errno(fmt::format("cannot fill the memory of process {}", pid),
                       err);
    }
    bytes_ += c.len;
  }
  if (hashing.valid())
    hashing.get();
}

} // namespace cpr::engine
