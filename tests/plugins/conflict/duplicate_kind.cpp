// A plugin with a kind that fake_fd has too ("fake.devnull"), besides one of
// its own: loaded after fake_fd it must be refused whole.
#include "../fake_fd_handler.hpp"

#include <cpr/sdk/plugin.hpp>

namespace {

using cpr::fake::RecordingFdHandler;
using cpr::sdk::OpenFile;

class DuplicateKindPlugin final : public cpr::sdk::Plugin {
public:
  std::string name() const override { return "fake_duplicate_kind"; }
  std::vector<std::unique_ptr<cpr::sdk::FdHandler>>
  fd_handlers() const override {
    std::vector<std::unique_ptr<cpr::sdk::FdHandler>> out;
    out.push_back(std::make_unique<RecordingFdHandler>(
        "fake.own_kind", 1, 0, [](const OpenFile &) { return false; }));
    out.push_back(std::make_unique<RecordingFdHandler>(
        "fake.devnull", 1, 0, [](const OpenFile &) { return false; }));
    return out;
  }
};

} // namespace

CPR_PLUGIN(DuplicateKindPlugin)
