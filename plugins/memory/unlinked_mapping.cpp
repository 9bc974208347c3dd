#include "unlinked_mapping.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>
#include <cpr/sdk/unlinked.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>

namespace cpr::memory {
namespace {

const std::string deleted = " (deleted)";
const std::string memfd_prefix = "/memfd:";

bool is_memfd(const std::string &path) {
  return path.starts_with(memfd_prefix);
}

std::string describe(const Vma &v) {
  return is_memfd(v.file.path)
             ? "memfd " + v.file.path.substr(memfd_prefix.size())
             : "deleted file " + v.file.path;
}

} // namespace

bool maps_unlinked_file(const std::string &path, bool shared) {
  if (!path.ends_with(deleted) || path.starts_with("/SYSV") ||
      path.starts_with("/dev/zero"))
    return false;
  return !(shared && path.starts_with("/dev/shm/"));
}

void save_unlinked_mapping(pid_t pid, Vma &v, const std::string &statefile) {
  std::string where = fmt::format("/proc/{}/map_files/{:x}-{:x}", pid,
                                  v.range.start, v.range.end);
  sdk::UniqueFd file(::open(where.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (file.get() < 0 || ::fstat(file.get(), &st) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: cannot open {}, which "
                                 "process {} maps",
                                 v.name, pid),
                     errno);
  v.file.path = v.name.substr(0, v.name.size() - deleted.size());
  v.file.size = static_cast<std::uint64_t>(st.st_size);
  v.file_mode = st.st_mode & 07777;
  v.file_uid = st.st_uid;
  v.file_gid = st.st_gid;
  v.saved_as =
      sdk::unlinked_copy_name(is_memfd(v.file.path) ? "memfd" : "deleted", st);
  sdk::save_unlinked(file.get(), v.file.size, statefile, v.saved_as,
                     describe(v));
}

int remade_mapped_file(const Vma &v, const sdk::RestoreContext &ctx) {
  const std::string &statefile = ctx.statefile;
  return sdk::remade_file(ctx, statefile + "/" + v.saved_as, [&] {
    std::string what = describe(v);
    sdk::UniqueFd made(
        is_memfd(v.file.path)
            ? ::memfd_create(v.file.path.substr(memfd_prefix.size()).c_str(),
                             MFD_CLOEXEC | MFD_ALLOW_SEALING)
            : sdk::unlinked_file_near(v.file.path, what));
    if (made.get() < 0)
      sdk::throw_errno("cannot make " + what + " again", errno);
    sdk::fill_unlinked(made.get(), statefile, v.saved_as, v.file.size,
                       v.file_mode, v.file_uid, v.file_gid, what);
    return made.release();
  });
}

} // namespace cpr::memory
