#include "statefile/followers.hpp"

#include "statefile/statefile_dir.hpp"
#include "trust/acting_as.hpp"
#include "trust/privilege.hpp"
#include "trust/safe_open.hpp"

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <functional>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::engine {
namespace fs = std::filesystem;
namespace {

std::string absolute(const std::string &path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path), ec);
  return ec ? fs::absolute(path).lexically_normal().string() : p.string();
}

// The file a follower at `path` leaves in its ancestors' needed-by/.
std::string follower_name(const std::string &path) {
  return fmt::format("{:016x}", std::hash<std::string>{}(path));
}

// The directory of followers of a statefile, made if asked; -1 if none.
sdk::UniqueFd followers_of(int statefile_dir, bool make) {
  std::string name(followers_dir);
  name.pop_back(); // the trailing '/'
  if (make && ::mkdirat(statefile_dir, name.c_str(), 0700) != 0 &&
      errno != EEXIST)
    return sdk::UniqueFd(-1);
  return sdk::UniqueFd(
      ::openat(statefile_dir, name.c_str(),
               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

} // namespace

Earlier load_earlier(const std::string &old, const std::string &path,
                     uid_t owner) {
  const std::string old_path = absolute(old);
  if (old_path == absolute(path))
    throw sdk::Error(EINVAL, "Invalid argument: statefile " + path +
                                 " cannot follow itself");
  OpenedStatefile sf = open_statefile(old, Verify::deferring_pages);
  const Header &h = sf.manifest.header;
  check_access(old, h, Access::restart);
  open_ancestors(old, h); // what OLD refers to must still be there
  if (h.owner_uid != owner)
    throw sdk::Error(EACCES, fmt::format("cannot follow statefile {}: "
                                         "Permission denied (its processes "
                                         "are another user's)",
                                         old));
  Earlier e;
  e.ancestors.push_back({old_path, sf.key.nonce()});
  e.ancestors.insert(e.ancestors.end(), h.ancestors.begin(), h.ancestors.end());
  // A statefile made before indexes has none: nothing of it is referred to.
  if (!sf.sealed.count(index_file) && !bench_unsealed())
    return e;
  std::map<pid_t, PageIndex> indexes =
      parse_indexes(read_sealed(sf, index_file, max_index_size), sf.path);
  for (const ProcessRecord &p : sf.manifest.processes) {
    auto index = indexes.find(p.pid);
    if (index == indexes.end())
      continue;
    EarlierPages::Process &out = e.pages.processes[p.pid];
    out.index = std::move(index->second);
    out.index.sort_by_address();
    out.extents = p.page_extents;
  }
  return e;
}

void add_follower(const std::vector<Ancestor> &ancestors,
                  const std::string &path, uid_t owner, gid_t group) {
  const std::string me = absolute(path);
  const std::string name = follower_name(me);
  // The paths come from a statefile's header: whatever is there now is
  // written to with its owner's rights only.
  Credentials as_owner{
      {owner, owner, owner, owner}, {group, group, group, group}, {}};
  ActingAs acting(as_owner);
  for (const Ancestor &a : ancestors) {
    auto fail = [&](int err) {
      sdk::throw_errno(fmt::format("cannot record in statefile {} that {} "
                                   "refers to its pages",
                                   a.path, path),
                       err);
    };
    sdk::UniqueFd dir = open_statefile_dir(a.path);
    sdk::UniqueFd followers = followers_of(dir.get(), true);
    if (followers.get() < 0)
      fail(errno);
    sdk::UniqueFd f(
        ::openat(followers.get(), name.c_str(),
                 O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    std::string text = me + "\n";
    if (f.get() < 0 || ::write(f.get(), text.data(), text.size()) !=
                           static_cast<ssize_t>(text.size()))
      fail(errno);
    if (::fsync(f.get()) != 0)
      fail(errno);
  }
}

void remove_follower(const std::string &path) {
  std::vector<Ancestor> ancestors;
  struct stat st {};
  try {
    ancestors =
        open_statefile(path, Verify::deferring_pages).manifest.header.ancestors;
  } catch (const std::exception &) {
    return; // no statefile that a restart could use: its names are stale
  }
  if (ancestors.empty() || ::stat(path.c_str(), &st) != 0)
    return;
  const std::string me = absolute(path);
  const std::string name = follower_name(me);
  ActingAs acting({{st.st_uid, st.st_uid, st.st_uid, st.st_uid},
                   {st.st_gid, st.st_gid, st.st_gid, st.st_gid},
                   {}});
  for (const Ancestor &a : ancestors) {
    try {
      sdk::UniqueFd followers =
          followers_of(open_statefile_dir(a.path).get(), false);
      if (followers.get() >= 0)
        ::unlinkat(followers.get(), name.c_str(), 0);
    } catch (const std::exception &) {
    }
  }
}

namespace {

// The statefile named in follower file `name`, if it refers to `me`.
std::optional<std::string> referring(int followers, const char *name,
                                     const Ancestor &me) {
  sdk::UniqueFd f = open_beneath(followers, name, O_RDONLY);
  char text[4096];
  ssize_t n = f.get() < 0 ? -1 : ::read(f.get(), text, sizeof text);
  if (n <= 1 || text[n - 1] != '\n')
    return std::nullopt;
  std::string follower(text, static_cast<std::size_t>(n - 1));
  try {
    OpenedStatefile sf = open_statefile(follower, Verify::deferring_pages);
    const auto &list = sf.manifest.header.ancestors;
    if (std::any_of(list.begin(), list.end(), [&](const Ancestor &a) {
          return a.path == me.path && a.nonce == me.nonce;
        }))
      return follower;
  } catch (const std::exception &) {
    // gone, or no longer a statefile that can be restarted
  }
  return std::nullopt;
}

} // namespace

void check_not_needed(const std::string &path) {
  sdk::UniqueFd dir;
  Ancestor me{absolute(path), {}};
  try {
    dir = open_statefile_dir(path);
    me.nonce = read_seal(dir.get(), path).key.nonce();
  } catch (const std::exception &) {
    return; // not a statefile anything can follow
  }
  sdk::UniqueFd followers = followers_of(dir.get(), false);
  DIR *list =
      followers.get() < 0 ? nullptr : ::fdopendir(::dup(followers.get()));
  if (!list)
    return;
  std::optional<std::string> needed_by;
  while (dirent *d = ::readdir(list))
    if (d->d_name[0] != '.' &&
        (needed_by = referring(followers.get(), d->d_name, me)))
      break;
  ::closedir(list);
  if (needed_by)
    throw sdk::Error(EBUSY, fmt::format("cannot delete statefile {}: "
                                        "Resource busy (statefile {} refers "
                                        "to its pages)",
                                        path, *needed_by));
}

std::vector<OpenedStatefile> open_ancestors(const std::string &path,
                                            const Header &header) {
  std::vector<OpenedStatefile> out;
  for (const Ancestor &a : header.ancestors) {
    auto unusable = [&](const std::string &why) {
      return sdk::Error(sdk::Code::damaged_statefile,
                        fmt::format("damaged statefile {}: it refers to the "
                                    "pages of statefile {}, which {}",
                                    path, a.path, why));
    };
    OpenedStatefile sf;
    try {
      sf = open_statefile(a.path, Verify::deferring_pages);
    } catch (const std::exception &e) {
      throw unusable(fmt::format("cannot be used ({})", e.what()));
    }
    if (!bench_unsealed() && sf.key.nonce() != a.nonce)
      throw unusable("is not the one it was made since");
    check_access(a.path, sf.manifest.header, Access::restart);
    if (sf.manifest.header.owner_uid != header.owner_uid)
      throw unusable("belongs to another user");
    out.push_back(std::move(sf));
  }
  return out;
}

} // namespace cpr::engine
