#include "statefile.hpp"

#include <cpr/sdk/error.hpp>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/crc.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::engine {
namespace fs = std::filesystem;

namespace {

constexpr char magic[8] = {'C', 'P', 'R', 'S', 'T', 'A', 'T', 'E'};

struct Trailer {
  char magic[8];
  std::uint32_t revision;
  std::uint32_t crc;
  std::uint64_t length;
};

std::uint32_t crc_of(const std::string &bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

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
  char head[sizeof magic];
  bool ok = ::read(fd, head, sizeof head) == sizeof head &&
            std::memcmp(head, magic, sizeof magic) == 0;
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
  for (std::string file; std::getline(list, file);)
    if (std::regex_match(file, made_by_cpr) &&
        std::find(kept.begin(), kept.end(), file) == kept.end())
      ::unlink(file.c_str());
}

std::string parent_of(const std::string &path) {
  fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

} // namespace

StatefileWriter::StatefileWriter(std::string path, bool force)
    : path_(std::move(path)), force_(force) {
  while (path_.size() > 1 && path_.back() == '/')
    path_.pop_back();
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!force_)
      throw sdk::Error("cannot create statefile " + path_ + ": File exists");
    if (S_ISDIR(st.st_mode) && !looks_like_statefile(path_))
      throw sdk::Error("cannot create statefile " + path_ +
                       ": File exists (and it is not a statefile, so -f "
                       "does not overwrite it)");
  } else if (errno != ENOENT) {
    sdk::throw_errno("cannot create statefile " + path_, errno);
  }
  std::string name = fs::path(path_).filename().string();
  work_ = fmt::format("{}/.{}.cpr-tmp.{}", parent_of(path_), name, ::getpid());
  fs::remove_all(work_);
  if (::mkdir(work_.c_str(), 0700) != 0)
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
  std::ostringstream out;
  {
    boost::archive::binary_oarchive archive(out);
    archive << manifest;
  }
  std::string body = out.str();
  Trailer head{};
  std::memcpy(head.magic, magic, sizeof magic);
  head.revision = format_revision;
  head.crc = crc_of(body);
  head.length = body.size();
  std::string bytes(reinterpret_cast<const char *>(&head), sizeof head);
  write_file(work_ + "/MANIFEST", bytes + body);
}

void StatefileWriter::commit(uid_t owner, gid_t group) {
  write_outside_list();
  for (const auto &entry : fs::recursive_directory_iterator(work_))
    if (::lchown(entry.path().c_str(), owner, group) != 0)
      sdk::throw_errno("cannot give " + entry.path().string() + " to its owner",
                       errno);
  if (::chown(work_.c_str(), owner, group) != 0)
    sdk::throw_errno("cannot give " + work_ + " to its owner", errno);
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

Manifest read_manifest(const std::string &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    sdk::throw_errno("cannot open statefile " + path, errno);
  if (!S_ISDIR(st.st_mode))
    throw sdk::Error("cannot open statefile " + path + ": Not a directory");
  std::string file = path + "/MANIFEST";
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      throw sdk::Error("damaged statefile " + path + ": it has no MANIFEST");
    sdk::throw_errno("cannot open statefile " + path, errno);
  }
  std::string bytes;
  char buf[1 << 16];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    bytes.append(buf, static_cast<size_t>(n));
  ::close(fd);
  Trailer head{};
  if (bytes.size() < sizeof head)
    throw sdk::Error("damaged statefile " + path + ": MANIFEST is truncated");
  std::memcpy(&head, bytes.data(), sizeof head);
  if (std::memcmp(head.magic, magic, sizeof magic) != 0)
    throw sdk::Error("damaged statefile " + path + ": not a cpr MANIFEST");
  if (head.revision > format_revision)
    throw sdk::Error(fmt::format(
        "Checkpoint error: statefile {} has format revision {}, newer than "
        "this cpr reads ({})",
        path, head.revision, format_revision));
  std::string body = bytes.substr(sizeof head);
  if (body.size() != head.length)
    throw sdk::Error("damaged statefile " + path + ": MANIFEST is truncated");
  if (crc_of(body) != head.crc)
    throw sdk::Error("damaged statefile " + path +
                     ": MANIFEST checksum mismatch");
  try {
    std::istringstream in(body);
    boost::archive::binary_iarchive archive(in);
    Manifest manifest;
    archive >> manifest;
    return manifest;
  } catch (const std::exception &e) {
    throw sdk::Error("damaged statefile " + path + ": " + e.what());
  }
}

std::string pages_file(const std::string &dir, pid_t pid) {
  return fmt::format("{}/pages/{}.img", dir, pid);
}

void check_access(const std::string &path, const Header &header, Access what) {
  uid_t me = ::geteuid();
  if (me == 0)
    return;
  bool owner = header.owner_uid == me;
  if (!owner)
    throw sdk::Error("cannot use statefile " + path +
                     ": Permission denied (only its owner or root may)");
  if (what == Access::restart && header.made_by_uid == 0)
    throw sdk::Error("cannot restart statefile " + path +
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
      throw sdk::Error("cannot delete statefile " + path +
                       ": Permission denied");
    throw sdk::Error("cannot delete " + path +
                     ": Invalid argument (not a "
                     "statefile)");
  }
  uid_t me = ::geteuid();
  if (me != 0 && st.st_uid != me)
    throw sdk::Error("cannot delete statefile " + path +
                     ": Permission denied (only its owner or root may)");
  remove_outside_files(path);
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec)
    throw sdk::Error("cannot delete statefile " + path + ": " + ec.message());
}

const ObjectRecord &Manifest::object(std::uint64_t id) const {
  for (const ObjectRecord &o : objects)
    if (o.id == id)
      return o;
  throw sdk::Error(fmt::format("damaged statefile: object {} is missing", id));
}

} // namespace cpr::engine
