#include "statefile/zstd_frames.hpp"

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <fmt/format.h>
#include <new>
#include <vector>
#include <zstd.h>

namespace cpr::engine {
namespace {

void check(std::size_t result, const char *what) {
  if (ZSTD_isError(result))
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: cannot compress the "
                                 "pages ({}: {})",
                                 what, ZSTD_getErrorName(result)));
}

} // namespace

struct FrameCompressor::Contexts {
  std::vector<ZSTD_CCtx *> cctx;
  ~Contexts() {
    for (ZSTD_CCtx *c : cctx)
      ZSTD_freeCCtx(c);
  }
};

// Frames compressed each by one thread of ours, not by zstd's own workers:
// those compress overlapping windows, a tenth slower here.
FrameCompressor::FrameCompressor(int level, unsigned workers)
    : ctx_(std::make_unique<Contexts>()) {
  for (unsigned i = 0; i < std::max(workers, 1U); ++i) {
    ZSTD_CCtx *c = ZSTD_createCCtx();
    if (!c)
      throw std::bad_alloc();
    ctx_->cctx.push_back(c);
    check(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level), "level");
  }
}

FrameCompressor::~FrameCompressor() = default;

unsigned FrameCompressor::workers() const {
  return static_cast<unsigned>(ctx_->cctx.size());
}

std::size_t FrameCompressor::bound(std::size_t len) {
  return ZSTD_compressBound(len);
}

std::size_t FrameCompressor::compress(unsigned worker, const char *in,
                                      std::size_t len, char *out) {
  std::size_t n =
      ZSTD_compress2(ctx_->cctx.at(worker), out, bound(len), in, len);
  check(n, "zstd");
  return n;
}

struct FrameDecompressor::Context {
  ZSTD_DCtx *dctx = ZSTD_createDCtx();
  ~Context() { ZSTD_freeDCtx(dctx); }
};

FrameDecompressor::FrameDecompressor() : ctx_(std::make_unique<Context>()) {
  if (!ctx_->dctx)
    throw std::bad_alloc();
}

FrameDecompressor::~FrameDecompressor() = default;

bool FrameDecompressor::decompress(const char *in, std::size_t len, char *out,
                                   std::size_t expected) {
  if (ZSTD_findFrameCompressedSize(in, len) != len)
    return false;
  std::size_t n = ZSTD_decompressDCtx(ctx_->dctx, out, expected, in, len);
  return !ZSTD_isError(n) && n == expected;
}

} // namespace cpr::engine
