// memory.mm: a process's whole address space, its pages, brk and mm fields.
#pragma once

#include "scan.hpp"

#include <cpr/sdk/handler.hpp>

namespace cpr::memory {

class MmHandler final : public sdk::ProcessHandler {
public:
  std::string kind() const override { return "memory.mm"; }
  unsigned version() const override { return 1; }
  sdk::Phase phase() const override { return sdk::Phase::address_space; }
  bool per_address_space() const override { return true; }
  void check(const sdk::Record &record,
             const sdk::RestoreContext &ctx) const override;
  sdk::Saved save(sdk::Tracee &process, sdk::SaveContext &ctx) const override;
  void restore(sdk::Tracee &process, const sdk::Record &record,
               sdk::RestoreContext &ctx) const override;
};

} // namespace cpr::memory
