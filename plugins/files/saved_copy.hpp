// Copies of files saved at checkpoint (the REPLACE and SUBSTITUTE
// dispositions): in the statefile's files/ folder, or beside the original
// as NAME.ckpt.pidPID (CKPT_OPENFILE_DISTRIBUTE).
#pragma once

#include <cpr/sdk/handler.hpp>

#include <ctime>
#include <string>

namespace cpr::files {

// Copies the open file `file` (through /proc/PID/fd/N, so a file renamed
// since it was opened is still the one copied). Returns where the copy is:
// relative to the statefile when it is inside, else absolute. A file copied
// already in this checkpoint is not copied again.
std::string save_copy(const sdk::OpenFile &file, const sdk::SaveContext &ctx);

// The absolute path of a copy save_copy() returned.
std::string copy_path(const std::string &saved, const std::string &statefile);

// Writes the contents of `from` over `to` (truncating it, creating it if it
// is gone, with the mode it had), then gives it `times` (access and
// modification, as futimens takes them) unless null.
void put_back(const std::string &from, const std::string &to,
              std::uint32_t mode, const timespec *times);
// Writes the contents of `from` into `out`, the file `to` names.
void copy_into(const std::string &from, int out, const std::string &to);

} // namespace cpr::files
