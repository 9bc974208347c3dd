#pragma once

#include <cpr/sdk/handler.hpp>

#include <string>

namespace cpr::files {

struct DeletedFile;

// A regular file unlinked while open: its contents go into the statefile,
// and at restart it is an unlinked file again, in the same directory.
class DeletedFileHandler final : public sdk::FdHandler {
public:
  std::string kind() const override { return "files.deleted"; }
  unsigned version() const override { return 1; }
  bool claims(const sdk::OpenFile &file) const override;
  sdk::Saved save(const sdk::OpenFile &file,
                  sdk::SaveContext &ctx) const override;
  // Also makes the file again, in cpr itself (sdk/unlinked.hpp): every
  // process of the restart is forked from cpr, inherits it, and reopens it
  // from there, so that all the open files and mappings of one deleted
  // inode are one inode again.
  void check(const sdk::Record &record,
             const sdk::RestoreContext &ctx) const override;
  int open(const sdk::Record &record, sdk::RestoreContext &ctx) const override;

private:
  int remade(const sdk::RestoreContext &ctx, const DeletedFile &rec) const;
};

} // namespace cpr::files
