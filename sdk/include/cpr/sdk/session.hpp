// Per-run state of a handler: what it learns or makes during one checkpoint
// or one restart (a scan of the system done once, the objects it made that
// a failed restart takes back). A handler keeps none in itself: it asks its
// context for its session, made on first use, and the engine destroys every
// session when the run ends, before any plugin is unloaded.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cpr::sdk {

class Session {
public:
  virtual ~Session();
  // Restart only. `succeeded`: every process is built and the set is
  // about to run; what had to wait for that is done (a segment marked for
  // removal). Otherwise the restart failed: what the handler made is taken
  // back.
  virtual void restart_over(bool succeeded);
  // Checkpoint only, the set still frozen. `succeeded`: the statefile is
  // made; the processes go on next (WILL CONT, the option "will" is "cont")
  // or are killed. Otherwise the checkpoint failed and they go on as they
  // were: what the handler changed in them is put back (a TCP connection
  // held in repair mode).
  virtual void checkpoint_over(bool succeeded);
};

// The sessions of one run, by handler kind. Owned by the engine.
class Sessions {
public:
  Sessions();
  ~Sessions();
  Sessions(const Sessions &) = delete;
  Sessions &operator=(const Sessions &) = delete;

  // The session of the handler of `kind`, made the first time.
  template <class S> S &of(const std::string &kind) {
    Session *s = find(kind);
    if (!s)
      s = add(kind, std::make_unique<S>());
    return static_cast<S &>(*s);
  }
  // Every session's restart_over, in the order they were made; the
  // sessions are then dropped (a restart may begin again, in a new IPC
  // namespace).
  void restart_over(bool succeeded);
  // Every session's checkpoint_over, in the order they were made.
  void checkpoint_over(bool succeeded);

private:
  Session *find(const std::string &kind) const;
  Session *add(const std::string &kind, std::unique_ptr<Session> s);
  std::vector<std::pair<std::string, std::unique_ptr<Session>>> sessions_;
};

} // namespace cpr::sdk
