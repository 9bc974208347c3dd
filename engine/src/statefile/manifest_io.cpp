#include "statefile/manifest_io.hpp"

#include "statefile/legacy_records.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/portable_archive.hpp>

#include <boost/crc.hpp>

#include <cstring>
#include <fmt/format.h>
#include <sstream>

namespace cpr::engine {
namespace {

constexpr char magic[8] = {'C', 'P', 'R', 'S', 'T', 'A', 'T', 'E'};

// The head before the body: the magic, then the revision, the body's
// CRC-32 and its length, little-endian.
constexpr std::size_t head_size = sizeof magic + 4 + 4 + 8;

void put_le(std::string &out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_le(const std::string &in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + i]))
         << (8 * i);
  return v;
}

std::uint32_t crc_of(const std::string &bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

[[noreturn]] void damaged(const std::string &name, const std::string &what) {
  throw sdk::Error(sdk::Code::damaged_statefile,
                   "damaged statefile " + name + ": MANIFEST " + what);
}

} // namespace

std::string manifest_bytes(const Manifest &manifest) {
  std::stringbuf out;
  {
    sdk::PortableOArchive archive(out);
    archive << manifest;
  }
  std::string body = out.str();
  std::string head(magic, sizeof magic);
  put_le(head, format_revision, 4);
  put_le(head, crc_of(body), 4);
  put_le(head, body.size(), 8);
  return head + body;
}

bool has_manifest_magic(const char *head, std::size_t len) {
  return len >= sizeof magic && std::memcmp(head, magic, sizeof magic) == 0;
}

Manifest parse_manifest(const std::string &bytes, const std::string &name) {
  if (bytes.size() < head_size)
    damaged(name, "is truncated");
  if (!has_manifest_magic(bytes.data(), sizeof magic))
    throw sdk::Error(sdk::Code::damaged_statefile,
                     "damaged statefile " + name + ": not a cpr MANIFEST");
  auto revision = static_cast<std::uint32_t>(get_le(bytes, 8, 4));
  if (revision > format_revision)
    throw sdk::Error(
        sdk::Code::checkpoint_error,
        fmt::format(
            "Checkpoint error: statefile {} has format revision {}, newer than "
            "this cpr reads ({})",
            name, revision, format_revision));
  if (revision < first_portable_revision)
    throw sdk::Error(
        sdk::Code::checkpoint_error,
        fmt::format("Checkpoint error: statefile {} has format revision {}, "
                    "from before statefiles were portable; restart it with "
                    "the cpr that made it (0.1 of December 2026)",
                    name, revision));
  if (bytes.size() - head_size != get_le(bytes, 16, 8))
    damaged(name, "is truncated");
  std::string body = bytes.substr(head_size);
  if (crc_of(body) != get_le(bytes, 12, 4))
    damaged(name, "checksum mismatch");
  Manifest manifest;
  try {
    std::stringbuf in(body);
    sdk::PortableIArchive archive(in, body.size());
    archive >> manifest;
  } catch (...) {
    // Boost's words ("input stream error") say nothing to a user.
    damaged(name, "cannot be read (malformed)");
  }
  move_legacy_records(manifest);
  return manifest;
}

const ObjectRecord &Manifest::object(std::uint64_t id) const {
  for (const ObjectRecord &o : objects)
    if (o.id == id)
      return o;
  throw sdk::Error(sdk::Code::damaged_statefile,
                   fmt::format("damaged statefile: object {} is missing", id));
}

} // namespace cpr::engine
