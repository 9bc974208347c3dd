// Writes MANIFESTs of every shape the reader knows into a directory, as the
// fuzzer's starting corpus.
#include "statefile/manifest_io.hpp"

#include <fstream>
#include <string>

using namespace cpr::engine;

namespace {

ProcessRecord process(int pid, int threads) {
  ProcessRecord p;
  p.pid = pid;
  p.ppid = 1;
  p.comm = "seed";
  p.exe = "/usr/bin/seed";
  p.cwd = "/tmp";
  p.root = "/";
  p.creds.uids = {1000, 1000, 1000, 1000};
  p.creds.gids = {100, 100, 100, 100};
  p.creds.groups = {100, 27};
  p.limits.resize(16, {8, 16});
  p.actions.resize(64);
  for (int t = 0; t < threads; ++t) {
    ThreadState th;
    th.tid = pid + t;
    th.regs.resize(216, 1);
    th.xstate.resize(64, 2);
    th.pending.push_back(std::vector<std::uint8_t>(128, 3));
    p.threads.push_back(th);
  }
  p.fds.push_back({0, 1, false});
  p.fds.push_back({1, 2, true});
  p.objects = {3};
  p.address_space.push_back({0x400000, 0x401000});
  return p;
}

} // namespace

int main(int argc, char **argv) {
  std::string dir = argc > 1 ? argv[1] : ".";
  Manifest m;
  m.header.cpr_version = "seed";
  m.header.ids = "42:SID";
  m.header.will = "EXIT";
  m.header.made_by_groups = {100};
  m.processes = {process(42, 1), process(43, 3)};
  m.processes[1].zombie = true;
  m.objects = {{1, "files.regular", 1, "payload", "a file"},
               {2, "pipes.pipe", 2, std::string(40, 'p'), "a pipe"},
               {3, "memory.mm", 1, std::string(200, 'm'), ""}};
  m.set_objects = {2};
  // The archives alone: the fuzzer puts the header in front.
  auto body = [](const Manifest &m) { return manifest_bytes(m).substr(24); };
  std::ofstream(dir + "/two-processes") << body(m);
  std::ofstream(dir + "/empty") << body(Manifest{});
  return 0;
}
