// A plugin for the remap test, as released first: "fake.timerslack",
// version 1, carries the main thread's timer slack in nanoseconds.
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/plugin.hpp>

#include <cstdint>
#include <sys/prctl.h>
#include <sys/syscall.h>

namespace {

class SlackV1 final : public cpr::sdk::ProcessHandler {
public:
  std::string kind() const override { return "fake.timerslack"; }
  unsigned version() const override { return 1; }
  cpr::sdk::Phase phase() const override { return cpr::sdk::Phase::open_files; }
  cpr::sdk::Saved save(cpr::sdk::Tracee &t,
                       cpr::sdk::SaveContext &) const override {
    auto ns = static_cast<std::uint64_t>(cpr::sdk::remote_call(
        t, "read the timer slack", SYS_prctl, PR_GET_TIMERSLACK));
    return {cpr::sdk::to_payload(ns),
            "timer slack " + std::to_string(ns) + " ns"};
  }
  void restore(cpr::sdk::Tracee &t, const cpr::sdk::Record &record,
               cpr::sdk::RestoreContext &) const override {
    auto ns = cpr::sdk::from_payload<std::uint64_t>(record.payload);
    cpr::sdk::remote_call(t, "set the timer slack", SYS_prctl,
                          PR_SET_TIMERSLACK, ns);
  }
};

class FakePlugin final : public cpr::sdk::Plugin {
public:
  std::string name() const override { return "fake"; }
  std::vector<std::unique_ptr<cpr::sdk::ProcessHandler>>
  process_handlers() const override {
    std::vector<std::unique_ptr<cpr::sdk::ProcessHandler>> out;
    out.push_back(std::make_unique<SlackV1>());
    return out;
  }
};

} // namespace

CPR_PLUGIN(FakePlugin)
