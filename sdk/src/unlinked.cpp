#include <cpr/sdk/unlinked.hpp>

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/sparse_copy.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <map>
#include <unistd.h>

namespace cpr::sdk {
namespace {

void sync_or_throw(int fd, const std::string &what) {
  if (::fsync(fd) != 0)
    throw_errno(Code::checkpoint_error, "Checkpoint error: cannot save " + what,
                errno);
}

} // namespace

std::string unlinked_copy_name(const std::string &kind, const struct stat &st) {
  char ids[64];
  std::snprintf(ids, sizeof ids, "-%llx-%llx",
                static_cast<unsigned long long>(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  return "files/" + kind + ids;
}

void save_unlinked(int from, std::uint64_t size, const std::string &statefile,
                   const std::string &name, const std::string &what) {
  std::string dir = statefile + "/" + name.substr(0, name.rfind('/'));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw_errno(Code::checkpoint_error,
                "Checkpoint error: cannot create " + dir, errno);
  std::string copy = statefile + "/" + name;
  UniqueFd out(
      ::open(copy.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (out.get() < 0 && errno == EEXIST)
    return;
  if (out.get() < 0)
    throw_errno(Code::checkpoint_error, "Checkpoint error: cannot save " + what,
                errno);
  copy_sparse(from, out.get(), static_cast<off_t>(size), what);
  sync_or_throw(out.get(), what);
  UniqueFd parent(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  sync_or_throw(parent.get(), what);
}

namespace {
// Shared by every handler that meets such a file: a session of its own kind.
struct RemadeFiles final : Session {
  std::map<std::string, int> made;
  ~RemadeFiles() override {
    for (auto &[name, fd] : made)
      ::close(fd);
  }
};
} // namespace

int remade_file(const RestoreContext &ctx, const std::string &name,
                const std::function<int()> &make) {
  auto &made = ctx.sessions.of<RemadeFiles>("sdk.unlinked").made;
  if (auto found = made.find(name); found != made.end())
    return found->second;
  return made[name] = make();
}

int unlinked_file_in(const std::string &dir, const std::string &what) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
    std::string name = dir + "/.cpr-deleted-XXXXXX";
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd >= 0)
      ::unlink(name.c_str());
  }
  if (fd < 0)
    throw_errno(Code::component_unavailable,
                "component unavailable: cannot make " + what + " again in " +
                    dir,
                errno);
  return fd;
}

int unlinked_file_near(const std::string &path, const std::string &what) {
  auto slash = path.rfind('/');
  std::string dir =
      slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    dir = "/var/tmp";
  return unlinked_file_in(dir, what);
}

void fill_unlinked(int to, const std::string &statefile,
                   const std::string &name, std::uint64_t size,
                   std::uint32_t mode, std::uint32_t uid, std::uint32_t gid,
                   const std::string &what) {
  std::string copy = statefile + "/" + name;
  UniqueFd in(::open(copy.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (in.get() < 0)
    throw_errno(Code::damaged_statefile,
                "damaged statefile: the saved contents of " + what, errno);
  copy_sparse(in.get(), to, static_cast<off_t>(size), what);
  if (::geteuid() == 0 && ::fchown(to, uid, gid) != 0)
    throw_errno("cannot give " + what + " its owner", errno);
  if (::fchmod(to, mode) != 0)
    throw_errno("cannot give " + what + " its mode", errno);
}

} // namespace cpr::sdk
