#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::pipes {

// An open FIFO (named pipe): reopened by its path, made again if it is
// gone, with the bytes that were in it. Opened in cpr before the set is
// forked, so that the bytes are put back once for all its openers.
class FifoHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "pipes.fifo"; }
  unsigned version() const override { return 1; }
  bool claims(const sdk::OpenFile &file) const override;
  sdk::Saved save(const sdk::OpenFile &file,
                  sdk::SaveContext &ctx) const override;
  void check(const sdk::Record &record,
             const sdk::RestoreContext &ctx) const override;
  int open(const sdk::Record &record, sdk::RestoreContext &ctx) const override;
  bool open_before_fork() const override { return true; }
};

} // namespace cpr::pipes
