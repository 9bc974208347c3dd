// What System V IPC objects have in common: listing them, their owner, and
// making one again with the id it had.
#pragma once

#include "records.hpp"

#include <cpr/sdk/handler.hpp>

#include <functional>
#include <map>
#include <string>
#include <sys/ipc.h>
#include <sys/types.h>
#include <vector>

namespace cpr::shm {

enum class IpcKind { shm, sem, msg };

// "System V shared memory id 32769 (key 0x00001234)"
std::string describe(IpcKind kind, const IpcPerm &perm);

// The ids of every object of the kind in cpr's IPC namespace.
std::vector<int> list_ids(IpcKind kind);

IpcPerm perm_of(int id, const ipc_perm &p);

bool is_one_of(pid_t pid, const std::vector<pid_t> &processes);
// Whether `pid` is a live process other than those of the set (by their
// saved PIDs): one that uses the object too.
bool used_outside(pid_t pid, const std::vector<pid_t> &set);

// Whether the object now at `saved.id` is the one the set left behind: the
// same key, owner and mode (the caller compares the size).
bool same_owner_and_key(const IpcPerm &saved, const ipc_perm &now);

// "Resource busy: System V shared memory id 32769 is taken by ..."
[[noreturn]] void id_taken(IpcKind kind, const IpcPerm &saved,
                           const std::string &by);

// Makes an object that must get `saved.id`: through <kind>_next_id, then
// `make` (the id the kernel gave, or -1 and errno). The kernel takes the
// next free id when that one is taken: what came instead is removed again
// and Resource busy thrown.
int make_with_id(IpcKind kind, const IpcPerm &saved,
                 const std::function<int()> &make);

// Gives a made object its saved owner and mode (IPC_SET); `set` is the
// kind's ctl call with the perm to write filled in.
void set_owner(IpcKind kind, const IpcPerm &saved,
               const std::function<int(ipc_perm &)> &set);

void remove_object(IpcKind kind, int id) noexcept;

// What one scan of every object of a kind says of each process: made once
// per checkpoint, when the first process of the set asks, not once for each
// process in the freeze window. A handler's session.
template <class T> struct ScannedOnce final : sdk::Session {
  template <class Scan> const T &of(pid_t pid, Scan scan) {
    if (!scanned) {
      by_pid = scan();
      scanned = true;
    }
    return by_pid[pid];
  }
  bool scanned = false;
  std::map<pid_t, T> by_pid;
};

// The objects one handler made in a restart (a session): removed if it
// fails; once it succeeded, those to mark (a segment marked for removal)
// are marked again, every process being attached by then.
template <IpcKind Kind> struct MadeObjects final : sdk::Session {
  std::vector<int> ids, to_mark;
  void restart_over(bool succeeded) override {
    for (int id : succeeded ? to_mark : ids)
      remove_object(Kind, id);
  }
};

} // namespace cpr::shm
