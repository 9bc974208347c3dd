#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::sockets {

// A UDP or UDP-Lite socket, IPv4 or IPv6: bound and connected as it was,
// the datagrams queued on it given back with their sources.
class UdpHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "sockets.udp"; }
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
