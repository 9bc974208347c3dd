// PageReader: the pages of a compressed pages file, frame by frame.
#include "statefile/pages.hpp"

#include "trust/privilege.hpp"
#include "trust/safe_open.hpp"

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>

namespace cpr::engine {

bool frames_well_formed(const std::vector<PageFrame> &frames,
                        std::uint64_t bytes) {
  std::uint64_t raw = 0, stored = 0;
  for (const PageFrame &f : frames) {
    if (f.raw != raw || f.stored != stored || f.raw_length == 0 ||
        f.raw_length > buffer_size || f.stored_length == 0 ||
        f.stored_length > FrameCompressor::bound(f.raw_length))
      return false;
    raw += f.raw_length;
    stored = frame_end(f);
  }
  return frames.empty() || raw == bytes;
}

void PageReader::read_frames(File &f, char *buffer, const Piece &c) {
  const std::uint64_t end = c.offset + c.len;
  auto after = std::upper_bound(
      f.frames.begin(), f.frames.end(), c.offset,
      [](std::uint64_t at, const PageFrame &fr) { return at < fr.raw; });
  auto k = static_cast<std::size_t>(after - f.frames.begin()) - 1;
  for (std::uint64_t at = c.offset; at < end; ++k) {
    load_frame(f, k); // open() checked the frames hold every extent
    const PageFrame &fr = f.frames[k];
    std::uint64_t take = std::min(end, fr.raw + fr.raw_length) - at;
    std::memcpy(buffer + (at - c.offset), frame_.get() + (at - fr.raw), take);
    at += take;
  }
}

void PageReader::load_frame(File &f, std::size_t k) {
  if (frame_file_ == &f && frame_index_ == k)
    return;
  frame_file_ = nullptr;
  const PageFrame &fr = f.frames[k];
  const std::size_t padded = frame_end(fr) - fr.stored;
  read_exactly(f, stored_frame_.get(), padded, fr.stored);
  if (!bench_unsealed() && f.in_order) {
    if (fr.stored == f.hashed) {
      f.mac.update(stored_frame_.get(), padded);
      f.hashed += padded;
    } else if (fr.stored > f.hashed) {
      f.in_order = false;
    }
  }
  if (!decompressor_.decompress(stored_frame_.get(), fr.stored_length,
                                frame_.get(), fr.raw_length))
    refuse_frames_of(f);
  frame_file_ = &f;
  frame_index_ = k;
}

// Altered, most likely; else made so by a cpr gone wrong.
void PageReader::refuse_frames_of(const File &f) const {
  if (!bench_unsealed() && !whole_file_as_sealed(f))
    statefile_altered(f.source->statefile, f.name);
  throw sdk::Error(sdk::Code::damaged_statefile,
                   fmt::format("damaged statefile {}: {} does not decompress",
                               f.source->statefile, f.name));
}

} // namespace cpr::engine
