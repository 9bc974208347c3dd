// A statefile as a whole: who may act on it, removing it, where its pages
// files are.
#include "statefile/statefile.hpp"

#include "statefile/followers.hpp"
#include "statefile/statefile_dir.hpp"
#include "trust/privilege.hpp"

#include <cpr/sdk/error.hpp>

#include <cerrno>
#include <filesystem>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::engine {
namespace fs = std::filesystem;

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
  check_not_needed(path);
  remove_follower(path);
  remove_outside_files(path);
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec)
    throw sdk::Error(ec.value(),
                     "cannot delete statefile " + path + ": " + ec.message());
}

} // namespace cpr::engine
