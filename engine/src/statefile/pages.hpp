// The pages/ files of a statefile: one raw file per process.
#pragma once

#include "statefile/manifest.hpp"
#include "statefile/page_chunks.hpp"
#include "statefile/page_index.hpp"
#include "statefile/progress_meter.hpp"
#include "statefile/seal.hpp"
#include "statefile/statefile.hpp"
#include "statefile/zstd_frames.hpp"

#include <cpr/sdk/pages.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <sys/uio.h>

#include <cstdint>
#include <cstdlib>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cpr::engine {

// A page-aligned buffer (as O_DIRECT wants), zeroed when made: its first
// touch is slow, and must happen before anything is frozen.
struct FreeBuffer {
  void operator()(char *p) const { std::free(p); }
};
using Buffer = std::unique_ptr<char, FreeBuffer>;
Buffer make_buffer(std::size_t size = buffer_size);

class PageWriter final : public sdk::PageSink {
public:
  // `key`: what the statefile is sealed with.
  PageWriter(std::string statefile_dir, SealKey key);
  ~PageWriter() override;
  std::uint64_t save(pid_t pid,
                     std::span<const sdk::PagesToSave> ranges) override;
  // From now on, private copies are kept for later: finish() reads them
  // from a fork of their process, or from the process itself.
  void defer_private_copies() { defer_ = true; }
  // From now on, pages are written as zstd frames of this level.
  void compress(int level);
  // From now on, a page that `earlier` holds as it is now is referred to,
  // not written (cpr -c --since).
  void follow(const EarlierPages &earlier) { earlier_ = &earlier; }
  // The processes whose pages are kept for later.
  std::vector<pid_t> deferred() const;
  // The pages kept for later of process `pid` are to be read from `fork`.
  void read_deferred_from(pid_t pid, pid_t fork);
  // Copies the pages kept for later of process `pid` now.
  void copy_deferred(pid_t pid);
  // Copies every page kept for later, then makes every pages file durable.
  void finish();
  // The statefile's INDEX (page_index.hpp), once finished.
  std::string index_bytes();
  // What process `pid`'s pages file holds, decompressed.
  std::uint64_t bytes(pid_t pid) const;
  std::vector<PageExtent> extents(pid_t pid) const;
  std::vector<PageFrame> frames(pid_t pid) const;
  std::uint64_t total_bytes() const;
  // Told of every chunk as it is written.
  void report_to(ProgressMeter &meter) { meter_ = &meter; }
  double seconds() const { return seconds_; }
  // The seal's entries of the pages files, once finished.
  SealEntries digests();

private:
  struct File {
    int fd = -1;
    std::uint64_t size = 0;    // written
    std::uint64_t raw = 0;     // written, before compression
    std::uint64_t logical = 0; // handed out to handlers
    std::vector<PageExtent> extents;
    std::vector<PageFrame> frames;
    PageIndex index;
    // Of each page written, in the order written (by the writing task).
    std::vector<PageHash> written_hashes;
    std::vector<std::pair<std::uint64_t, sdk::PagesToSave>> deferred;
    sdk::UniqueFd fork_memory; // where the deferred pages are read from
    FileMac mac;               // of what is written, as it is written
  };
  struct Run {
    pid_t pid;
    int memory_fd; // /proc/PID/mem to read from, or -1: the process itself
    File &out;
    std::uint64_t logical;
    bool drop_zeros;
  };
  File &file(pid_t pid);
  static void read_memory_file(pid_t pid, int fd, char *buffer,
                               std::span<const iovec> remote);
  char *read_chunk(const Run &run, std::span<const iovec> remote,
                   std::size_t len);
  void write_chunk(pid_t pid, File &out, const char *buffer, std::size_t len);
  std::future<void> start_write(pid_t pid, File &out, const char *data,
                                std::size_t len);
  void compress_and_write(pid_t pid, File &out, const char *buffer,
                          std::size_t len);
  // The chunk, which starts at `raw` decompressed, as frames in one of
  // frames_; their length, padded.
  std::pair<const char *, std::size_t> compress_chunk(File &out,
                                                      std::uint64_t raw,
                                                      const char *buffer,
                                                      std::size_t len);
  void copy_run(Run run, std::span<const sdk::Range> ranges);
  void copy_pages(Run &run, std::span<const iovec> remote, std::size_t len);
  static void add_extent(File &f, const PageExtent &e);
  static void sort_extents(File &f);
  // Adds the hashes of the pages of a chunk written to out.written_hashes.
  static void hash_pages(File &out, const char *data, std::size_t len);

  void wait_for_write();

  std::string dir_;
  SealKey key_;
  std::map<pid_t, File> files_;
  bool defer_ = false;
  const EarlierPages *earlier_ = nullptr;
  // Two buffers: one fills from the process while the other is written.
  Buffer buffers_[2];
  int next_ = 0;
  std::future<void> writing_;
  // With --compress, a chunk is compressed into one frame per core (parts
  // under min_frame are not cut), in one of frames_ while the other is
  // written.
  std::unique_ptr<FrameCompressor> compressor_;
  static constexpr std::size_t min_frame = 256 << 10;
  std::size_t frame_slot_ = 0;
  Buffer frames_[2];
  int next_frames_ = 0;
  std::future<void> compressing_; // then starts writing_
  ProgressMeter *meter_ = nullptr;
  double seconds_ = 0;
};

