// sockets.tcp at restart: what one restart makes, kept in its session.
#pragma once

#include "records.hpp"

#include <cpr/sdk/session.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <map>
#include <string>
#include <vector>

namespace cpr::sockets {

// "tcp ipv4 listener 127.0.0.1:8080", "tcp ipv6 connection [::1]:1 -> ...".
std::string words(const TcpSocket &rec);

struct TcpRestart final : sdk::Session {
  // Every listener of each statefile, as its checks see them: made before
  // any connection, since a port a repaired connection holds can no longer
  // be listened on.
  std::map<std::string, std::map<std::uint64_t, TcpSocket>> listeners;
  std::map<std::string, std::map<std::uint64_t, sdk::UniqueFd>> listening;
  // Connections made, in repair mode until every process is built: then
  // their held packets are let through, their FINs put back, and they go on.
  struct Made {
    sdk::UniqueFd fd;
    TcpSocket rec;
  };
  std::vector<Made> connections;

  // A new fd of the socket `rec` made again.
  int open(const TcpSocket &rec, const std::string &statefile);
  void restart_over(bool succeeded) override;

private:
  sdk::UniqueFd make(const TcpSocket &rec);
};

} // namespace cpr::sockets
