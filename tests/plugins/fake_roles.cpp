// A process handler for two phases and a set handler, that save nothing:
// the registry must give each by its kind, in its role, and run the process
// handlers by phase before kind.
#include <cpr/sdk/plugin.hpp>

#include <string>
#include <utility>

namespace {

using namespace cpr::sdk;

class NoopProcessHandler final : public ProcessHandler {
public:
  NoopProcessHandler(std::string kind, Phase phase)
      : kind_(std::move(kind)), phase_(phase) {}
  std::string kind() const override { return kind_; }
  unsigned version() const override { return 1; }
  Phase phase() const override { return phase_; }
  Saved save(Tracee &, SaveContext &) const override { return {}; }
  void restore(Tracee &, const Record &, RestoreContext &) const override {}

private:
  std::string kind_;
  Phase phase_;
};

class NoopSetHandler final : public SetHandler {
public:
  std::string kind() const override { return "fake.set"; }
  unsigned version() const override { return 1; }
  std::vector<Saved> save(SaveContext &) const override { return {}; }
  void restore(const Record &, RestoreContext &) const override {}
};

class FakeRolesPlugin final : public Plugin {
public:
  std::string name() const override { return "fake_roles"; }
  std::vector<std::unique_ptr<ProcessHandler>>
  process_handlers() const override {
    std::vector<std::unique_ptr<ProcessHandler>> out;
    // First by kind, last by phase.
    out.push_back(std::make_unique<NoopProcessHandler>("fake.files_state",
                                                       Phase::open_files));
    out.push_back(std::make_unique<NoopProcessHandler>("fake.memory_map",
                                                       Phase::address_space));
    return out;
  }
  std::vector<std::unique_ptr<SetHandler>> set_handlers() const override {
    std::vector<std::unique_ptr<SetHandler>> out;
    out.push_back(std::make_unique<NoopSetHandler>());
    return out;
  }
};

} // namespace

CPR_PLUGIN(FakeRolesPlugin)
