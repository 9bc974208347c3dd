// A plugin that fails while the engine asks for its handlers: with a
// std::runtime_error, or (FAKE_THROWS_NON_STD) with a type of its own that is
// no std::exception.
#include <cpr/sdk/plugin.hpp>

#include <stdexcept>
#include <string>

namespace {

struct Tantrum {
  std::string why;
};

class ThrowsAtLoadPlugin final : public cpr::sdk::Plugin {
public:
  std::string name() const override { return "fake_throws_at_load"; }
  std::vector<std::unique_ptr<cpr::sdk::FdHandler>>
  fd_handlers() const override {
#ifdef FAKE_THROWS_NON_STD
    throw Tantrum{"the fake will not say"};
#else
    throw std::runtime_error("the fake has no handlers today");
#endif
  }
};

} // namespace

CPR_PLUGIN(ThrowsAtLoadPlugin)
