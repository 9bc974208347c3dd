// plugins/pipes: anonymous pipes and FIFOs, with the bytes in them.
#include "fifo.hpp"
#include "pipe.hpp"

#include <cpr/sdk/plugin.hpp>

namespace cpr::pipes {

class PipesPlugin final : public sdk::Plugin {
public:
  std::string name() const override { return "pipes"; }
  std::vector<std::unique_ptr<sdk::FdHandler>> fd_handlers() const override {
    std::vector<std::unique_ptr<sdk::FdHandler>> out;
    out.push_back(std::make_unique<PipeHandler>());
    out.push_back(std::make_unique<FifoHandler>());
    return out;
  }
};

} // namespace cpr::pipes

CPR_PLUGIN(cpr::pipes::PipesPlugin)
