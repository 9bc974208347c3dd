#include "statefile/seal.hpp"

#include "trust/privilege.hpp"
#include "trust/safe_open.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <sstream>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::engine {
namespace fs = std::filesystem;

struct FileMac::Context {
  EVP_CIPHER_CTX *cipher = EVP_CIPHER_CTX_new();
  ~Context() { EVP_CIPHER_CTX_free(cipher); }
};

FileMac::FileMac() = default;
FileMac::~FileMac() = default;
FileMac::FileMac(FileMac &&) noexcept = default;
FileMac &FileMac::operator=(FileMac &&) noexcept = default;

void FileMac::update(const void *data, std::size_t len) {
  if (!ctx_)
    throw sdk::Error("internal error: a file tag without a key");
  const auto *p = static_cast<const unsigned char *>(data);
  while (len > 0) { // the length is an int
    int n = static_cast<int>(std::min<std::size_t>(len, 1 << 30));
    int out = 0;
    EVP_EncryptUpdate(ctx_->cipher, nullptr, &out, p, n);
    p += n;
    len -= static_cast<std::size_t>(n);
  }
}

Digest FileMac::final() {
  Digest tag{};
  if (!ctx_)
    throw sdk::Error("internal error: a file tag without a key");
  int out = 0;
  EVP_EncryptFinal_ex(ctx_->cipher, nullptr, &out);
  EVP_CIPHER_CTX_ctrl(ctx_->cipher, EVP_CTRL_GCM_GET_TAG,
                      static_cast<int>(tag.size()), tag.data());
  return tag;
}

namespace {

constexpr std::size_t key_size = 32;
constexpr const char *seal_magic = "CPRSEAL 2";
constexpr std::uint64_t max_seal_size = 16 << 20;

std::string hex(const std::uint8_t *p, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i)
    s += fmt::format("{:02x}", p[i]);
  return s;
}

bool unhex(const std::string &s, std::uint8_t *out, std::size_t n) {
  if (s.size() != 2 * n)
    return false;
  for (std::size_t i = 0; i < n; ++i) {
    char *end = nullptr;
    std::string byte = s.substr(2 * i, 2);
    unsigned long v = std::strtoul(byte.c_str(), &end, 16);
    if (*end != '\0' || !std::isxdigit(byte[0]) || !std::isxdigit(byte[1]))
      return false;
    out[i] = static_cast<std::uint8_t>(v);
  }
  return true;
}

[[noreturn]] void key_unreadable(const std::string &path, int err) {
  if (err == EACCES || err == EPERM)
    throw sdk::Error(
        EACCES,
        fmt::format(
            "Permission denied: cannot read the host key {} (cpr must run as "
            "root or be installed setuid root; see cpr(1))",
            path));
  sdk::throw_errno("cannot read the host key " + path, err);
}

// Made once, by whichever cpr comes first: written aside, then linked into
// place, so two cprs starting at once agree on one key.
void make_key(const std::string &path) {
  fs::path dir = fs::path(path).parent_path();
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    key_unreadable(path, errno);
  std::uint8_t key[key_size];
  if (::getrandom(key, sizeof key, 0) != static_cast<ssize_t>(sizeof key))
    sdk::throw_errno("cannot make the host key " + path, errno);
  std::string aside = fmt::format("{}.new.{}", path, ::getpid());
  sdk::UniqueFd fd(::open(aside.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                          0600));
  if (fd.get() < 0)
    key_unreadable(path, errno);
  bool ok =
      ::write(fd.get(), key, sizeof key) == static_cast<ssize_t>(sizeof key) &&
      ::fsync(fd.get()) == 0;
  int err = errno;
  if (ok && ::link(aside.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    ok = false;
    err = errno;
  }
  ::unlink(aside.c_str());
  if (!ok)
    sdk::throw_errno("cannot make the host key " + path, err);
}

std::vector<std::uint8_t> read_key(const std::string &path) {
  sdk::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0 && errno == ENOENT) {
    make_key(path);
    fd = sdk::UniqueFd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  }
  if (fd.get() < 0)
    key_unreadable(path, errno);
  struct stat st {};
  ::fstat(fd.get(), &st);
  if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) != 0 ||
      st.st_size != static_cast<off_t>(key_size))
    throw sdk::Error(EACCES,
                     fmt::format("Permission denied: the host key {} must "
                                 "be a {}-byte file that only root can read",
                                 path, key_size));
  std::vector<std::uint8_t> key(key_size);
  if (::read(fd.get(), key.data(), key.size()) !=
      static_cast<ssize_t>(key.size()))
    key_unreadable(path, errno);
  return key;
}

const std::vector<std::uint8_t> &host_key() {
  static const std::vector<std::uint8_t> key = read_key(host_key_path());
  return key;
}

std::array<std::uint8_t, 32> hmac(const std::string &text) {
  const auto &key = host_key();
  std::array<std::uint8_t, 32> out{};
  unsigned len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char *>(text.data()), text.size(),
            out.data(), &len))
    throw sdk::Error("internal error: HMAC-SHA256 is not available");
  return out;
}

std::string mac_of(const std::string &text) {
  auto mac = hmac(text);
  return hex(mac.data(), mac.size());
}

