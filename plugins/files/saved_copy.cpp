#include "saved_copy.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/sparse_copy.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::files {
namespace {

using Fd = sdk::UniqueFd;

// All of `from` into `to`, holes kept.
void copy_all(int from, int to, const std::string &what) {
  struct stat st {};
  if (::fstat(from, &st) != 0)
    sdk::throw_errno("cannot copy " + what, errno);
  sdk::copy_sparse(from, to, st.st_size, what);
}

void write_copy(const std::string &source, const std::string &dest,
                std::uint32_t mode, const std::string &what) {
  // Read without touching its access time (only its owner or root may).
  Fd in(::open(source.c_str(), O_RDONLY | O_NOATIME | O_CLOEXEC));
  if (in.get() < 0 && errno == EPERM)
    in = Fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot read " + what, errno);
  Fd out(::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                mode & 07777));
  if (out.get() < 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot save " + what + " as " + dest,
                     errno);
  copy_all(in.get(), out.get(), what);
  if (::fsync(out.get()) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot save " + what, errno);
}

} // namespace

std::string save_copy(const sdk::OpenFile &file, const sdk::SaveContext &ctx) {
  std::string source = fmt::format("/proc/{}/fd/{}", file.pid, file.fd);
  // CKPT_OPENFILE_DISTRIBUTE: beside the original, as NAME.ckpt.pidPID.
  if (ctx.options.flag("files.distribute")) {
    std::string copy = fmt::format("{}.ckpt.pid{}", file.path, file.pid);
    write_copy(source, copy, file.st.st_mode, file.path);
    ctx.own_outside(copy);
    return copy;
  }
  std::string dir = ctx.statefile + "/files";
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot create " + dir, errno);
  std::string name =
      fmt::format("files/{:x}-{:x}", static_cast<std::uint64_t>(file.st.st_dev),
                  static_cast<std::uint64_t>(file.st.st_ino));
  std::string copy = ctx.statefile + "/" + name;
  if (::access(copy.c_str(), F_OK) != 0)
    write_copy(source, copy, 0600, file.path);
  return name;
}

std::string copy_path(const std::string &saved, const std::string &statefile) {
  return saved.starts_with("/") ? saved : statefile + "/" + saved;
}

void copy_into(const std::string &from, int out, const std::string &to) {
  Fd in(::open(from.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (in.get() < 0)
    sdk::throw_errno(
        sdk::Code::damaged_statefile,
        "damaged statefile: the saved copy of " + to + " is missing", errno);
  copy_all(in.get(), out, to);
}

void put_back(const std::string &from, const std::string &to,
              std::uint32_t mode, const timespec *times) {
  // Never through a link, never into a FIFO or a device put in its place.
  Fd out(::open(to.c_str(),
                O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                mode & 07777));
  struct stat st {};
  if (out.get() < 0)
    sdk::throw_errno(sdk::Code::component_unavailable,
                     "component unavailable: cannot replace " + to, errno);
  if (::fstat(out.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      ::ftruncate(out.get(), 0) != 0)
    throw sdk::Error(sdk::Code::component_unavailable,
                     "component unavailable: cannot replace " + to +
                         ": it is no longer a regular file");
  copy_into(from, out.get(), to);
  // Only its owner may set a file's times: a user who may write another's
  // file leaves them as writing it does.
  if (times && ::futimens(out.get(), times) != 0 && errno != EPERM)
    sdk::throw_errno("cannot give " + to + " its times back", errno);
}

} // namespace cpr::files
