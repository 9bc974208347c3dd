#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::sockets {

// A TCP socket: unbound or bound, listening, or an established connection
// (TCP_REPAIR), to a peer in the set or outside it. Made in cpr before it
// forks the set; connections stay in repair mode until every process is
// built.
class TcpHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "sockets.tcp"; }
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
