#include "dispatch/fd_table.hpp"

#include "process/proc.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>
#include <cpr/sdk/socket_address.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/kcmp.h>
#include <map>
#include <sstream>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cpr::engine {

FdTableCollector::FdTableCollector(const Registry &registry,
                                   sdk::SaveContext &ctx, Manifest &manifest)
    : registry_(registry), ctx_(ctx), manifest_(manifest) {}

sdk::OpenFile FdTableCollector::describe(pid_t pid, int fd) const {
  const std::string link = fmt::format("/proc/{}/fd/{}", pid, fd);
  sdk::OpenFile f;
  f.pid = pid;
  f.fd = fd;
  f.path = proc::readlink(link);
  if (::stat(link.c_str(), &f.st) != 0)
    sdk::throw_errno(
        sdk::Code::checkpoint_error,
        fmt::format("Checkpoint error: process {} fd {} ({})", pid, fd, f.path),
        errno);
  std::istringstream info(
      sdk::read_file(fmt::format("/proc/{}/fdinfo/{}", pid, fd)));
  std::string key;
  while (info >> key) {
    if (key == "pos:")
      info >> f.pos;
    else if (key == "flags:")
      info >> std::oct >> f.flags >> std::dec;
    else
      info.ignore(1 << 20, '\n');
  }
  return f;
}

namespace {

// The file as a refusal names it: a socket by its kind and addresses.
std::string what_it_is(const sdk::OpenFile &file) {
  if (!S_ISSOCK(file.st.st_mode))
    return file.path;
  return fmt::format("{} ({})", file.path,
                     sdk::describe_socket(sdk::borrow_fd(file).get()));
}

} // namespace

std::uint64_t FdTableCollector::object_for(const sdk::OpenFile &file) {
  for (const Known &k : known_)
    if (k.dev == file.st.st_dev && k.ino == file.st.st_ino &&
        ::syscall(SYS_kcmp, k.pid, file.pid, KCMP_FILE, k.fd, file.fd) == 0)
      return k.id;
  std::optional<FdHandlerRef> h = registry_.fd_handler_for(file);
  if (!h)
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: process {} fd {} is {}, "
                                 "which no plugin can checkpoint",
                                 file.pid, file.fd, what_it_is(file)));
  sdk::Saved saved = h->save(file, ctx_);
  ObjectRecord rec;
  rec.id = manifest_.objects.size() + 1;
  rec.kind = h->kind();
  rec.version = h->version();
  rec.payload = std::move(saved.payload);
  rec.summary = std::move(saved.summary);
  manifest_.objects.push_back(std::move(rec));
  known_.push_back({file.pid, file.fd, file.st.st_dev, file.st.st_ino,
                    manifest_.objects.back().id});
  return manifest_.objects.back().id;
}

std::uint64_t FdTableCollector::save_own(int fd) {
  sdk::OpenFile file = describe(::getpid(), fd);
  file.flags &= ~static_cast<unsigned>(O_CLOEXEC);
  return object_for(file);
}

void FdTableCollector::collect(ProcessRecord &p) {
  for (int fd : proc::fds(p.pid)) {
    sdk::OpenFile file = describe(p.pid, fd);
    FdRef ref;
    ref.fd = fd;
    ref.cloexec = (file.flags & O_CLOEXEC) != 0;
    ref.async = (file.flags & O_ASYNC) != 0;
    file.flags &= ~static_cast<unsigned>(O_CLOEXEC);
    ref.object = object_for(file);
    p.fds.push_back(ref);
  }
}

namespace {

void move_to(int from, int to, bool cloexec) {
  if (::dup3(from, to, cloexec ? O_CLOEXEC : 0) < 0)
    sdk::throw_errno(fmt::format("cannot place fd {}", to), errno);
}

} // namespace

void install_fds(const ProcessRecord &p, const Manifest &manifest,
                 const Registry &registry, sdk::RestoreContext &ctx,
                 int keep_from,
                 const std::map<std::uint64_t, int> &opened_above) {
  // Open each object once, parked at or above keep_from, then place it.
  std::map<std::uint64_t, int> parked;
  for (const FdRef &ref : p.fds) {
    if (parked.count(ref.object))
      continue;
    if (auto above = opened_above.find(ref.object);
        above != opened_above.end()) {
      parked[ref.object] = above->second;
      continue;
    }
    const ObjectRecord &rec = manifest.object(ref.object);
    FdHandlerRef h = registry.fd_handler(rec.kind, rec.version);
    int fd = h.open({rec.kind, rec.version, rec.payload}, ctx);
    int high = ::fcntl(fd, F_DUPFD_CLOEXEC, keep_from);
    if (high < 0)
      sdk::throw_errno(fmt::format("process {} fd {}", p.pid, ref.fd), errno);
    ::close(fd);
    parked[ref.object] = high;
  }
  ::close_range(0, static_cast<unsigned>(keep_from - 1), 0);
  for (const FdRef &ref : p.fds)
    move_to(parked.at(ref.object), ref.fd, ref.cloexec);
  for (auto &[id, fd] : parked)
    ::close(fd);
  std::map<std::uint64_t, bool> connected;
  for (const FdRef &ref : p.fds) {
    if (connected[ref.object])
      continue;
    connected[ref.object] = true;
    const ObjectRecord &rec = manifest.object(ref.object);
    registry.fd_handler(rec.kind, rec.version)
        .connect({rec.kind, rec.version, rec.payload}, ref.fd, ctx);
  }
}

} // namespace cpr::engine
