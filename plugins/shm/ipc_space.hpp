// The IPC namespace the set's System V objects live in, for one checkpoint
// or restart (a session the plugin's handlers share). A set in an IPC
// namespace of its own (as `unshare --ipc` starts it) is read from inside it
// and restarted into a new one; under FORK ANY, an id another object holds
// moves the restart's objects into a new one too. cpr itself enters it, the
// processes it forks after inherit it, and cpr goes back to its own when
// the run ends: after every object made there was let go or taken back.
#pragma once

#include <cpr/sdk/handler.hpp>

#include <functional>
#include <set>
#include <string>
#include <vector>

namespace cpr::shm {

class IpcSpace final : public sdk::Session {
public:
  ~IpcSpace() override;

  // Checkpoint: cpr in the IPC namespace of the set (of its first
  // process), once; whether that is one of the set's own.
  void enter_set_namespace(const sdk::SaveContext &ctx);
  bool set_has_own() const { return set_has_own_; }

  // Restart: `statefile`'s set had a namespace of its own; cpr enters a new
  // one before anything of the set is made. Throws if objects of an earlier
  // statefile were made outside it.
  void restart_in_own(const std::string &statefile);
  // Every System V object of a restart is made through this: an id taken
  // under FORK ANY takes back what was made, enters a new namespace and
  // makes it all again there.
  void make(const sdk::SetHandler &handler, const sdk::Record &record,
            sdk::RestoreContext &ctx, const std::function<void()> &make_it);

private:
  struct Made {
    const sdk::SetHandler *handler;
    sdk::Record record;
    sdk::RestoreContext ctx;
  };
  void enter_new();
  void move_to_new_namespace(sdk::Sessions &sessions);

  int own_ = -1; // cpr's own namespace, while it is in another
  bool looked_ = false, set_has_own_ = false;
  std::set<std::string> own_statefiles_;
  bool moved_by_fork_any_ = false;
  std::vector<Made> made_;
};

// The plugin's one IpcSpace of this run.
IpcSpace &ipc_space(sdk::Sessions &sessions);

} // namespace cpr::shm
