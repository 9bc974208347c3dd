// The bytes a pty holds, taken out at checkpoint and put back at once (the
// processes may go on), and put into the new pty at restart.
#pragma once

#include "device_records.hpp"

namespace cpr::files {

// `master`: the process's own open master (its flags are left alone).
void save_pty_state(int master, PtyMaster &rec);
void restore_pty_state(int master, const PtyMaster &rec);

} // namespace cpr::files
