// A handler that claims /dev/null at the priority fake_fd's "fake.devnull"
// claims it: the SDK forbids that overlap, and the engine does not detect it.
#include "../fake_fd_handler.hpp"

#include <cpr/sdk/plugin.hpp>

namespace {

using cpr::fake::RecordingFdHandler;
using cpr::sdk::OpenFile;

class SamePriorityPlugin final : public cpr::sdk::Plugin {
public:
  std::string name() const override { return "fake_same_priority"; }
  std::vector<std::unique_ptr<cpr::sdk::FdHandler>>
  fd_handlers() const override {
    std::vector<std::unique_ptr<cpr::sdk::FdHandler>> out;
    out.push_back(std::make_unique<RecordingFdHandler>(
        "fake.any_null", 1, 10,
        [](const OpenFile &file) { return file.path == "/dev/null"; }));
    return out;
  }
};

} // namespace

CPR_PLUGIN(SamePriorityPlugin)
