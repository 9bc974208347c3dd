// shm.sysv-attach: where a process has System V segments attached, and how
// (read-only, executable, protections changed since, pieces unmapped). At
// restart, once its memory is rebuilt around the holes they leave, each is
// attached again at its address; the segment, made before any process,
// keeps its id, so the saved id is the live one.
#pragma once

#include <cpr/sdk/handler.hpp>

namespace cpr::shm {

class AttachHandler final : public sdk::ProcessHandler {
public:
  std::string kind() const override { return "shm.sysv-attach"; }
  unsigned version() const override { return 1; }
  sdk::Phase phase() const override { return sdk::Phase::mapped_objects; }
  bool per_address_space() const override { return true; }
  sdk::Saved save(sdk::Tracee &process, sdk::SaveContext &ctx) const override;
  void restore(sdk::Tracee &process, const sdk::Record &record,
               sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::shm
