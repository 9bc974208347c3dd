// Copying a file's contents where only its data counts (a deleted file, a
// memfd): holes stay holes.
#pragma once

#include <string>
#include <sys/types.h>

namespace cpr::sdk {

// Makes `to` `size` bytes long and copies the data of `from` into it at the
// same offsets (copy_file_range, or pread/pwrite where it cannot).
void copy_sparse(int from, int to, off_t size, const std::string &what);

} // namespace cpr::sdk
