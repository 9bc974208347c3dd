#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::sockets {

// A netlink socket (to the kernel: routes, audit, uevents ...): bound again
// to its port with its multicast groups, made as its owner, so the kernel
// grants only the groups that user may join. Messages the kernel queued on
// it cannot be given back: a socket with any fails the checkpoint.
class NetlinkHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "sockets.netlink"; }
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
