#include "fifo.hpp"

#include "pipe_data.hpp"
#include "records.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <set>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace cpr::pipes {
namespace {

const std::string deleted_suffix = " (deleted)";

// The path to make it at again: a FIFO removed while open is made anew.
std::string fifo_path(const std::string &link) {
  if (link.ends_with(deleted_suffix))
    return link.substr(0, link.size() - deleted_suffix.size());
  return link;
}

std::string parent_of(const std::string &path) {
  auto slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// A reader of the FIFO that neither blocks nor waits for a writer.
Fd peek_reader(const sdk::OpenFile &file) {
  Fd fd(::open(fmt::format("/proc/{}/fd/{}", file.pid, file.fd).c_str(),
               O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot read " + describe(file), errno);
  return fd;
}

void make_fifo_if_gone(const Fifo &rec) {
  struct stat st {};
  if (::stat(rec.path.c_str(), &st) == 0) {
    if (!S_ISFIFO(st.st_mode))
      throw sdk::Error(sdk::Code::component_unavailable,
                       fmt::format("component unavailable: {} is no longer "
                                   "a FIFO",
                                   rec.path));
    return;
  }
  if (::mkfifo(rec.path.c_str(), rec.mode & 07777) != 0 && errno != EEXIST)
    sdk::throw_errno(sdk::Code::component_unavailable,
                     "component unavailable: cannot make the FIFO " + rec.path +
                         " again",
                     errno);
}

} // namespace

bool FifoHandler::claims(const sdk::OpenFile &file) const {
  return S_ISFIFO(file.st.st_mode) && file.path.starts_with("/");
}

namespace {
// FIFOs whose bytes are saved already (with their first open file).
struct SavedFifos final : sdk::Session {
  std::set<std::pair<std::uint64_t, std::uint64_t>> dev_ino;
};
} // namespace

sdk::Saved FifoHandler::save(const sdk::OpenFile &file,
                             sdk::SaveContext &ctx) const {
  Fifo rec;
  rec.path = fifo_path(file.path);
  rec.dev = file.st.st_dev;
  rec.ino = file.st.st_ino;
  rec.flags = file.flags;
  rec.mode = file.st.st_mode;
  Fd reader = peek_reader(file);
  rec.capacity =
      static_cast<std::uint32_t>(::fcntl(reader.get(), F_GETPIPE_SZ));
  rec.carries_data =
      ctx.session<SavedFifos>(*this).dev_ino.insert({rec.dev, rec.ino}).second;
  if (rec.carries_data)
    rec.data = peek_all(reader.get(), describe(file));
  return {sdk::to_payload(rec),
          fmt::format("FIFO {} ({} bytes in it)", rec.path, rec.data.size())};
}

void FifoHandler::check(const sdk::Record &record,
                        const sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<Fifo>(record.payload);
  struct stat st {};
  if (::stat(rec.path.c_str(), &st) != 0 &&
      ::stat(parent_of(rec.path).c_str(), &st) != 0)
    throw sdk::Error(sdk::Code::component_unavailable,
                     fmt::format("component unavailable: the directory of "
                                 "the FIFO {} is gone",
                                 rec.path));
}

int FifoHandler::open(const sdk::Record &record, sdk::RestoreContext &) const {
  auto rec = sdk::from_payload<Fifo>(record.payload);
  make_fifo_if_gone(rec);
  // Open for both, it is never left waiting for the other side; the end it
  // was is opened through that.
  Fd both(::open(rec.path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (both.get() < 0)
    sdk::throw_errno(
        sdk::Code::component_unavailable,
        "component unavailable: cannot reopen the FIFO " + rec.path, errno);
  set_capacity(both.get(), rec.capacity, "the FIFO " + rec.path);
  int queued = 0;
  // Its bytes go back unless someone outside kept it open, bytes and all.
  if (rec.carries_data && ::ioctl(both.get(), FIONREAD, &queued) == 0 &&
      queued == 0) {
    ::fcntl(both.get(), F_SETFL, 0);
    put_data(both.get(), rec.data, "the FIFO " + rec.path);
  }
  int flags =
      static_cast<int>(rec.flags & (O_ACCMODE | O_NONBLOCK)) | O_CLOEXEC;
  int fd = ::open(fmt::format("/proc/self/fd/{}", both.get()).c_str(), flags);
  if (fd < 0)
    sdk::throw_errno(
        sdk::Code::component_unavailable,
        "component unavailable: cannot reopen the FIFO " + rec.path, errno);
  return fd;
}

} // namespace cpr::pipes
