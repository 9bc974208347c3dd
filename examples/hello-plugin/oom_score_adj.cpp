// hello.oom_score_adj: how willing a process is to be killed when memory
// runs out (/proc/PID/oom_score_adj, -1000 to 1000), which cpr's own
// plugins do not carry. A complete third-party plugin: one process
// handler, its record, its plugin class.
#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/plugin.hpp>

#include <cerrno>
#include <fstream>
#include <string>

namespace {

std::string adj_file(pid_t pid) {
  return "/proc/" + std::to_string(pid) + "/oom_score_adj";
}

class OomScoreAdj final : public cpr::sdk::ProcessHandler {
public:
  std::string kind() const override { return "hello.oom_score_adj"; }
  unsigned version() const override { return 1; }
  cpr::sdk::Phase phase() const override {
    return cpr::sdk::Phase::open_files; // needs no particular order
  }

  cpr::sdk::Saved save(cpr::sdk::Tracee &process,
                       cpr::sdk::SaveContext &) const override {
    int adj = 0;
    if (!(std::ifstream(adj_file(process.pid())) >> adj))
      cpr::sdk::throw_errno(
          "Checkpoint error: cannot read " + adj_file(process.pid()), errno);
    return {cpr::sdk::to_payload(adj),
            adj ? "oom_score_adj " + std::to_string(adj) : ""};
  }

  // The record is a user's input: a value out of range is refused, and so
  // is one below what the new process has (cpr's): lowering it is a
  // privilege (CAP_SYS_RESOURCE) a statefile must not hand out.
  void restore(cpr::sdk::Tracee &process, const cpr::sdk::Record &record,
               cpr::sdk::RestoreContext &) const override {
    int adj = cpr::sdk::from_payload<int>(record.payload);
    std::string file = adj_file(process.pid());
    int now = 0;
    if (!(std::ifstream(file) >> now))
      cpr::sdk::throw_errno("cannot read " + file, errno);
    if (adj < now || adj > 1000)
      throw cpr::sdk::Error(
          cpr::sdk::Code::component_unavailable,
          "component unavailable: oom_score_adj " + std::to_string(adj) +
              " for process " + std::to_string(process.pid()) +
              " (cpr restores " + std::to_string(now) + " to 1000)");
    std::ofstream out(file);
    if (!(out << adj << std::flush))
      cpr::sdk::throw_errno("cannot set " + file, errno);
  }
};

class HelloPlugin final : public cpr::sdk::Plugin {
public:
  std::string name() const override { return "hello"; }
  std::vector<std::unique_ptr<cpr::sdk::ProcessHandler>>
  process_handlers() const override {
    std::vector<std::unique_ptr<cpr::sdk::ProcessHandler>> out;
    out.push_back(std::make_unique<OomScoreAdj>());
    return out;
  }
};

} // namespace

CPR_PLUGIN(HelloPlugin)
