// The zstd frames of a compressed pages file (--compress): a chunk of pages
// is cut into one frame per core, each compressed on its own.
#pragma once

#include <cstddef>
#include <memory>

namespace cpr::engine {

class FrameCompressor {
public:
  // `level`: zstd's, 1 (fast) to 19; one context for each of `workers`.
  FrameCompressor(int level, unsigned workers);
  ~FrameCompressor();
  unsigned workers() const;
  // Room a frame of `len` bytes may need, at most.
  static std::size_t bound(std::size_t len);
  // Compresses `len` bytes of `in` into `out` (bound(len) bytes) as one
  // frame, with the context of `worker`; returns its size.
  std::size_t compress(unsigned worker, const char *in, std::size_t len,
                       char *out);

private:
  struct Contexts;
  std::unique_ptr<Contexts> ctx_;
};

class FrameDecompressor {
public:
  FrameDecompressor();
  ~FrameDecompressor();
  // Decompresses the frame `in` (`len` bytes) into `out`; false unless it
  // is one well-formed frame of exactly `expected` bytes.
  bool decompress(const char *in, std::size_t len, char *out,
                  std::size_t expected);

private:
  struct Context;
  std::unique_ptr<Context> ctx_;
};

} // namespace cpr::engine
