#include "mm_handler.hpp"

#include "address_space.hpp"
#include "program_files.hpp"
#include "rebuild.hpp"
#include "scan.hpp"

#include <cpr/sdk/payload.hpp>

#include <fmt/format.h>

namespace cpr::memory {

void MmHandler::check(const sdk::Record &record,
                      const sdk::RestoreContext &ctx) const {
  check_restorable(sdk::from_payload<AddressSpace>(record.payload), ctx);
}

sdk::Saved MmHandler::save(sdk::Tracee &process, sdk::SaveContext &ctx) const {
  AddressSpace as = scan_address_space(
      process, ctx.pages, ctx.session<SharedMemorySeen>(*this), ctx.statefile);
  if (ctx.options.flag("memory.upgrade"))
    save_program_files(process.pid(), as, ctx.statefile);
  std::uint64_t bytes = 0;
  for (const Vma &v : as.vmas)
    for (const sdk::Range &r : v.pages)
      bytes += r.size();
  std::string summary = fmt::format("{} mappings, {} KiB of pages, brk "
                                    "{:#x}",
                                    as.vmas.size(), bytes / 1024, as.mm.brk);
  return {sdk::to_payload(as), summary};
}

void MmHandler::restore(sdk::Tracee &process, const sdk::Record &record,
                        sdk::RestoreContext &ctx) const {
  rebuild_address_space(process,
                        sdk::from_payload<AddressSpace>(record.payload), ctx);
}

} // namespace cpr::memory
