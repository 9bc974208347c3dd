#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::files {

// An epoll instance: the fds it watches, their events and data.
class EpollHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "files.epoll"; }
  unsigned version() const override { return 2; }
  bool claims(const sdk::OpenFile &file) const override;
  sdk::Saved save(const sdk::OpenFile &file,
                  sdk::SaveContext &ctx) const override;
  void connect(const sdk::Record &record, int fd,
               sdk::RestoreContext &ctx) const override;
  int open(const sdk::Record &record, sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::files
