#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::files {

// An open directory (O_PATH ones too), reopened by path where it was read.
class DirectoryHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "files.directory"; }
  unsigned version() const override { return 1; }
  bool claims(const sdk::OpenFile &file) const override;
  sdk::Saved save(const sdk::OpenFile &file,
                  sdk::SaveContext &ctx) const override;
  void check(const sdk::Record &record,
             const sdk::RestoreContext &ctx) const override;
  int open(const sdk::Record &record, sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::files
