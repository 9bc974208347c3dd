#include "pipe.hpp"

#include "pipe_data.hpp"
#include "records.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace cpr::pipes {
namespace {

namespace fs = std::filesystem;

bool is_reader(std::uint32_t flags) { return (flags & O_ACCMODE) == O_RDONLY; }

std::string pipe_name(std::uint64_t ino) {
  return fmt::format("pipe:[{}]", ino);
}

std::uint32_t fd_flags(pid_t pid, const std::string &fd) {
  auto info = sdk::try_read_file(fmt::format("/proc/{}/fdinfo/{}", pid, fd));
  std::istringstream in(info ? *info : "");
  std::string key;
  std::uint32_t flags = 0;
  while (in >> key)
    if (key == "flags:")
      in >> std::oct >> flags;
  return flags;
}

// Calls see(pid, fd name) for every fd of `pid` that is this pipe.
template <class Fn> void each_fd_of_pipe(pid_t pid, std::uint64_t ino, Fn see) {
  std::error_code ec;
  const std::string name = pipe_name(ino);
  for (const auto &e :
       fs::directory_iterator(fmt::format("/proc/{}/fd", pid), ec)) {
    std::error_code link_ec;
    if (fs::read_symlink(e.path(), link_ec).string() == name)
      see(pid, e.path().filename().string());
  }
}

// Who outside the set holds the other end, if anyone does.
std::optional<std::string> outside_holder(std::uint64_t ino, bool want_reader,
                                          const std::vector<pid_t> &set) {
  std::error_code ec;
  std::optional<std::string> found;
  for (const auto &e : fs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit))
      continue;
    pid_t pid = std::stoi(name);
    if (std::find(set.begin(), set.end(), pid) != set.end())
      continue;
    each_fd_of_pipe(pid, ino, [&](pid_t p, const std::string &fd) {
      if (is_reader(fd_flags(p, fd)) == want_reader)
        found = fmt::format("process {} fd {}, outside the set", p, fd);
    });
  }
  return found;
}

OtherEnd other_end_of(const sdk::OpenFile &file, bool other_in_set,
                      const sdk::SaveContext &ctx) {
  if (other_in_set)
    return OtherEnd::in_set;
  bool reader = is_reader(file.flags);
  auto holder = outside_holder(file.st.st_ino, !reader, ctx.processes);
  if (!holder)
    return OtherEnd::closed;
  if (!ctx.options.flag("pipes.outside")) // --outside-pipes
    throw sdk::Error(
        sdk::Code::checkpoint_error,
        fmt::format(
            "Checkpoint error: {} is the {} end of a pipe whose {} end is held "
            "by {}; checkpoint that process too, or carry the pipe with "
            "--outside-pipes",
            describe(file), reader ? "read" : "write",
            reader ? "write" : "read", *holder));
  return reader ? OtherEnd::cpr_stdin : OtherEnd::cpr_stdout;
}

const char *other_end_note(OtherEnd other) {
  switch (other) {
  case OtherEnd::closed:
    return ", other end closed";
  case OtherEnd::cpr_stdin:
    return ", other end: cpr's stdin";
  case OtherEnd::cpr_stdout:
    return ", other end: cpr's stdout";
  case OtherEnd::in_set:
    break;
  }
  return "";
}

} // namespace

bool PipeHandler::claims(const sdk::OpenFile &file) const {
  return S_ISFIFO(file.st.st_mode) && file.path.starts_with("pipe:[");
}

namespace {

// What a checkpoint learns of the set's pipes once.
struct SetPipes final : sdk::Session {
  struct Holders {
    bool reader = false, writer = false;
  };
  std::map<std::uint64_t, Holders> in_set; // which ends the set holds
  bool scanned = false;
  std::set<std::uint64_t> data_saved; // with its first read end

  const Holders &holders(std::uint64_t pipe, const sdk::SaveContext &ctx) {
    if (!scanned) {
      scanned = true;
      for (pid_t pid : ctx.processes)
        note_ends_of(pid);
    }
    return in_set[pipe];
  }

private:
  void note_ends_of(pid_t pid) {
    std::error_code ec;
    for (const auto &e :
         fs::directory_iterator(fmt::format("/proc/{}/fd", pid), ec)) {
      std::error_code link_ec;
      std::string link = fs::read_symlink(e.path(), link_ec).string();
      if (!link.starts_with("pipe:["))
        continue;
      Holders &h = in_set[std::stoull(link.substr(6))];
      bool reader = is_reader(fd_flags(pid, e.path().filename().string()));
      (reader ? h.reader : h.writer) = true;
    }
  }
};

} // namespace

