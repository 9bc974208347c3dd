// The seal of a statefile: the size and SHA-256 of every file it holds,
// under an HMAC-SHA256 keyed with a host key only root reads. A statefile
// that anyone but cpr changed is refused before it is trusted.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cpr::engine {

using Digest = std::array<std::uint8_t, 32>;

class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(Sha256 &&) noexcept;
  Sha256 &operator=(Sha256 &&) noexcept;
  void update(const void *data, std::size_t len);
  Digest final();

private:
  struct Context;
  std::unique_ptr<Context> ctx_;
};

struct SealEntry {
  std::uint64_t size = 0;
  Digest digest{};
};
// By name: a path relative to the statefile, or an absolute one for a file
// it owns outside (--distribute).
using SealEntries = std::map<std::string, SealEntry>;

// The host key: /var/lib/cpr/key (root may name another with CPR_KEY_FILE,
// as the tests do to play another host), made on first use.
std::string host_key_path();

// Writes `dir`/SEAL for these entries, under this host's key.
void write_seal(const std::string &dir, const SealEntries &entries);

// The entries of a statefile's SEAL (`dir_fd`, a statefile named `name`),
// once its MAC is checked. Throws "Permission denied: statefile NAME was
// altered after checkpoint (SEAL)" if it is not this host's.
SealEntries read_seal(int dir_fd, const std::string &name);

// The digest of what is left to read in `fd`; `size` is set to its length.
Digest digest_of(int fd, std::uint64_t &size);

} // namespace cpr::engine
