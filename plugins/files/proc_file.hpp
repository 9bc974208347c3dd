#pragma once

#include <cpr/sdk/handler.hpp>

#include <string>
#include <sys/stat.h>

namespace cpr::files {

// A file or directory of /proc, by its path and stat.
bool in_proc(const std::string &path, const struct stat &st);

// A file of /proc held open (/proc/self/maps, /proc/PID/status of a process
// of the set, /proc/meminfo): reopened for the restored processes, at the
// saved offset. A file's text is made when the offset is set, so that is
// done after the memory is rebuilt (ProcOffsetsHandler).
class ProcFileHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "files.proc"; }
  unsigned version() const override { return 1; }
  bool claims(const sdk::OpenFile &file) const override;
  // Before regular files and directories: /proc's are made anew.
  int claim_priority() const override { return 10; }
  sdk::Saved save(const sdk::OpenFile &file,
                  sdk::SaveContext &ctx) const override;
  void check(const sdk::Record &record,
             const sdk::RestoreContext &ctx) const override;
  int open(const sdk::Record &record, sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::files

namespace cpr::files {

// The offsets of a process's open /proc files, set once its memory is back:
// the kernel makes the text up to the offset (maps, status) as the process
// then is.
class ProcOffsetsHandler final : public sdk::ProcessHandler {
public:
  std::string kind() const override { return "files.proc_offsets"; }
  unsigned version() const override { return 1; }
  sdk::Phase phase() const override { return sdk::Phase::open_files; }
  sdk::Saved save(sdk::Tracee &process, sdk::SaveContext &ctx) const override;
  void restore(sdk::Tracee &process, const sdk::Record &record,
               sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::files
