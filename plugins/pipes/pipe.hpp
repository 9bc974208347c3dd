#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::pipes {

// An end of an anonymous pipe. Both ends are made in cpr before it forks
// the set, so each process inherits the ends it holds.
class PipeHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "pipes.pipe"; }
  unsigned version() const override { return 1; }
  bool claims(const sdk::OpenFile &file) const override;
  sdk::Saved save(const sdk::OpenFile &file,
                  sdk::SaveContext &ctx) const override;
  int open(const sdk::Record &record, sdk::RestoreContext &ctx) const override;
  bool open_before_fork() const override { return true; }
};

} // namespace cpr::pipes
