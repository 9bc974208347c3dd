#pragma once

#include <cpr/sdk/handler.hpp>

#include <cstdint>
#include <map>
#include <set>

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
  void restart_over() const override;

private:
  struct Holders {
    bool reader = false, writer = false;
  };
  // Which ends of each pipe the set holds: found once per checkpoint.
  const Holders &holders_in_set(std::uint64_t pipe,
                                const sdk::SaveContext &ctx) const;
  mutable std::map<std::uint64_t, Holders> in_set_;
  mutable bool scanned_ = false;
  mutable std::set<std::uint64_t> data_saved_; // with its first read end
};

} // namespace cpr::pipes
