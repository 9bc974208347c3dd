// The unix sockets of one statefile made again, all at once: pairs as
// socketpairs, listeners with the connections waiting on them, names bound,
// then the queued messages put back and shutdowns applied.
#pragma once

#include "records.hpp"

#include <cpr/sdk/unique_fd.hpp>

#include <map>

namespace cpr::sockets {

class UnixBuilder {
public:
  // Makes every socket of `records` into `made` (by saved inode), where a
  // socket in flight is found while the build goes on; `open` opens the
  // other files in flight.
  UnixBuilder(const std::map<std::uint64_t, UnixSocket> &records,
              std::map<std::uint64_t, sdk::UniqueFd> &made, FileOpener open)
      : records_(records), made_(made), open_(std::move(open)) {}
  void build();

private:
  // The queue of `to` is put back through `via` (its peer), or through the
  // end of a pair that then closes (its peer was gone).
  struct Through {
    std::uint64_t to;
    std::int64_t via;
    sdk::UniqueFd closed_peer;
  };

  const UnixSocket &record(std::uint64_t inode) const;
  void make(const UnixSocket &rec);
  void make_single(const UnixSocket &rec);
  void make_pair(const UnixSocket &a, const UnixSocket &b);
  void make_listener(const UnixSocket &rec);
  void make_with_closed_peer(const UnixSocket &rec);
  void put_back_datagrams(const UnixSocket &rec);
  void connect_later(const UnixSocket &rec);
  int fd_of(std::uint64_t inode) const { return made_.at(inode).get(); }

  const std::map<std::uint64_t, UnixSocket> &records_;
  std::map<std::uint64_t, sdk::UniqueFd> &made_;
  FileOpener open_;
  std::vector<Through> through_;
  std::vector<std::string> unlink_after_; // names whose file was gone
};

// A bound name's file at restart: a stale socket file will be replaced; one in
// use, or another file, is "Resource busy".
void check_name_free(const UnixSocket &rec);

} // namespace cpr::sockets
