// PageWriter with --compress: each chunk of pages becomes zstd frames, one
// per core, compressed while the chunk before is written and the next read.
#include "statefile/pages.hpp"

#include "remote/remote.hpp"

#include <algorithm>
#include <cstring>
#include <thread>

namespace cpr::engine {

void PageWriter::compress(int level) {
  compressor_ = std::make_unique<FrameCompressor>(
      level, std::max(1U, std::thread::hardware_concurrency()));
  frame_slot_ =
      FrameCompressor::bound(buffer_size) / page_size * page_size + page_size;
  for (Buffer &b : frames_)
    b = make_buffer(frame_slot_ * compressor_->workers());
}

void PageWriter::compress_and_write(pid_t pid, File &out, const char *buffer,
                                    std::size_t len) {
  if (compressing_.valid())
    compressing_.get();
  compressing_ = std::async(
      std::launch::async, [this, pid, &out, buffer, len, raw = out.raw] {
        allow_any_cpu();
        hash_pages(out, buffer, len);
        auto [frames, stored] = compress_chunk(out, raw, buffer, len);
        if (writing_.valid())
          writing_.get();
        writing_ = start_write(pid, out, frames, stored);
      });
}

// Each part into its slot of the buffer, then moved down to follow the one
// before it.
std::pair<const char *, std::size_t>
PageWriter::compress_chunk(File &out, std::uint64_t raw, const char *buffer,
                           std::size_t len) {
  char *frames = frames_[next_frames_].get();
  next_frames_ ^= 1;
  const unsigned parts = len >= 2 * min_frame ? compressor_->workers() : 1;
  const std::size_t part =
      (len / parts + page_size - 1) / page_size * page_size;
  std::vector<std::size_t> sizes(parts), lengths(parts);
  std::vector<std::future<void>> others;
  for (unsigned i = 0; i < parts; ++i) {
    lengths[i] = std::min(part, len - std::min(len, i * part));
    auto one = [&, i] {
      run_on_own_cpu(i);
      sizes[i] = compressor_->compress(i, buffer + i * part, lengths[i],
                                       frames + i * frame_slot_);
    };
    if (i + 1 < parts)
      others.push_back(std::async(std::launch::async, one));
    else
      one();
  }
  for (std::future<void> &f : others)
    f.get();
  std::uint64_t stored = out.frames.empty() ? 0 : frame_end(out.frames.back());
  std::size_t written = 0;
  for (unsigned i = 0; i < parts && lengths[i] > 0; ++i) {
    PageFrame f{raw + i * part, lengths[i], stored + written, sizes[i]};
    std::memmove(frames + written, frames + i * frame_slot_, sizes[i]);
    std::size_t padded = frame_end(f) - f.stored;
    std::memset(frames + written + sizes[i], 0, padded - sizes[i]);
    out.frames.push_back(f);
    written += padded;
  }
  return {frames, written};
}

} // namespace cpr::engine
