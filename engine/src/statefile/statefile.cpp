#include "statefile/statefile.hpp"

#include "statefile/manifest_io.hpp"
#include "trust/privilege.hpp"
#include "trust/safe_open.hpp"
#include "statefile/seal.hpp"

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <regex>
#include <sstream>
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

// A statefile has a MANIFEST that starts with our magic.
bool looks_like_statefile(const std::string &path) {
  int fd = ::open((path + "/MANIFEST").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  char head[8];
  bool ok = ::read(fd, head, sizeof head) == sizeof head &&
            has_manifest_magic(head, sizeof head);
  ::close(fd);
  return ok;
}

// The files a statefile owns outside its directory, one path a line.
constexpr const char *outside_list = "OUTSIDE";

// Removes them, but not those in `kept` (a new statefile's), and only names
// a checkpoint makes (NAME.ckpt.pidPID).
void remove_outside_files(const std::string &statefile,
                          const std::vector<std::string> &kept = {}) {
  std::ifstream list(statefile + "/" + outside_list);
  static const std::regex made_by_cpr(R"(.*\.ckpt\.pid[0-9]+)");
  // The list is the statefile owner's to edit: a setuid cpr removes only
  // what its caller owns.
  auto callers = [](const std::string &file) {
    struct stat st {};
    return caller_is_root() ||
           (::lstat(file.c_str(), &st) == 0 && st.st_uid == caller_uid());
  };
  for (std::string file; std::getline(list, file);)
    if (std::regex_match(file, made_by_cpr) && callers(file) &&
        std::find(kept.begin(), kept.end(), file) == kept.end())
      ::unlink(file.c_str());
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

// The digest of every file of the statefile, but those already known (the
// pages, hashed as they were written).
SealEntries digests_of(const std::string &dir, const SealKey &key,
                       const std::vector<std::string> &outside,
                       SealEntries known) {
  auto add = [&](const std::string &name, const std::string &path) {
    if (known.count(name) || name == "SEAL")
      return;
    sdk::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0)
      sdk::throw_errno("cannot seal " + path, errno);
    SealEntry e;
    e.digest = digest_of(fd.get(), key.mac_for(name), e.size);
    known[name] = e;
  };
  for (const auto &entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file())
      add(entry.path().lexically_relative(dir).string(), entry.path().string());
  for (const std::string &file : outside)
    add(file, file);
  return known;
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

namespace {

constexpr std::uint64_t max_manifest_size = 1ULL << 30;

sdk::UniqueFd open_sealed(int dir, const std::string &name,
                          const std::string &path, int flags = O_RDONLY) {
  sdk::UniqueFd fd =
      name.front() == '/'
          ? sdk::UniqueFd(::open(name.c_str(),
                                 flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC))
          : open_beneath(dir, name, flags);
  if (fd.get() >= 0) {
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode))
      return fd;
    statefile_altered(path, name);
  }
  if (errno == ENOENT)
    throw sdk::Error(
        sdk::Code::damaged_statefile,
        fmt::format("damaged statefile {}: {} is missing", path, name));
  if (errno == EACCES || errno == EPERM)
    sdk::throw_errno(fmt::format("cannot open {} of statefile {}", name, path),
                     errno);
  statefile_altered(path,
                    name); // a link, a FIFO, a device where a file was written
}

void compare(std::uint64_t size, const Digest &d, const std::string &name,
             const SealEntry &sealed, const std::string &path) {
  if (size < sealed.size)
    throw sdk::Error(
        sdk::Code::damaged_statefile,
        fmt::format("damaged statefile {}: {} is truncated", path, name));
  if (size != sealed.size || d != sealed.digest)
    statefile_altered(path, name);
}

void check_digest(int fd, const std::string &name, const SealEntry &sealed,
                  const SealKey &key, const std::string &path) {
  std::uint64_t size = 0;
  Digest d = digest_of(fd, key.mac_for(name), size);
  compare(size, d, name, sealed, path);
}

// What was read is what is checked: the file is its owner's to rewrite
// between two reads.
void check_bytes(const std::string &bytes, const std::string &name,
                 const SealEntry &sealed, const SealKey &key,
                 const std::string &path) {
  FileMac mac = key.mac_for(name);
  mac.update(bytes.data(), bytes.size());
  compare(bytes.size(), mac.final(), name, sealed, path);
}

// Nothing in the statefile that cpr did not seal: no extra file, no link,
// no FIFO.
void check_listing(const std::string &path, const SealEntries &sealed) {
  std::error_code ec;
  fs::recursive_directory_iterator it(path, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().lexically_relative(path).string();
    auto type = it->symlink_status(ec).type();
    if (type == fs::file_type::directory || name == "SEAL")
      continue;
    if (type != fs::file_type::regular || !sealed.count(name))
      statefile_altered(path, name);
  }
  if (ec)
    sdk::throw_errno("cannot read statefile " + path, ec.value());
}

OpenedStatefile unsealed_for_bench(OpenedStatefile sf) {
  sdk::UniqueFd fd = open_sealed(sf.dir.get(), "MANIFEST", sf.path);
  sf.manifest = parse_manifest(
      read_bounded(fd.get(), max_manifest_size, sf.path, "MANIFEST"), sf.path);
  for (const ProcessRecord &p : sf.manifest.processes)
    sf.pages[fmt::format("pages/{}.img", p.pid)] = {p.pages_bytes, {}};
  return sf;
}

} // namespace

