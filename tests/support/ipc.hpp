// System V IPC objects and POSIX shared memory as a test sees them from
// outside (/proc/sysvipc, /proc/PID/maps), keys no other run uses, and a
// guard that removes what a test made however it ends (issue 8).
#pragma once

#include "support/harness.hpp"

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cpr_test {

enum class Ipc { shm, sem, msg };

// One line of /proc/sysvipc/shm, sem or msg, by column ("key", "shmid",
// "perms", "size", "nattch", "nsems", "cbytes", "qnum", ...).
struct IpcRow {
  std::map<std::string, std::string> columns;
  int id() const; // shmid, semid or msqid
  key_t key() const;
  long long number(const std::string &column) const;
  unsigned perms() const; // with SHM_DEST (01000) for a segment
  std::string describe() const;
};

std::vector<IpcRow> ipc_rows(Ipc kind);
std::optional<IpcRow> ipc_by_key(Ipc kind, key_t key);
std::optional<IpcRow> ipc_by_id(Ipc kind, int id);
// IPC_RMID by id; false if there was no such object.
bool remove_ipc(Ipc kind, int id);

// A key of this run of the test binary, one per `slot` (0 to 31); key + 1 is
// this slot's too. Reference runs and tests take different slots, so that
// none finds another's objects, nor another run's.
key_t key_of_this_run(int slot);

// A line of /proc/PID/maps.
struct Mapping {
  std::string range;  // start-end
  std::string perms;  // rw-s
  std::string device; // major:minor, hex
  unsigned long inode = 0;
  std::string path; // with " (deleted)" if so
  std::string text; // the whole line
};

// The mappings of `pid` whose path starts with `prefix`; none once it is
// gone.
std::vector<Mapping> mappings_of(pid_t pid, std::string_view prefix = "");
std::vector<std::string> lines_of(const std::vector<Mapping> &mappings);
// True if `pid` maps the file now at `path` (same device and inode), under
// whatever name it was mapped by.
bool maps_file(pid_t pid, const fs::path &path);

// Removes, when it goes, every System V object with one of its keys or ids
// and every file it names.
class IpcGuard {
public:
  IpcGuard() = default;
  IpcGuard(const IpcGuard &) = delete;
  IpcGuard &operator=(const IpcGuard &) = delete;
  ~IpcGuard();
  void key(Ipc kind, key_t key) { keys_.emplace_back(kind, key); }
  void id(Ipc kind, int id) { ids_.emplace_back(kind, id); }
  void file(fs::path path) { files_.push_back(std::move(path)); }

private:
  std::vector<std::pair<Ipc, key_t>> keys_;
  std::vector<std::pair<Ipc, int>> ids_;
  std::vector<fs::path> files_;
};

} // namespace cpr_test
