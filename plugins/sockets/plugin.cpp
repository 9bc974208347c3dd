// plugins/sockets: unix, TCP and UDP sockets, with the data queued in them.
#include "netlink_socket.hpp"
#include "tcp_socket.hpp"
#include "udp_socket.hpp"
#include "unix_socket.hpp"

#include <cpr/sdk/plugin.hpp>

namespace cpr::sockets {

class SocketsPlugin final : public sdk::Plugin {
public:
  std::string name() const override { return "sockets"; }
  std::vector<std::unique_ptr<sdk::FdHandler>> fd_handlers() const override {
    std::vector<std::unique_ptr<sdk::FdHandler>> out;
    out.push_back(std::make_unique<UnixHandler>());
    out.push_back(std::make_unique<TcpHandler>());
    out.push_back(std::make_unique<UdpHandler>());
    out.push_back(std::make_unique<NetlinkHandler>());
    return out;
  }
};

} // namespace cpr::sockets

CPR_PLUGIN(cpr::sockets::SocketsPlugin)
