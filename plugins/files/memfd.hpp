#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::files {

// A memfd (memfd_create): its name, contents, seals and offset; one inode
// with the mappings of it (memory.mm).
class MemFdHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "files.memfd"; }
  unsigned version() const override { return 1; }
  bool claims(const sdk::OpenFile &file) const override;
  sdk::Saved save(const sdk::OpenFile &file,
                  sdk::SaveContext &ctx) const override;
  void check(const sdk::Record &record,
             const sdk::RestoreContext &ctx) const override;
  int open(const sdk::Record &record, sdk::RestoreContext &ctx) const override;
  // A memfd looks like a deleted regular file.
  int claim_priority() const override { return 20; }
};

} // namespace cpr::files
