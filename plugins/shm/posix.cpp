#include "posix.hpp"

#include "contents.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/procfs.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::shm {
namespace {
namespace fs = std::filesystem;

const std::string shm_dir = "/dev/shm/";

bool is_posix_object(const std::string &path) {
  return path.rfind(shm_dir, 0) == 0 && path.find(" (deleted)") == path.npos;
}

// An object that was shm_unlink'ed has no name to come back under: the
// memory plugin carries its mapping as shared memory without a name.
std::optional<std::string> object_mapped(pid_t pid, const sdk::Mapping &m) {
  if (m.path.rfind(shm_dir, 0) != 0)
    return std::nullopt;
  auto name = sdk::mapped_file_name(pid, m);
  return name && is_posix_object(*name) ? name : std::nullopt;
}

// The objects the set maps or holds open.
std::set<std::string> objects_of(const std::vector<pid_t> &processes) {
  std::set<std::string> paths;
  for (pid_t pid : processes) {
    for (const sdk::Mapping &m : sdk::read_maps(pid))
      if (auto name = object_mapped(pid, m))
        paths.insert(*name);
    std::error_code ec;
    for (const auto &fd :
         fs::directory_iterator(fmt::format("/proc/{}/fd", pid), ec)) {
      std::string target = fs::read_symlink(fd.path(), ec).string();
      if (!ec && is_posix_object(target))
        paths.insert(target);
    }
  }
  return paths;
}

// Not a regular file (a directory or FIFO in /dev/shm): other handlers'.
std::optional<sdk::Saved> save_object(const std::string &path, std::size_t n,
                                      const sdk::SaveContext &ctx) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    return std::nullopt; // never opened: a FIFO's open would wait
  sdk::UniqueFd fd(
      ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0)
    sdk::throw_errno(
        sdk::Code::checkpoint_error,
        "Checkpoint error: cannot read POSIX shared memory " + path, errno);
  if (!S_ISREG(st.st_mode))
    return std::nullopt;
  PosixObject o{path,
                st.st_mode & 07777,
                st.st_uid,
                st.st_gid,
                static_cast<std::uint64_t>(st.st_size),
                save_contents(fd.get(), static_cast<std::uint64_t>(st.st_size),
                              ctx.statefile, fmt::format("posix-{}", n))};
  return sdk::Saved{sdk::to_payload(o),
                    fmt::format("{}, {} bytes, {} KiB saved", path, o.size,
                                o.contents.bytes() / 1024)};
}

// The object under its name: made, or the one there emptied.
// The objects made in this restart (a session): removed if it fails.
struct MadeNames final : sdk::Session {
  std::vector<std::string> paths;
  void restart_over(bool succeeded) override {
    if (!succeeded)
      for (const std::string &path : paths)
        ::unlink(path.c_str());
  }
};

sdk::UniqueFd open_for_restore(const PosixObject &o,
                               std::vector<std::string> &made) {
  sdk::UniqueFd fd(::open(o.path.c_str(),
                          O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                          o.mode));
  if (fd.get() >= 0) {
    made.push_back(o.path);
  } else if (errno == EEXIST) {
    fd = sdk::UniqueFd(::open(o.path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    struct stat st {};
    if (fd.get() >= 0 && (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)))
      throw sdk::Error(sdk::Code::component_unavailable,
                       "component unavailable: " + o.path +
                           " is no longer a POSIX shared memory object");
    if (fd.get() >= 0 && st.st_size > 0 &&
        ::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                    st.st_size) != 0)
      sdk::throw_errno("cannot empty " + o.path, errno);
  }
  if (fd.get() < 0)
    sdk::throw_errno(sdk::Code::component_unavailable,
                     "component unavailable: cannot make POSIX shared "
                     "memory " +
                         o.path,
                     errno);
  return fd;
}

} // namespace

std::vector<sdk::Saved> PosixShmHandler::save(sdk::SaveContext &ctx) const {
  std::vector<sdk::Saved> out;
  for (const std::string &path : objects_of(ctx.processes))
    if (auto saved = save_object(path, out.size(), ctx))
      out.push_back(std::move(*saved));
  return out;
}

void PosixShmHandler::check(const sdk::Record &record,
                            const sdk::RestoreContext &ctx) const {
  check_contents(sdk::from_payload<PosixObject>(record.payload).contents,
                 ctx.statefile);
}

void PosixShmHandler::restore(const sdk::Record &record,
                              sdk::RestoreContext &ctx) const {
  auto o = sdk::from_payload<PosixObject>(record.payload);
  sdk::UniqueFd fd = open_for_restore(o, ctx.session<MadeNames>(*this).paths);
  if (::ftruncate(fd.get(), static_cast<off_t>(o.size)) != 0 ||
      ::fchown(fd.get(), o.uid, o.gid) != 0 || ::fchmod(fd.get(), o.mode) != 0)
    sdk::throw_errno("cannot give " + o.path + " its size and owner back",
                     errno);
  restore_contents(o.contents, ctx.statefile, fd.get(), o.size);
}

} // namespace cpr::shm