// Frames one after another from the start of the file, each holding the
// next piece of the `bytes` decompressed, in pieces no larger than a
// buffer, each no longer than zstd could make it.
bool frames_well_formed(const std::vector<PageFrame> &frames,
                        std::uint64_t bytes);

class PageReader final : public sdk::PageSource {
public:
  // `dir_fd`: the statefile's directory; `sealed`: its pages files as the
  // seal has them.
  PageReader(std::string statefile, int dir_fd, SealKey key,
             SealEntries sealed);
  ~PageReader() override;
  // A statefile this one follows (cpr -c --since), opened and checked:
  // the source its extents call k, k = 1, 2, ... in the order added.
  void add_source(OpenedStatefile ancestor);
  // Throws "damaged statefile" unless the pages file holds `bytes`, which
  // `extents` place (or the files of the sources they name), in `frames` if
  // it is compressed.
  void open(pid_t pid, std::uint64_t bytes, std::vector<PageExtent> extents,
            std::vector<PageFrame> frames);
  // The saved process `saved` now runs as `live` (a new PID namespace).
  void alias(pid_t live, pid_t saved) { aliases_[live] = saved; }
  void restore(pid_t pid, std::uint64_t offset,
               std::span<const sdk::Range> ranges) override;
  // Throws "Permission denied: statefile NAME was altered after checkpoint
  // (pages/PID.img)" unless every pages file opened is as sealed. Call
  // before any restored process runs.
  void verify();
  double seconds() const { return seconds_; }
  std::uint64_t total_bytes() const { return bytes_; }
  // Told of every chunk as it is put back.
  void report_to(ProgressMeter &meter) { meter_ = &meter; }

private:
  struct Source {
    std::string statefile;
    int dir_fd = -1;
    SealKey key;
    SealEntries sealed;
    // An ancestor's: its own directory, and each process's pages file as
    // its record has it (decompressed bytes, frames).
    sdk::UniqueFd own_dir;
    std::map<pid_t, std::pair<std::uint64_t, std::vector<PageFrame>>> files;
  };
  struct File {
    const Source *source = nullptr;
    sdk::UniqueFd fd;
    std::vector<PageFrame> frames; // none: not compressed
    std::string name;
    SealEntry sealed;
    // Hashed as it is read, while it is read from its start onwards.
    FileMac mac;
    std::uint64_t hashed = 0;
    bool in_order = true;
  };
  // A run of a file's bytes.
  struct Piece {
    File *file;
    std::uint64_t offset;
    std::size_t len;
  };
  // Memory filled in one go, from the pieces one after another.
  struct Chunk {
    std::vector<iovec> remote;
    std::size_t len = 0;
    std::vector<Piece> pieces;
  };
  void open_file(std::uint32_t source, pid_t pid, std::uint64_t bytes,
                 std::vector<PageFrame> frames);
  // The bytes (decompressed) of the file of `source` for process `pid`.
  std::uint64_t source_bytes(std::uint32_t source, pid_t pid,
                             std::uint64_t own) const;
  std::vector<Chunk> chunks_of(pid_t pid, std::uint64_t logical,
                               std::span<const sdk::Range> ranges);
  void read_chunk(char *buffer, const Chunk &c);
  void read_exactly(File &f, char *buffer, std::size_t len,
                    std::uint64_t offset);
  // From a compressed file: the frames that hold the chunk, decompressed.
  void read_frames(File &f, char *buffer, const Piece &p);
  // Frame `k` of `f` decompressed, in frame_.
  void load_frame(File &f, std::size_t k);
  [[noreturn]] void refuse_frames_of(const File &f) const;
  // Read again whole: it is what its seal says.
  bool whole_file_as_sealed(const File &f) const;
  // Puts the chunk into the process; 0 or an errno.
  static int fill(pid_t pid, const char *buffer, const Chunk &c);
  // Adds the chunk to the file's digest, if it comes next.
  void hash_chunk(const char *buffer, const Chunk &c);
  void hash_piece(File &f, const char *buffer, const Piece &p);

  std::string statefile_;
  std::vector<std::unique_ptr<Source>> sources_; // 0: the statefile's own
  std::map<std::pair<std::uint32_t, pid_t>, File> files_;
  std::map<pid_t, std::vector<PageExtent>> extents_;
  std::map<pid_t, pid_t> aliases_;
  // One buffer is read from the file while the other fills the process.
  Buffer buffers_[2];
  double seconds_ = 0;
  ProgressMeter *meter_ = nullptr;
  std::uint64_t bytes_ = 0;
  std::uint64_t read_ahead_ = 0; // asked of the page cache at open
  // The last frame decompressed, and the one it came from.
  FrameDecompressor decompressor_;
  Buffer stored_frame_, frame_;
  const File *frame_file_ = nullptr;
  std::size_t frame_index_ = 0;
};

} // namespace cpr::engine
