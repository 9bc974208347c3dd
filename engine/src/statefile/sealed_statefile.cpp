// A statefile opened and checked against its seal, its MANIFEST read; and
// one sealed again by root (cpr --reseal).
#include "statefile/statefile.hpp"

#include "statefile/manifest_io.hpp"
#include "statefile/statefile_dir.hpp"
#include "trust/privilege.hpp"
#include "trust/safe_open.hpp"

#include <cpr/sdk/error.hpp>

#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sys/stat.h>

namespace cpr::engine {
namespace fs = std::filesystem;

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
    // Who follows it: read for cpr -D only, each checked there.
    if (type == fs::file_type::regular && name.rfind(followers_dir, 0) == 0)
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
    sf.pages[fmt::format("pages/{}.img", p.pid)] = {p.pages_file_bytes(), {}};
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
  sf.sealed = sealed;
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

std::string read_sealed(const OpenedStatefile &sf, const std::string &name,
                        std::uint64_t limit) {
  sdk::UniqueFd fd = open_sealed(sf.dir.get(), name, sf.path);
  std::string bytes = read_bounded(fd.get(), limit, sf.path, name);
  if (bench_unsealed())
    return bytes;
  auto sealed = sf.sealed.find(name);
  if (sealed == sf.sealed.end())
    statefile_altered(sf.path, name);
  check_bytes(bytes, name, sealed->second, sf.key, sf.path);
  return bytes;
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

} // namespace cpr::engine
