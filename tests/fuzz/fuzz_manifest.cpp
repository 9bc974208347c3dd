// Any bytes given to the MANIFEST reader end in a Manifest or in one
// sdk::Error; anything else (another exception, a crash, a leak, a huge
// allocation, a hang) is a finding. The input is the archive itself: the
// harness puts a header with the right length and CRC-32 in front, or the
// fuzzer would never get past the checksum.
#include "statefile/manifest_io.hpp"

#include <cpr/sdk/error.hpp>

#include <boost/crc.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  std::string body(reinterpret_cast<const char *>(data), size);
  boost::crc_32_type crc;
  crc.process_bytes(body.data(), body.size());
  struct {
    char magic[8] = {'C', 'P', 'R', 'S', 'T', 'A', 'T', 'E'};
    std::uint32_t revision = cpr::engine::format_revision;
    std::uint32_t crc;
    std::uint64_t length;
  } head;
  head.crc = crc.checksum();
  head.length = body.size();
  std::string bytes(reinterpret_cast<const char *>(&head), sizeof head);
  try {
    cpr::engine::parse_manifest(bytes + body, "fuzz");
  } catch (const cpr::sdk::Error &) {
  }
  return 0;
}
