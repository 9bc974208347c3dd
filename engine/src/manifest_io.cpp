#include "manifest_io.hpp"

#include "bounded_archive.hpp"

#include <cpr/sdk/error.hpp>

#include <boost/archive/binary_oarchive.hpp>
#include <boost/crc.hpp>

#include <cstring>
#include <fmt/format.h>
#include <sstream>

namespace cpr::engine {
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

[[noreturn]] void damaged(const std::string &name, const std::string &what) {
  throw sdk::Error(sdk::Code::damaged_statefile,
                   "damaged statefile " + name + ": MANIFEST " + what);
}

} // namespace

std::string manifest_bytes(const Manifest &manifest) {
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
  return std::string(reinterpret_cast<const char *>(&head), sizeof head) + body;
}

bool has_manifest_magic(const char *head, std::size_t len) {
  return len >= sizeof magic && std::memcmp(head, magic, sizeof magic) == 0;
}

Manifest parse_manifest(const std::string &bytes, const std::string &name) {
  Trailer head{};
  if (bytes.size() < sizeof head)
    damaged(name, "is truncated");
  std::memcpy(&head, bytes.data(), sizeof head);
  if (!has_manifest_magic(head.magic, sizeof head.magic))
    throw sdk::Error(sdk::Code::damaged_statefile,
                     "damaged statefile " + name + ": not a cpr MANIFEST");
  if (head.revision > format_revision)
    throw sdk::Error(
        sdk::Code::checkpoint_error,
        fmt::format(
            "Checkpoint error: statefile {} has format revision {}, newer than "
            "this cpr reads ({})",
            name, head.revision, format_revision));
  if (bytes.size() - sizeof head != head.length)
    damaged(name, "is truncated");
  std::string body = bytes.substr(sizeof head);
  if (crc_of(body) != head.crc)
    damaged(name, "checksum mismatch");
  try {
    std::istringstream in(body);
    BoundedArchive archive(in, body.size());
    Manifest manifest;
    archive >> manifest;
    return manifest;
  } catch (...) {
    // Boost's words ("input stream error") say nothing to a user.
    damaged(name, "cannot be read (malformed)");
  }
}

const ObjectRecord &Manifest::object(std::uint64_t id) const {
  for (const ObjectRecord &o : objects)
    if (o.id == id)
      return o;
  throw sdk::Error(sdk::Code::damaged_statefile,
                   fmt::format("damaged statefile: object {} is missing", id));
}

} // namespace cpr::engine
