#include "pty.hpp"

#include "open_flags.hpp"
#include "pty_data.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/procfs.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <vector>

namespace cpr::files {
namespace {

struct MadePty {
  int master = -1; // until its record takes it
  int index = -1;
};

// The ptys of the set made again in cpr, by statefile and saved index: the
// session of files.pty-master, which the slaves' files.terminal uses too.
using MadeKey = std::pair<std::string, int>;
struct MadePtys final : sdk::Session {
  std::map<MadeKey, MadePty> made;
  ~MadePtys() override {
    for (auto &[key, pty] : made)
      if (pty.master >= 0)
        ::close(pty.master);
  }
};
const std::string master_kind = "files.pty-master";

// devpts gives the lowest free index: open until the wanted one comes (or
// a higher one: it is taken).
MadePty make_pty(int wanted) {
  std::vector<sdk::UniqueFd> lower;
  for (;;) {
    sdk::UniqueFd fd(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (fd.get() < 0)
      sdk::throw_errno("resource limitation: cannot open /dev/ptmx", errno);
    int index = -1;
    if (::ioctl(fd.get(), TIOCGPTN, &index) != 0)
      sdk::throw_errno("cannot read the index of a pty", errno);
    if (index >= wanted || lower.size() >= 256) {
      int unlock = 0;
      if (::ioctl(fd.get(), TIOCSPTLCK, &unlock) != 0)
        sdk::throw_errno("cannot unlock a pty", errno);
      return {fd.release(), index};
    }
    lower.push_back(std::move(fd));
  }
}

MadePty &pty_for(const sdk::RestoreContext &ctx, int saved_index) {
  const std::string &statefile = ctx.statefile;
  auto &made = ctx.sessions.of<MadePtys>(master_kind).made;
  auto it = made.find({statefile, saved_index});
  if (it == made.end())
    it = made.emplace(MadeKey{statefile, saved_index}, make_pty(saved_index))
             .first;
  return it->second;
}

} // namespace

bool master_in_set(int index, const sdk::SaveContext &ctx) {
  namespace fs = std::filesystem;
  for (pid_t pid : ctx.processes) {
    std::error_code ec;
    for (const auto &entry :
         fs::directory_iterator(fmt::format("/proc/{}/fd", pid), ec))
      if (sdk::pty_master_index(pid, std::stoi(entry.path().filename())) ==
          index)
        return true;
  }
  return false;
}

int open_pty_slave(const sdk::RestoreContext &ctx, int saved_index,
                   std::uint32_t flags) {
  MadePty &pty = pty_for(ctx, saved_index);
  int how = static_cast<int>(flags & (O_ACCMODE | O_NONBLOCK | O_APPEND)) |
            O_NOCTTY | O_CLOEXEC;
  // Once its master is placed, the slave is opened by its name.
  int fd = pty.master >= 0
               ? ::ioctl(pty.master, TIOCGPTPEER, how)
               : ::open(fmt::format("/dev/pts/{}", pty.index).c_str(), how);
  if (fd < 0)
    sdk::throw_errno(
        fmt::format("cannot open the slave of pty {} again", saved_index),
        errno);
  return fd;
}

bool PtyMasterHandler::claims(const sdk::OpenFile &file) const {
  return S_ISCHR(file.st.st_mode) && file.st.st_rdev == makedev(5, 2);
}

sdk::Saved PtyMasterHandler::save(const sdk::OpenFile &file,
                                  sdk::SaveContext &) const {
  sdk::UniqueFd master = sdk::borrow_fd(file);
  PtyMaster rec;
  rec.flags = file.flags;
  try {
    save_pty_state(master.get(), rec);
  } catch (const sdk::Error &e) {
    throw sdk::Error(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: process {} fd {} (pty "
                                 "master): {}",
                                 file.pid, file.fd, e.what()));
  }
  return {sdk::to_payload(rec),
          fmt::format("pty master of /dev/pts/{} ({}, {} bytes typed, {} "
                      "written)",
                      rec.index, describe_flags(rec.flags), rec.to_slave.size(),
                      rec.to_master.size())};
}

int PtyMasterHandler::open(const sdk::Record &record,
                           sdk::RestoreContext &ctx) const {
  auto rec = sdk::from_payload<PtyMaster>(record.payload);
  MadePty &pty = pty_for(ctx, rec.index);
  if (pty.master < 0)
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile: the master of pty {} is "
                                 "saved twice",
                                 rec.index));
  restore_pty_state(pty.master, rec);
  ::fcntl(pty.master, F_SETFL, static_cast<int>(rec.flags) & ~O_ACCMODE);
  int fd = pty.master;
  pty.master = -1;
  return fd;
}

} // namespace cpr::files
