// A plugin that exports two handlers of one kind.
#include "../fake_fd_handler.hpp"

#include <cpr/sdk/plugin.hpp>

namespace {

using cpr::fake::RecordingFdHandler;
using cpr::sdk::OpenFile;

class KindTwicePlugin final : public cpr::sdk::Plugin {
public:
  std::string name() const override { return "fake_kind_twice"; }
  std::vector<std::unique_ptr<cpr::sdk::FdHandler>>
  fd_handlers() const override {
    std::vector<std::unique_ptr<cpr::sdk::FdHandler>> out;
    for (int priority : {0, 1})
      out.push_back(std::make_unique<RecordingFdHandler>(
          "fake.twice", 1, priority, [](const OpenFile &) { return false; }));
    return out;
  }
};

} // namespace

CPR_PLUGIN(KindTwicePlugin)