sdk::Saved PipeHandler::save(const sdk::OpenFile &file,
                             sdk::SaveContext &ctx) const {
  PipeEnd rec;
  rec.pipe = file.st.st_ino;
  rec.flags = file.flags;
  Fd mine = sdk::borrow_fd(file);
  rec.capacity = static_cast<std::uint32_t>(::fcntl(mine.get(), F_GETPIPE_SZ));
  bool reader = is_reader(file.flags);
  SetPipes &pipes = ctx.session<SetPipes>(*this);
  const SetPipes::Holders &h = pipes.holders(rec.pipe, ctx);
  OtherEnd other = other_end_of(file, reader ? h.writer : h.reader, ctx);
  rec.other_end = static_cast<std::uint8_t>(other);
  if (reader && pipes.data_saved.insert(rec.pipe).second)
    rec.data = peek_all(mine.get(), describe(file));
  if (other == OtherEnd::cpr_stdin && !rec.data.empty())
    throw sdk::Error(
        sdk::Code::checkpoint_error,
        fmt::format(
            "Checkpoint error: {} holds {} unread bytes written by a process "
            "outside the set, which a restart could not give back",
            describe(file), rec.data.size()));
  return {sdk::to_payload(rec),
          fmt::format("{} end of pipe {} ({} bytes in it, capacity {}{})",
                      reader ? "read" : "write", rec.pipe, rec.data.size(),
                      rec.capacity, other_end_note(other))};
}

} // namespace cpr::pipes

namespace cpr::pipes {
namespace {

// Each pipe made in this restart, by statefile and saved pipe, both ends
// kept until the restart is over for more open files of it: a process may
// have opened an end again through /proc/self/fd (bash's <(...) does).
// They are made in cpr (open_before_fork), whose session lets them go.
struct Made {
  Fd read, write;
  bool read_given = false, write_given = false;
};
using MadeKey = std::pair<std::string, std::uint64_t>;
struct MadePipes final : sdk::Session {
  std::map<MadeKey, Made> made;
};

void set_status_flags(int fd, std::uint32_t flags) {
  if (::fcntl(fd, F_SETFL, static_cast<int>(flags & O_NONBLOCK)) != 0)
    sdk::throw_errno("cannot set the flags of a pipe", errno);
}

Made &pipe_for(const PipeEnd &rec, const std::string &statefile,
               MadePipes &pipes) {
  auto &made = pipes.made;
  auto it = made.find({statefile, rec.pipe});
  if (it != made.end())
    return it->second;
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC | static_cast<int>(rec.flags & O_DIRECT)) != 0)
    sdk::throw_errno("cannot make " + pipe_name(rec.pipe) + " again", errno);
  Made m;
  m.read = Fd(ends[0]);
  m.write = Fd(ends[1]);
  set_capacity(m.read.get(), rec.capacity, pipe_name(rec.pipe));
  return made.emplace(MadeKey{statefile, rec.pipe}, std::move(m)).first->second;
}

// The first open file of an end is the one made; another is opened anew.
Fd open_end(const PipeEnd &rec, const std::string &statefile,
            MadePipes &pipes) {
  Made &m = pipe_for(rec, statefile, pipes);
  bool reader = is_reader(rec.flags);
  Fd &kept = reader ? m.read : m.write;
  bool &given = reader ? m.read_given : m.write_given;
  Fd mine(given ? ::open(fmt::format("/proc/self/fd/{}", kept.get()).c_str(),
                         static_cast<int>(rec.flags & O_ACCMODE) | O_CLOEXEC)
                : ::fcntl(kept.get(), F_DUPFD_CLOEXEC, 0));
  if (mine.get() < 0)
    sdk::throw_errno("cannot open " + pipe_name(rec.pipe) + " again", errno);
  given = true;
  put_data(m.write.get(), rec.data, pipe_name(rec.pipe));
  return mine;
}

} // namespace

int PipeHandler::open(const sdk::Record &record,
                      sdk::RestoreContext &ctx) const {
  auto rec = sdk::from_payload<PipeEnd>(record.payload);
  Fd fd;
  switch (static_cast<OtherEnd>(rec.other_end)) {
  case OtherEnd::cpr_stdin:
    fd = Fd(::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0));
    break;
  case OtherEnd::cpr_stdout:
    fd = Fd(::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0));
    break;
  default:
    fd = open_end(rec, ctx.statefile, ctx.session<MadePipes>(*this));
    set_status_flags(fd.get(), rec.flags);
    return fd.release();
  }
  if (fd.get() < 0)
    sdk::throw_errno(sdk::Code::component_unavailable,
                     "component unavailable: cpr's own stdin/stdout for " +
                         pipe_name(rec.pipe),
                     errno);
  return fd.release();
}

} // namespace cpr::pipes
