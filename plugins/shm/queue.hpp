// shm.sysv-msg: a System V message queue the set uses (a process of the set
// sent or received its last message), or with IPC ALL one its owner has:
// key, id, owner, mode, size limit, and every message with its type, in
// order, read without taking it (MSG_COPY).
//
// shm.sysv-msg-user: which queues a process sent to or read from last; it
// sends and takes back a message of its own on each at restart, so that
// the next checkpoint finds the set's queues the same way.
#pragma once

#include "sysv.hpp"

#include <cpr/sdk/handler.hpp>

namespace cpr::shm {

class QueueHandler final : public sdk::SetHandler {
public:
  std::string kind() const override { return "shm.sysv-msg"; }
  unsigned version() const override { return 1; }
  std::vector<sdk::Saved> save(sdk::SaveContext &ctx) const override;
  void restore(const sdk::Record &record,
               sdk::RestoreContext &ctx) const override;

private:
  void make(const sdk::Record &record, sdk::RestoreContext &ctx) const;
};

class QueueUserHandler final : public sdk::ProcessHandler {
public:
  std::string kind() const override { return "shm.sysv-msg-user"; }
  unsigned version() const override { return 1; }
  sdk::Phase phase() const override { return sdk::Phase::process_ipc; }
  sdk::Saved save(sdk::Tracee &process, sdk::SaveContext &ctx) const override;
  void restore(sdk::Tracee &process, const sdk::Record &record,
               sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::shm
