// StatefileWriter: a statefile written into a hidden sibling, sealed, and
// renamed into place at the end; the sibling a cpr that died left, removed.
#include "statefile/statefile.hpp"

#include "statefile/followers.hpp"
#include "statefile/manifest_io.hpp"
#include "statefile/page_index.hpp"
#include "statefile/statefile_dir.hpp"
#include "trust/privilege.hpp"

#include <cpr/sdk/error.hpp>

#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <regex>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::engine {
namespace fs = std::filesystem;

namespace {

void write_all(int fd, const void *data, size_t len, const std::string &what) {
  const char *p = static_cast<const char *>(data);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      sdk::throw_errno("cannot write " + what, errno);
    p += n;
    len -= static_cast<size_t>(n);
  }
}

// Creates (or truncates) `file` with `bytes`, synced.
void write_file(const std::string &file, const std::string &bytes) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    sdk::throw_errno("cannot write " + file, errno);
  try {
    write_all(fd, bytes.data(), bytes.size(), file);
    if (::fdatasync(fd) != 0)
      sdk::throw_errno("cannot write " + file, errno);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

void sync_path(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    sdk::throw_errno("cannot open " + path, errno);
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    sdk::throw_errno("cannot sync " + path, err);
  }
  ::close(fd);
}

std::string parent_of(const std::string &path) {
  fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

constexpr const char *work_marker = ".cpr-tmp.";

// A checkpoint holds a lock on its work directory while it lives: one whose
// lock is free was left by a cpr that died, and goes.
void remove_dead_work_dirs(const std::string &parent) {
  static const std::regex work_name(R"(\..+\.cpr-tmp\.[0-9]+)");
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(parent, ec)) {
    std::string name = entry.path().filename().string();
    if (!std::regex_match(name, work_name) || !entry.is_directory(ec) ||
        entry.is_symlink(ec))
      continue;
    sdk::UniqueFd dir(::open(entry.path().c_str(),
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (dir.get() < 0 || ::flock(dir.get(), LOCK_EX | LOCK_NB) != 0)
      continue;
    remove_outside_files(entry.path().string());
    fs::remove_all(entry.path(), ec);
  }
}

} // namespace

StatefileWriter::StatefileWriter(std::string path, bool force)
    : path_(std::move(path)), key_(SealKey::fresh()), force_(force) {
  while (path_.size() > 1 && path_.back() == '/')
    path_.pop_back();
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!force_)
      throw sdk::Error(EEXIST,
                       "cannot create statefile " + path_ + ": File exists");
    if (S_ISDIR(st.st_mode) && !looks_like_statefile(path_))
      throw sdk::Error(EEXIST,
                       "cannot create statefile " + path_ +
                           ": File exists (and it is not a statefile, so -f "
                           "does not overwrite it)");
    if (S_ISDIR(st.st_mode))
      check_not_needed(path_);
  } else if (errno != ENOENT) {
    sdk::throw_errno("cannot create statefile " + path_, errno);
  }
  // access() asks with the real uid: installed setuid, cpr writes only
  // where its caller may.
  if (!caller_is_root() && ::access(parent_of(path_).c_str(), W_OK | X_OK) != 0)
    sdk::throw_errno("cannot create statefile " + path_, errno);
  std::string name = fs::path(path_).filename().string();
  remove_dead_work_dirs(parent_of(path_));
  work_ = fmt::format("{}/.{}{}{}", parent_of(path_), name, work_marker,
                      ::getpid());
  fs::remove_all(work_);
  if (::mkdir(work_.c_str(), 0700) != 0)
    sdk::throw_errno("cannot create statefile " + path_, errno);
  work_lock_ = sdk::UniqueFd(
      ::open(work_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (work_lock_.get() < 0 || ::flock(work_lock_.get(), LOCK_EX) != 0)
    sdk::throw_errno("cannot create statefile " + path_, errno);
  if (::mkdir((work_ + "/pages").c_str(), 0700) != 0)
    sdk::throw_errno("cannot create statefile " + path_, errno);
}

StatefileWriter::~StatefileWriter() {
  if (!committed_) {
    for (const std::string &file : outside_)
      ::unlink(file.c_str());
    std::error_code ec;
    fs::remove_all(work_, ec);
  }
}

void StatefileWriter::write_outside_list() {
  if (outside_.empty())
    return;
  std::string text;
  for (const std::string &file : outside_)
    text += file + "\n";
  write_file(work_ + "/" + outside_list, text);
}

void StatefileWriter::write_manifest(const Manifest &manifest) {
  write_file(work_ + "/MANIFEST", manifest_bytes(manifest));
}

void StatefileWriter::write_index(const std::string &bytes) {
  write_file(work_ + "/" + index_file, bytes);
}

void StatefileWriter::commit(uid_t owner, gid_t group,
                             const SealEntries &pages) {
  write_outside_list();
  if (!bench_unsealed())
    write_seal(work_, key_, digests_of(work_, key_, outside_, pages));
  for (const auto &entry : fs::recursive_directory_iterator(work_))
    if (::lchown(entry.path().c_str(), owner, group) != 0)
      sdk::throw_errno("cannot give " + entry.path().string() + " to its owner",
                       errno);
  if (::chown(work_.c_str(), owner, group) != 0)
    sdk::throw_errno("cannot give " + work_ + " to its owner", errno);
  for (const std::string &file : outside_) // cpr -D by the owner removes them
    if (::lchown(file.c_str(), owner, group) != 0)
      sdk::throw_errno("cannot give " + file + " to its owner", errno);
  sync_path(work_ + "/pages");
  sync_path(work_);
  if (::renameat2(AT_FDCWD, work_.c_str(), AT_FDCWD, path_.c_str(),
                  RENAME_NOREPLACE) != 0) {
    if (errno != EEXIST || !force_)
      sdk::throw_errno("cannot create statefile " + path_, errno);
    // -f: swap the new one in atomically, then delete the old one.
    if (::renameat2(AT_FDCWD, work_.c_str(), AT_FDCWD, path_.c_str(),
                    RENAME_EXCHANGE) != 0)
      sdk::throw_errno("cannot replace statefile " + path_, errno);
    committed_ = true;
    remove_outside_files(work_, outside_); // the old statefile's
    fs::remove_all(work_);
  }
  committed_ = true;
  sync_path(parent_of(path_));
}

} // namespace cpr::engine
