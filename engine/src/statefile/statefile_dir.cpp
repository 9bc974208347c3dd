// What makes a directory a statefile, and what it owns (see
// statefile_dir.hpp).
#include "statefile/statefile_dir.hpp"

#include "statefile/manifest_io.hpp"
#include "trust/privilege.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <algorithm>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::engine {
namespace fs = std::filesystem;

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

void remove_outside_files(const std::string &statefile,
                          const std::vector<std::string> &kept) {
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

} // namespace cpr::engine