OpenedStatefile open_statefile(const std::string &path, Verify how) {
  OpenedStatefile sf;
  sf.path = path;
  sf.dir = open_statefile_dir(path);
  if (bench_unsealed())
    return unsealed_for_bench(std::move(sf));
  Seal seal = read_seal(sf.dir.get(), path);
  const SealEntries &sealed = seal.entries;
  sf.key = seal.key;
  if (!sealed.count("MANIFEST"))
    throw sdk::Error(sdk::Code::damaged_statefile,
                     "damaged statefile " + path + ": it has no MANIFEST");
  check_listing(path, sealed);
  std::string manifest;
  for (const auto &[name, entry] : sealed) {
    bool pages = name.rfind("pages/", 0) == 0;
    if (pages && how == Verify::deferring_pages) {
      sf.pages[name] = entry;
      continue;
    }
    sdk::UniqueFd fd = open_sealed(sf.dir.get(), name, path);
    if (name == "MANIFEST") {
      manifest = read_bounded(fd.get(), max_manifest_size, path, name);
      check_bytes(manifest, name, entry, seal.key, path);
    } else {
      check_digest(fd.get(), name, entry, seal.key, path);
    }
  }
  sf.manifest = parse_manifest(manifest, path);
  return sf;
}

Manifest read_manifest(const std::string &path) {
  return open_statefile(path, Verify::everything).manifest;
}

void reseal_statefile(const std::string &path) {
  if (!caller_is_root())
    throw sdk::Error(EACCES, "cannot reseal statefile " + path +
                                 ": Permission denied (only root may)");
  sdk::UniqueFd dir = open_statefile_dir(path);
  sdk::UniqueFd manifest = open_sealed(dir.get(), "MANIFEST", path);
  parse_manifest(
      read_bounded(manifest.get(), max_manifest_size, path, "MANIFEST"), path);
  std::error_code ec;
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end;
       it.increment(ec)) {
    auto type = it->symlink_status(ec).type();
    if (type != fs::file_type::directory && type != fs::file_type::regular)
      throw sdk::Error(
          fmt::format("cannot reseal statefile {}: {} is not a regular file",
                      path, it->path().lexically_relative(path).string()));
  }
  std::vector<std::string> outside;
  std::ifstream list(path + "/" + outside_list);
  for (std::string file; std::getline(list, file);)
    outside.push_back(file);
  SealKey key = SealKey::fresh();
  write_seal(path, key, digests_of(path, key, outside, {}));
}

std::string pages_file(const std::string &dir, pid_t pid) {
  return fmt::format("{}/pages/{}.img", dir, pid);
}

void check_access(const std::string &path, const Header &header, Access what) {
  uid_t me = caller_uid();
  if (me == 0)
    return;
  bool owner = header.owner_uid == me;
  if (!owner)
    throw sdk::Error(EACCES,
                     "cannot use statefile " + path +
                         ": Permission denied (only its owner or root may)");
  if (what == Access::restart && header.made_by_uid == 0)
    throw sdk::Error(EACCES,
                     "cannot restart statefile " + path +
                         ": Permission denied (root made it; only root may "
                         "restart it)");
}

void remove_statefile(const std::string &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    sdk::throw_errno("cannot delete statefile " + path, errno);
  if (!S_ISDIR(st.st_mode) || !looks_like_statefile(path)) {
    if (S_ISDIR(st.st_mode) && ::access((path + "/MANIFEST").c_str(), F_OK) &&
        errno == EACCES)
      throw sdk::Error(EACCES, "cannot delete statefile " + path +
                                   ": Permission denied");
    throw sdk::Error(EINVAL, "cannot delete " + path +
                                 ": Invalid argument (not a "
                                 "statefile)");
  }
  uid_t me = caller_uid();
  if (me != 0 && st.st_uid != me)
    throw sdk::Error(EACCES,
                     "cannot delete statefile " + path +
                         ": Permission denied (only its owner or root may)");
  remove_outside_files(path);
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec)
    throw sdk::Error(ec.value(),
                     "cannot delete statefile " + path + ": " + ec.message());
}

} // namespace cpr::engine
