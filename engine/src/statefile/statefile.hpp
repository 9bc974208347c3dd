// The statefile directory: written into a hidden sibling and renamed into
// place at the end, so a failed checkpoint leaves nothing behind.
#pragma once

#include "statefile/manifest.hpp"
#include "statefile/seal.hpp"

#include <cpr/sdk/unique_fd.hpp>

#include <string>
#include <sys/types.h>
#include <vector>

namespace cpr::engine {

class StatefileWriter {
public:
  // Fails, before anything is frozen, with the guide's words ("File exists",
  // "Permission denied", "No such file or directory" ...).
  StatefileWriter(std::string path, bool force);
  ~StatefileWriter();
  StatefileWriter(const StatefileWriter &) = delete;
  StatefileWriter &operator=(const StatefileWriter &) = delete;

  const std::string &work_dir() const { return work_; }
  // What its files are tagged with (PageWriter tags the pages).
  const SealKey &seal_key() const { return key_; }
  // A file of the statefile's outside its directory (SaveContext::
  // own_outside): listed in it, removed if the checkpoint fails.
  void own_outside(const std::string &path) { outside_.push_back(path); }
  void write_manifest(const Manifest &manifest);
  void write_index(const std::string &bytes); // its INDEX
  // Seals it (`pages`: the pages files' digests, taken as they were
  // written), makes it durable and puts it at its path, owned by uid:gid.
  void commit(uid_t owner, gid_t group, const SealEntries &pages = {});

private:
  void write_outside_list();

  std::string path_, work_;
  SealKey key_;
  sdk::UniqueFd work_lock_; // held while this cpr lives
  std::vector<std::string> outside_;
  bool force_, committed_ = false;
};

// A statefile checked against its seal, with its MANIFEST read. A file
// changed since the checkpoint is refused with "Permission denied:
// statefile NAME was altered after checkpoint (FILE)", a missing or short
// one as "damaged statefile".
struct OpenedStatefile {
  std::string path;
  sdk::UniqueFd dir;
  Manifest manifest;
  // The pages files, when their check is left to the PageReader, which
  // checks them as it reads them, with this key.
  SealEntries pages;
  SealKey key;
  SealEntries sealed; // every file's
};
enum class Verify { everything, deferring_pages };
OpenedStatefile open_statefile(const std::string &path, Verify how);
// A file of the statefile read whole (at most `limit` bytes) and checked
// as it was read: its owner may rewrite it between two reads.
std::string read_sealed(const OpenedStatefile &sf, const std::string &name,
                        std::uint64_t limit);
Manifest read_manifest(const std::string &path); // everything checked

// cpr --reseal: root seals a statefile with this host's key (one made on
// another host, once inspected). Its MANIFEST must still be readable.
void reseal_statefile(const std::string &path);

std::string pages_file(const std::string &dir, pid_t pid);

// Throws "Permission denied" unless the caller may act on the statefile:
// root, or its owner (and, to restart, only if root did not make it).
enum class Access { query, restart, remove };
void check_access(const std::string &path, const Header &header, Access what);

// Removes a statefile after checking that it is one.
void remove_statefile(const std::string &path);

} // namespace cpr::engine
