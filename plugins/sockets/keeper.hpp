// What a checkpoint changes in the set's TCP connections (repair mode, the
// nftables elements holding their packets) must not outlive a cpr killed
// in the middle: a keeper process, forked when the first connection is
// touched, is told of each before it is changed and puts them all back
// (repair off, elements deleted) if cpr dies before it says done.
#pragma once

#include "net_lock.hpp"

#include <cpr/sdk/unique_fd.hpp>

#include <string>
#include <sys/types.h>
#include <vector>

namespace cpr::sockets {

class Keeper {
public:
  Keeper() = default;
  ~Keeper(); // done(): the owner put things back or meant them to stay
  Keeper(const Keeper &) = delete;
  Keeper &operator=(const Keeper &) = delete;

  // Before `fd` goes into repair mode.
  void keep_socket(int fd);
  // Before these are held.
  void keep_held(const std::vector<Connection> &connections);
  // cpr is over with them: the keeper goes, touching nothing.
  void done();

private:
  void start();
  void send(const std::string &what, int fd);

  sdk::UniqueFd channel_;
  pid_t pid_ = 0;
};

} // namespace cpr::sockets
