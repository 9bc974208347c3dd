// Opening the files of a statefile, which its owner may have changed: never
// through a symbolic link, never outside it, never a FIFO or a device, and
// never reading more than a sane bound.
#pragma once

#include <cpr/sdk/unique_fd.hpp>

#include <cstdint>
#include <string>

namespace cpr::engine {

// `rel` under the directory `dir_fd`, only if it is a regular file there
// (-1 otherwise, errno ENOENT if it is missing, EINVAL if it is something
// else, ELOOP for a link).
sdk::UniqueFd open_beneath(int dir_fd, const std::string &rel, int flags);

// The statefile directory itself (a symbolic link to it is followed: the
// user names it).
sdk::UniqueFd open_statefile_dir(const std::string &path);

// All of a regular file, refused as "damaged statefile NAME: PART is too
// large" beyond `limit` bytes.
std::string read_bounded(int fd, std::uint64_t limit, const std::string &name,
                         const std::string &part);

} // namespace cpr::engine
