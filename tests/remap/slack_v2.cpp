// The same plugin, a release later: the kind is renamed "fake.slack" and
// its record changed (version 2: the slack and where it came from). Its
// remap table reads the records version 1 of "fake.timerslack" wrote.
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/plugin.hpp>

#include <boost/serialization/string.hpp>

#include <cstdint>
#include <string>
#include <sys/prctl.h>
#include <sys/syscall.h>

namespace {

struct Slack {
  std::uint64_t ns = 0;
  std::string came_from;
  template <class A> void serialize(A &ar, unsigned) { ar &ns &came_from; }
};

class SlackV2 final : public cpr::sdk::ProcessHandler {
public:
  std::string kind() const override { return "fake.slack"; }
  unsigned version() const override { return 2; }
  cpr::sdk::Phase phase() const override { return cpr::sdk::Phase::open_files; }
  cpr::sdk::Saved save(cpr::sdk::Tracee &t,
                       cpr::sdk::SaveContext &) const override {
    Slack s{static_cast<std::uint64_t>(cpr::sdk::remote_call(
                t, "read the timer slack", SYS_prctl, PR_GET_TIMERSLACK)),
            "fake.slack 2"};
    return {cpr::sdk::to_payload(s),
            "timer slack " + std::to_string(s.ns) + " ns"};
  }
  void restore(cpr::sdk::Tracee &t, const cpr::sdk::Record &record,
               cpr::sdk::RestoreContext &) const override {
    auto s = cpr::sdk::from_payload<Slack>(record.payload);
    if (s.came_from.empty())
      throw cpr::sdk::Error("fake.slack: a record that says nothing of "
                            "where it came from");
    cpr::sdk::remote_call(t, "set the timer slack", SYS_prctl,
                          PR_SET_TIMERSLACK, s.ns);
  }
};

class FakePlugin final : public cpr::sdk::Plugin {
public:
  std::string name() const override { return "fake"; }
  std::vector<std::unique_ptr<cpr::sdk::ProcessHandler>>
  process_handlers() const override {
    std::vector<std::unique_ptr<cpr::sdk::ProcessHandler>> out;
    out.push_back(std::make_unique<SlackV2>());
    return out;
  }
  std::vector<cpr::sdk::Remap> remaps() const override {
    return {
        {"fake.timerslack", 1, "fake.slack", [](const cpr::sdk::Record &old) {
           Slack s{cpr::sdk::from_payload<std::uint64_t>(old.payload),
                   "fake.timerslack 1"};
           return cpr::sdk::Record{"fake.slack", 2, cpr::sdk::to_payload(s)};
         }}};
  }
};

} // namespace

CPR_PLUGIN(FakePlugin)
