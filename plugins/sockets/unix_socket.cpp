// sockets.unix at restart.
#include "unix_socket.hpp"

#include "records.hpp"
#include "unix_build.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>

#include <fcntl.h>
#include <fmt/format.h>

namespace cpr::sockets {
namespace {

// The unix sockets of each statefile of a restart: their records as the
// checks see them, then all of them made on the first open.
struct UnixRestart final : sdk::Session {
  struct OfStatefile {
    std::map<std::uint64_t, UnixSocket> records;
    bool built = false;
    std::map<std::uint64_t, sdk::UniqueFd> made;
  };
  std::map<std::string, OfStatefile> statefiles;
};

} // namespace

void UnixHandler::check(const sdk::Record &record,
                        const sdk::RestoreContext &ctx) const {
  auto rec = sdk::from_payload<UnixSocket>(record.payload);
  if (rec.type != SOCK_STREAM && rec.type != SOCK_DGRAM &&
      rec.type != SOCK_SEQPACKET)
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile: unix socket {} of type {}",
                                 rec.inode, rec.type));
  check_name_free(rec);
  auto &of = ctx.session<UnixRestart>(*this).statefiles[ctx.statefile];
  of.records[rec.inode] = std::move(rec);
}

int UnixHandler::open(const sdk::Record &record,
                      sdk::RestoreContext &ctx) const {
  auto rec = sdk::from_payload<UnixSocket>(record.payload);
  auto &of = ctx.session<UnixRestart>(*this).statefiles[ctx.statefile];
  if (!of.built) {
    of.built = true;
    UnixBuilder(of.records, of.made, ctx.open_file).build();
  }
  auto it = of.made.find(rec.inode);
  if (it == of.made.end())
    throw sdk::Error(sdk::Code::damaged_statefile,
                     fmt::format("damaged statefile: unix socket {} was not "
                                 "checked",
                                 rec.inode));
  int fd = ::fcntl(it->second.get(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    sdk::throw_errno("cannot open unix socket again", errno);
  return fd;
}

} // namespace cpr::sockets
