// Files a statefile carries by their contents because they have no name:
// deleted files and memfds. One inode may be met by several plugins (an
// open file of it, a mapping of it) and processes: its contents are saved
// once, under a name made from the inode, and at restart it is made once,
// in cpr itself, and shared by all of them.
#pragma once

#include <cpr/sdk/handler.hpp>

#include <functional>
#include <string>
#include <sys/stat.h>

namespace cpr::sdk {

// "files/KIND-DEV-INO", relative to the statefile.
std::string unlinked_copy_name(const std::string &kind, const struct stat &st);

// Saves `size` bytes of `from` (holes kept) as `name` under the statefile,
// synced, unless saved already in this checkpoint.
void save_unlinked(int from, std::uint64_t size, const std::string &statefile,
                   const std::string &name, const std::string &what);

// The file made again for `name` in this restart: `make` (which returns an
// fd) is called the first time only; the fd stays cpr's, inherited by every
// process the restart forks, until the restart is over.
int remade_file(const RestoreContext &ctx, const std::string &name,
                const std::function<int()> &make);

// A new unlinked file in `dir` (O_TMPFILE, or a name unlinked at once).
int unlinked_file_in(const std::string &dir, const std::string &what);
// One in the directory of `path`, where a file was deleted, or, that
// directory gone too, in /var/tmp (no path leads to the file either way).
int unlinked_file_near(const std::string &path, const std::string &what);

// Copies the saved `name` into `to` (`size` bytes) and gives it `mode` and,
// run as root, its owner.
void fill_unlinked(int to, const std::string &statefile,
                   const std::string &name, std::uint64_t size,
                   std::uint32_t mode, std::uint32_t uid, std::uint32_t gid,
                   const std::string &what);

} // namespace cpr::sdk
