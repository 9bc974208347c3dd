// plugins/memory: process address spaces.
#include "mm_handler.hpp"

#include <cpr/sdk/plugin.hpp>

namespace cpr::memory {

class MemoryPlugin final : public sdk::Plugin {
public:
  std::string name() const override { return "memory"; }
  std::vector<std::unique_ptr<sdk::ProcessHandler>>
  process_handlers() const override {
    std::vector<std::unique_ptr<sdk::ProcessHandler>> out;
    out.push_back(std::make_unique<MmHandler>());
    return out;
  }
};

} // namespace cpr::memory

CPR_PLUGIN(cpr::memory::MemoryPlugin)
