#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::sockets {

// A unix socket: made again in cpr before it forks the set, all of a
// statefile's at once, so that pairs, listeners and the connections waiting
// on them, and the messages queued between them come back as they were.
class UnixHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "sockets.unix"; }
  unsigned version() const override { return 1; }
  bool claims(const sdk::OpenFile &file) const override;
  sdk::Saved save(const sdk::OpenFile &file,
                  sdk::SaveContext &ctx) const override;
  void check(const sdk::Record &record,
             const sdk::RestoreContext &ctx) const override;
  int open(const sdk::Record &record, sdk::RestoreContext &ctx) const override;
  bool open_before_fork() const override { return true; }
};

} // namespace cpr::sockets
