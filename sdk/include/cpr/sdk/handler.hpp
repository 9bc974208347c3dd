// Handlers: one class per kind of kernel object. A handler saves an object
// it claims into its own record and rebuilds the object from that record.
#pragma once

#include <cpr/sdk/pages.hpp>
#include <cpr/sdk/tracee.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <sys/stat.h>
#include <sys/types.h>
#include <vector>

namespace cpr::sdk {

// What a handler produces at checkpoint: its archive, and one line that
// `cpr -i` prints without loading the plugin (a process handler that found
// nothing of its kind leaves it empty, and nothing is printed).
struct Saved {
  std::string payload;
  std::string summary;
};

// A record as a handler gets it back at restart.
struct Record {
  std::string kind;
  unsigned version = 0;
  std::string payload;
};

// The guide's FILE dispositions: what becomes of an open file at restart.
enum class FileDisposition {
  merge,      // reopen, seek to the saved offset (the default)
  ignore,     // reopen as first opened, at offset 0 (truncating a writer)
  append,     // reopen, at the end
  replace,    // saved at checkpoint, put back over the original at restart
  substitute, // saved at checkpoint, the copy opened instead of the original
};

struct SaveContext {
  std::string statefile; // the directory being written
  PageSink &pages;
  // The disposition the attribute file gives the file at `path`.
  std::function<FileDisposition(const std::string &path)> disposition =
      [](const std::string &) { return FileDisposition::merge; };
  // CKPT_OPENFILE_DISTRIBUTE: saved copies of files go beside their
  // originals, as NAME.ckpt.pidPID, instead of into the statefile.
  bool distribute = false;
  // A file the statefile owns outside its directory (such a copy): removed
  // if the checkpoint fails, and with the statefile (cpr -D, -f).
  std::function<void(const std::string &path)> own_outside =
      [](const std::string &) {};
  // Every process being checkpointed (filled once the set is frozen).
  std::vector<pid_t> processes;
  // --outside-pipes: a pipe whose other end is outside the set is carried;
  // at restart that end is the restarting process's stdin or stdout.
  bool outside_pipes = false;
  // The checkpoint owner, and whether objects of the system that the owner
  // owns and no process uses are saved too (IPC ALL, --all-ipc).
  uid_t owner = 0;
  bool all_of_owner = false;
};

struct RestoreContext {
  std::string statefile;
  PageSource &pages;
  // Every process of the statefile, by its saved PID.
  std::vector<pid_t> processes;
  // The PID a saved process has now, as this (cpr's) PID namespace sees it:
  // the same, unless the set was restored in a new PID namespace.
  std::function<pid_t(pid_t saved)> live_pid = [](pid_t saved) {
    return saved;
  };
  // cpr -j: the terminal cpr runs on (an fd of this process, -1 without
  // -j) takes the place of the set's controlling terminal, the device
  // `replaced_terminal` was at checkpoint.
  int job_terminal = -1;
  std::uint64_t replaced_terminal = 0;
};

class Handler {
public:
  virtual ~Handler() = default;
  // A stable name such as "files.regular"; never reused for another meaning.
  virtual std::string kind() const = 0;
  // Bumped whenever the saved form changes; restore() reads every version.
  virtual unsigned version() const = 0;
  // Before any process of a restart is created: throws Error if the record
  // cannot be restored here (a file gone, a kernel that differs ...).
  virtual void check(const Record &, const RestoreContext &) const {}
};

// An open file description, as the engine sees it in a frozen process.
struct OpenFile {
  pid_t pid = 0;
  int fd = -1;
  std::string path;   // what /proc/PID/fd/N points to
  unsigned flags = 0; // access mode and status flags (no O_CLOEXEC)
  std::int64_t pos = 0;
  struct stat st {}; // of the open file itself
};

class FdHandler : public Handler {
public:
  virtual bool claims(const OpenFile &file) const = 0;
  virtual Saved save(const OpenFile &file, SaveContext &ctx) const = 0;
  // Runs inside the process being restored, before its memory is rebuilt:
  // opens the object and returns a new fd of this process referring to it.
  virtual int open(const Record &record, RestoreContext &ctx) const = 0;
  // Objects that must be made together (the two ends of a pipe): opened by
  // the restarting process itself before it forks any process, so that
  // every process of the set inherits them.
  virtual bool open_before_fork() const { return false; }
  // Runs in the same process once all its fds are in place, for an object
  // that refers to other fds by number (an epoll set): `fd` is its own.
  virtual void connect(const Record &, int /*fd*/, RestoreContext &) const {}
  // In the restarting process once a restart is over (every process is
  // built, just before the set runs, or the restart failed): what open()
  // kept there for more open files of an object (the two ends of a pipe)
  // is let go, or the restarting process, which may live on (cpr -j, a
  // program calling ckpt_restart), would hold it open; what must wait
  // until every process is built is done.
  virtual void restart_over() const {}
};

// State a process has once, as a whole (its address space, ...).
class ProcessHandler : public Handler {
public:
  // Lower runs first, at checkpoint and at restart.
  virtual int order() const = 0;
  // State of the address space rather than of the process: saved once for
  // processes that share one address space (a share group), with the first.
  virtual bool per_address_space() const { return false; }
  virtual Saved save(Tracee &process, SaveContext &ctx) const = 0;
  // Runs from the engine, the process stopped under ptrace.
  virtual void restore(Tracee &process, const Record &record,
                       RestoreContext &ctx) const = 0;
};

// State of the set as a whole, not of one of its processes: objects that live
// in the system (System V IPC objects, POSIX shared memory), which processes
// use by name or id and which outlive them.
class SetHandler : public Handler {
public:
  // Once per checkpoint, the whole set frozen: a record per object of its
  // kind that the set uses (SaveContext::processes).
  virtual std::vector<Saved> save(SaveContext &ctx) const = 0;
  // At restart, once its own record is checked and before the rest of the
  // restart is checked (a file the object is must be there for that) or any
  // process is made: the object is made again, or throws Error.
  virtual void restore(const Record &record, RestoreContext &ctx) const = 0;
  // When the restart is over: `succeeded` (every process is built, just
  // before the set runs), what must wait until then is done (marking an
  // object for removal); else what restore() made is taken away again.
  virtual void restart_over(bool /*succeeded*/) const {}
};

} // namespace cpr::sdk
