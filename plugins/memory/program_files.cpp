#include "program_files.hpp"

#include "scan.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>
#include <cpr/sdk/unlinked.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

namespace cpr::memory {
namespace {

// "bin/NAME-DEV-INO": the inode the process maps, whatever is at the path.
void save_copy(const std::string &source, FileIdentity &f,
               const std::string &statefile) {
  sdk::UniqueFd from(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (from.get() < 0 || ::fstat(from.get(), &st) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot read " + f.path, errno);
  std::string base = f.path.substr(f.path.rfind('/') + 1);
  f.saved_copy = fmt::format("bin/{}-{:x}-{:x}", base,
                             static_cast<std::uint64_t>(st.st_dev),
                             static_cast<std::uint64_t>(st.st_ino));
  sdk::save_unlinked(from.get(), static_cast<std::uint64_t>(st.st_size),
                     statefile, f.saved_copy, f.path);
  // Executable by its owner, as the kernel wants of a process's exe file.
  std::string copy = statefile + "/" + f.saved_copy;
  if (::chmod(copy.c_str(), 0400 | (st.st_mode & 0700)) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot save " + f.path, errno);
}

} // namespace

void save_program_files(pid_t pid, AddressSpace &as,
                        const std::string &statefile) {
  save_copy(fmt::format("/proc/{}/exe", pid), as.exe, statefile);
  for (Vma &v : as.vmas)
    if (v.kind == VmaKind::file_private && v.saved_as.empty() &&
        !v.file.path.empty())
      save_copy(fmt::format("/proc/{}/map_files/{:x}-{:x}", pid, v.range.start,
                            v.range.end),
                v.file, statefile);
}

bool changed_since(const FileIdentity &f) {
  try {
    FileIdentity now = identify(f.path, f.path);
    return now.size != f.size || now.mtime_ns != f.mtime_ns;
  } catch (const sdk::Error &) {
    return true; // gone
  }
}

std::string file_to_map(const FileIdentity &f, pid_t pid,
                        const sdk::RestoreContext &ctx) {
  if (!changed_since(f))
    return f.path;
  if (!f.saved_copy.empty())
    return ctx.statefile + "/" + f.saved_copy;
  struct stat st {};
  if (ctx.options.flag("memory.changed_ok") && ::stat(f.path.c_str(), &st) == 0)
    return f.path;
  throw sdk::Error(sdk::Code::component_unavailable,
                   fmt::format("component unavailable: {} (mapped by process "
                               "{}) changed since the checkpoint (or is gone); "
                               "a checkpoint made with -u carries it, and "
                               "cpr -r --force-changed maps it as it is now",
                               f.path, pid));
}

} // namespace cpr::memory
