#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::files {

// An inotify instance: each watch with its number, its events and the path of
// what it watches.
class InotifyHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "files.inotify"; }
  unsigned version() const override { return 1; }
  bool claims(const sdk::OpenFile &file) const override;
  sdk::Saved save(const sdk::OpenFile &file,
                  sdk::SaveContext &ctx) const override;
  void check(const sdk::Record &record,
             const sdk::RestoreContext &ctx) const override;
  int open(const sdk::Record &record, sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::files
