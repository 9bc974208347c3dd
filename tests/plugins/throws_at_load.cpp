// A plugin that fails while the engine asks for its handlers: with a
// std::runtime_error, or (FAKE_THROWS_NON_STD) with a type of its own that is
// no std::exception, or (FAKE_KIND_THROWS) whose handler throws that when
// asked its kind.
#include <cpr/sdk/plugin.hpp>

#include <stdexcept>
#include <string>

namespace {

struct Tantrum {
  std::string why;
};

class NamelessHandler final : public cpr::sdk::FdHandler {
public:
  std::string kind() const override { throw Tantrum{"no name"}; }
  unsigned version() const override { return 1; }
  bool claims(const cpr::sdk::OpenFile &) const override { return false; }
  cpr::sdk::Saved save(const cpr::sdk::OpenFile &,
                       cpr::sdk::SaveContext &) const override {
    return {};
  }
  int open(const cpr::sdk::Record &,
           cpr::sdk::RestoreContext &) const override {
    return -1;
  }
};

class ThrowsAtLoadPlugin final : public cpr::sdk::Plugin {
public:
  std::string name() const override { return "fake_throws_at_load"; }
  std::vector<std::unique_ptr<cpr::sdk::FdHandler>>
  fd_handlers() const override {
#if defined(FAKE_KIND_THROWS)
    std::vector<std::unique_ptr<cpr::sdk::FdHandler>> out;
    out.push_back(std::make_unique<NamelessHandler>());
    return out;
#elif defined(FAKE_THROWS_NON_STD)
    throw Tantrum{"the fake will not say"};
#else
    throw std::runtime_error("the fake has no handlers today");
#endif
  }
};

} // namespace

CPR_PLUGIN(ThrowsAtLoadPlugin)
