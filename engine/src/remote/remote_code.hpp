// What remote_code.S puts in the first page of a work area: its symbols,
// where each lies from the page's start, and the word after the code that
// holds the area's size.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" const unsigned char cpr_remote_code[], cpr_trailer[],
    cpr_clone_gadget[], cpr_batch_loop[], cpr_snapshot_gadget[],
    cpr_remote_code_end[];

namespace cpr::engine {

inline constexpr std::uint64_t page = 4096;
// After the code, the area's size: a cpr that meets the area after the
// one that mapped it died knows what to unmap.
inline constexpr std::size_t size_word_at = 512;

inline std::size_t code_size() {
  return static_cast<std::size_t>(cpr_remote_code_end - cpr_remote_code);
}
inline std::uint64_t offset_of(const unsigned char *code) {
  return static_cast<std::uint64_t>(code - cpr_remote_code);
}

} // namespace cpr::engine