bool same_mac(const std::string &a, const std::string &b) {
  return a.size() == b.size() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// "NONCE N", then "TAG SIZE NAME" a line.
Seal parse_seal(const std::string &text, const std::string &name) {
  Seal seal;
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != seal_magic)
    statefile_altered(name, "SEAL");
  if (!std::getline(in, line) || line.rfind("NONCE ", 0) != 0)
    statefile_altered(name, "SEAL");
  seal.key = SealKey(line.substr(6));
  SealEntries &entries = seal.entries;
  while (std::getline(in, line)) {
    std::size_t a = line.find(' '), b = line.find(' ', a + 1);
    if (a == std::string::npos || b == std::string::npos)
      statefile_altered(name, "SEAL");
    SealEntry e;
    char *end = nullptr;
    std::string size = line.substr(a + 1, b - a - 1);
    e.size = std::strtoull(size.c_str(), &end, 10);
    if (!unhex(line.substr(0, a), e.digest.data(), e.digest.size()) ||
        size.empty() || *end != '\0')
      statefile_altered(name, "SEAL");
    entries[line.substr(b + 1)] = e;
  }
  return seal;
}

} // namespace

void statefile_altered(const std::string &name, const std::string &file) {
  throw sdk::Error(EACCES,
                   fmt::format("Permission denied: statefile {} was altered "
                               "after checkpoint ({})",
                               name, file));
}

std::string host_key_path() {
  if (environment_trusted())
    if (const char *path = std::getenv("CPR_KEY_FILE"); path && *path)
      return path;
  return "/var/lib/cpr/key";
}

SealKey SealKey::fresh() {
  std::uint8_t nonce[16];
  if (::getrandom(nonce, sizeof nonce, 0) != static_cast<ssize_t>(sizeof nonce))
    sdk::throw_errno("cannot draw a nonce for the seal", errno);
  return SealKey(hex(nonce, sizeof nonce));
}

FileMac SealKey::mac_for(const std::string &name) const {
  auto key = hmac(std::string("cpr file key\0", 13) + nonce_ + '\0' + name);
  FileMac mac;
  mac.ctx_ = std::make_unique<FileMac::Context>();
  // The key is this file's alone, so one fixed IV is never reused.
  const unsigned char iv[12] = {};
  if (!mac.ctx_->cipher ||
      EVP_EncryptInit_ex(mac.ctx_->cipher, EVP_aes_128_gcm(), nullptr,
                         key.data(), iv) != 1)
    throw sdk::Error("internal error: AES-128-GCM is not available");
  return mac;
}

void write_seal(const std::string &dir, const SealKey &key,
                const SealEntries &entries) {
  std::string text = std::string(seal_magic) + "\n";
  text += "NONCE " + key.nonce() + "\n";
  for (const auto &[name, e] : entries) {
    if (name.find('\n') != std::string::npos)
      throw sdk::Error(sdk::Code::checkpoint_error,
                       "Checkpoint error: a file of the statefile has a "
                       "newline in its name: " +
                           name);
    text += fmt::format("{} {} {}\n", hex(e.digest.data(), e.digest.size()),
                        e.size, name);
  }
  text += "MAC " + mac_of(text) + "\n";
  std::string path = dir + "/SEAL";
  sdk::UniqueFd fd(::open(path.c_str(),
                          O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                          0600));
  if (fd.get() < 0 ||
      ::write(fd.get(), text.data(), text.size()) !=
          static_cast<ssize_t>(text.size()) ||
      ::fdatasync(fd.get()) != 0)
    sdk::throw_errno("cannot write " + path, errno);
}

Seal read_seal(int dir_fd, const std::string &name) {
  sdk::UniqueFd fd = open_beneath(dir_fd, "SEAL", O_RDONLY);
  if (fd.get() < 0) {
    if (errno == ENOENT)
      throw sdk::Error(EACCES,
                       fmt::format("Permission denied: statefile {} is not "
                                   "sealed (SEAL is missing)",
                                   name));
    statefile_altered(name, "SEAL");
  }
  std::string text = read_bounded(fd.get(), max_seal_size, name, "SEAL");
  std::size_t mac_at = text.rfind("MAC ");
  if (mac_at == std::string::npos || text.back() != '\n')
    statefile_altered(name, "SEAL");
  std::string body = text.substr(0, mac_at);
  std::string mac = text.substr(mac_at + 4, text.size() - mac_at - 5);
  if (!same_mac(mac, mac_of(body)))
    throw sdk::Error(
        EACCES, fmt::format("Permission denied: statefile {} was altered after "
                            "checkpoint (SEAL), "
                            "or was sealed on another host (see cpr --reseal)",
                            name));
  return parse_seal(body, name);
}

Digest digest_of(int fd, FileMac mac, std::uint64_t &size) {
  std::vector<char> buf(1 << 20);
  size = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      sdk::throw_errno("cannot read a file of the statefile", errno);
    if (n == 0)
      break;
    mac.update(buf.data(), static_cast<std::size_t>(n));
    size += static_cast<std::uint64_t>(n);
  }
  return mac.final();
}

} // namespace cpr::engine
