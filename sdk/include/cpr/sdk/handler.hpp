// Handlers: one class per kind of kernel object. A handler saves an object
// it claims into its own record and rebuilds the object from that record.
#pragma once

#include <cpr/sdk/options.hpp>
#include <cpr/sdk/pages.hpp>
#include <cpr/sdk/session.hpp>
#include <cpr/sdk/terminals.hpp>
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
// nothing of its kind leaves it empty, and nothing is printed). A process
// handler that has nothing to restore returns {}: no record is kept, and its
// restore() is not called for that process.
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

class Handler;

// What a handler is given at checkpoint, besides the object.
struct SaveContext {
  std::string statefile; // the directory being written
  PageSink &pages;
  Sessions &sessions;
  // Every process being checkpointed (filled once the set is frozen).
  std::vector<pid_t> processes = {};
  // The checkpoint owner: the owner of the processes.
  uid_t owner = 0;
  Options options = {};
  PolicyLookup policy = [](const std::string &, const std::string &) {
    return std::string();
  };
  // A file the statefile owns outside its directory (a copy saved beside
  // its original): removed if the checkpoint fails, and with the statefile
  // (cpr -D, -f).
  std::function<void(const std::string &path)> own_outside =
      [](const std::string &) {};
  // An open file cpr itself holds (one in flight in a socket, which a peek
  // gave it), saved as the set's fds are, once: its object in the statefile,
  // for the handler's record to name. Empty where there is none to save to.
  std::function<std::uint64_t(int fd)> save_file = {};

  // The handler's session for this checkpoint (session.hpp).
  template <class S> S &session(const Handler &h) const;
};

// What a handler is given at restart, besides its record.
struct RestoreContext {
  std::string statefile;
  PageSource &pages;
  Sessions &sessions;
  // Every process of the statefile, by its saved PID.
  std::vector<pid_t> processes = {};
  // The PID a saved process has now, as this (cpr's) PID namespace sees it:
  // the same, unless the set was restored in a new PID namespace. A set
  // handler may keep it in its session for restart_over(true), once every
  // process is made.
  std::function<pid_t(pid_t saved)> live_pid = [](pid_t saved) {
    return saved;
  };
  Options options = {};
  // In cpr (open_before_fork): the open file saved as `object`
  // (SaveContext::save_file), opened once for the whole set: a new fd of
  // cpr's, which the caller closes. Empty elsewhere.
  std::function<int(std::uint64_t object)> open_file = {};
  // SetHandler::restore only: how the sessions meet terminals (terminals.hpp),
  // for the handler to fill in. Null elsewhere.
  SessionTerminals *terminals = nullptr;

  // The handler's session for this restart (session.hpp). In the process
  // being restored (FdHandler::open), a copy of cpr's made when it forked.
  template <class S> S &session(const Handler &h) const;
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
  // An open file that several handlers' claims() accept (a memfd looks like
  // a deleted file, /proc's files are regular files) goes to the highest;
  // handlers of one priority must not claim the same files.
  virtual int claim_priority() const { return 0; }
};

// When a process handler runs, at checkpoint and at restart (in this order;
// handlers of one phase by kind).
enum class Phase {
  address_space,  // the mappings themselves (memory.mm)
  mapped_objects, // what is attached into them (System V segments)
  process_ipc,    // a process's part in IPC objects (semaphore undo)
  open_files,     // state of open files read or set once memory is in place
  // At restart once its threads, signal state and credentials are back,
  // just before its seccomp filters: what must find the process whole (a
  // timer that fires now leaves its signal pending, not dropped).
  after_threads,
};

// State a process has once, as a whole (its address space, ...).
class ProcessHandler : public Handler {
public:
  virtual Phase phase() const = 0;
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
  // What must wait until every process is built, or be taken back if the
  // restart fails, is kept in its session (Session::restart_over).
  virtual void restore(const Record &record, RestoreContext &ctx) const = 0;
};

template <class S> S &SaveContext::session(const Handler &h) const {
  return sessions.of<S>(h.kind());
}

template <class S> S &RestoreContext::session(const Handler &h) const {
  return sessions.of<S>(h.kind());
}

} // namespace cpr::sdk
