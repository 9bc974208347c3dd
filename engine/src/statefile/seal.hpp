// The seal of a statefile: the size and tag of every file it holds, under
// an HMAC-SHA256 keyed with a host key only root reads. A statefile
// that anyone but cpr changed is refused before it is trusted.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cpr::engine {

// A file's tag: GMAC (AES-128-GCM over the file as associated data) under
// a key of its own, drawn from the host key, the statefile's nonce and the
// file's name. GMAC runs at 5.7 GB/s on one core here (AES-NI, PCLMUL),
// where SHA-256 runs at 1.3: the pages of a checkpoint are tagged while the
// device writes them, and the tag costs next to nothing.
using Digest = std::array<std::uint8_t, 16>;

class FileMac {
public:
  FileMac();
  ~FileMac();
  FileMac(FileMac &&) noexcept;
  FileMac &operator=(FileMac &&) noexcept;
  void update(const void *data, std::size_t len);
  Digest final();

private:
  friend class SealKey;
  struct Context;
  std::unique_ptr<Context> ctx_;
};

// What one statefile is sealed with: a random nonce of its own, from which
// each file's key comes.
class SealKey {
public:
  static SealKey fresh();
  explicit SealKey(std::string nonce_hex = {}) : nonce_(std::move(nonce_hex)) {}
  const std::string &nonce() const { return nonce_; }
  FileMac mac_for(const std::string &name) const;

private:
  std::string nonce_;
};

struct SealEntry {
  std::uint64_t size = 0;
  Digest digest{};
};
// By name: a path relative to the statefile, or an absolute one for a file
// it owns outside (--distribute).
using SealEntries = std::map<std::string, SealEntry>;

// "Permission denied: statefile NAME was altered after checkpoint (FILE)".
[[noreturn]] void statefile_altered(const std::string &name,
                                    const std::string &file);

// The host key: /var/lib/cpr/key (root may name another with CPR_KEY_FILE,
// as the tests do to play another host), made on first use.
std::string host_key_path();

// Writes `dir`/SEAL for these entries, under this host's key.
void write_seal(const std::string &dir, const SealKey &key,
                const SealEntries &entries);

struct Seal {
  SealKey key;
  SealEntries entries;
};
// A statefile's SEAL (`dir_fd`, a statefile named `name`), once its MAC is
// checked. Throws "Permission denied: statefile NAME was altered after
// checkpoint (SEAL)" if it is not this host's.
Seal read_seal(int dir_fd, const std::string &name);

// The tag of what is left to read in `fd`; `size` is set to its length.
Digest digest_of(int fd, FileMac mac, std::uint64_t &size);

} // namespace cpr::engine
