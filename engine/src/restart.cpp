// cpr -r: check everything, create every process with its PID, rebuild each
// from outside under ptrace, and let them all run only when all are ready.
#include "helper.hpp"
#include "pages.hpp"
#include "process_state.hpp"
#include "ptrace.hpp"
#include "registry.hpp"
#include "remote.hpp"
#include "statefile.hpp"
#include "timing.hpp"

#include <cpr/engine/engine.hpp>
#include <cpr/sdk/error.hpp>

#include <csignal>
#include <cstdio>
#include <fmt/format.h>
#include <memory>
#include <set>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cpr::engine {
namespace {

constexpr unsigned rseq_flag_unregister = 1;

struct Loaded {
  std::string path;
  Manifest manifest;
  std::unique_ptr<PageReader> pages;
};

void check_pid_free(pid_t pid, std::set<pid_t> &claimed) {
  bool in_use = ::kill(pid, 0) == 0 || errno == EPERM ||
                ::access(fmt::format("/proc/{}", pid).c_str(), F_OK) == 0;
  if (in_use || !claimed.insert(pid).second)
    throw sdk::Error(fmt::format("unavailable PID: process {} cannot have its "
                                 "PID back, it is in use",
                                 pid));
}

// Everything that can be known to fail is found before a process exists.
void check(Loaded &l, const Registry &registry, std::set<pid_t> &claimed) {
  check_access(l.path, l.manifest.header, Access::restart);
  sdk::RestoreContext ctx{l.path, *l.pages};
  for (const ObjectRecord &o : l.manifest.objects)
    registry.handler(o.kind, o.version)
        .check({o.kind, o.version, o.payload}, ctx);
  for (const ProcessRecord &p : l.manifest.processes) {
    if (p.threads.size() != 1)
      throw sdk::Error(fmt::format("damaged statefile {}: process {} has no "
                                   "thread",
                                   l.path, p.pid));
    check_pid_free(p.pid, claimed);
    l.pages->open(p.pid, p.pages_bytes);
  }
}

std::uint64_t write_string(RemoteProcess &t, const std::string &s) {
  std::uint64_t at = t.scratch(s.size() + 1);
  t.write(at, s.c_str(), s.size() + 1);
  return at;
}

// A page of code holding one `syscall`, and a page of scratch memory, placed
// where neither the helper nor the saved process has anything.
void install_gadget(RemoteProcess &t, const ProcessRecord &p) {
  sdk::Range area = t.map_private_area(p.address_space, 2);
  const unsigned char syscall_insn[] = {0x0f, 0x05};
  t.write(area.start, syscall_insn, sizeof syscall_insn);
  sdk::remote_call(t, "protect the syscall gadget", SYS_mprotect, area.start,
                   4096, PROT_READ | PROT_EXEC);
  t.use_syscall_insn(area.start);
  t.use_scratch({area.start + 4096, area.end});
}

void build(Helper &helper, const ProcessRecord &p, const Loaded &l,
           const Registry &registry, std::uint64_t own_syscall_insn) {
  pid_t pid = helper.pid();
  CpuPin pin(pid, true); // its saved affinity is restored at the end
  // Nothing is delivered while the process is built.
  ptrace::set_sigmask(pid, ~0ULL);
  RemoteProcess t(pid, own_syscall_insn, ptrace::get_regs(pid));
  install_gadget(t, p);
  sdk::Range gadget = t.reserved().front();
  // cpr's rseq area, inherited by fork, is about to be unmapped.
  auto rseq = ptrace::get_rseq(pid);
  if (rseq.ptr)
    sdk::remote_call(t, "unregister cpr's rseq area", SYS_rseq, rseq.ptr,
                     rseq.len, rseq_flag_unregister, rseq.sig);
  sdk::RestoreContext ctx{l.path, *l.pages};
  for (std::uint64_t id : p.objects) {
    const ObjectRecord &rec = l.manifest.object(id);
    registry.process_handler(rec.kind, rec.version)
        .restore(t, {rec.kind, rec.version, rec.payload}, ctx);
  }
  // The root goes last of all paths: every path saved is cpr's view of it.
  if (p.root != "/")
    sdk::remote_call(t, "restore its root directory " + p.root, SYS_chroot,
                     write_string(t, p.root));
  restore_signal_actions(t, p);
  restore_thread_state(t, p.threads.front());
  queue_pending_signals(t, p);
  restore_credentials(t, p);
  t.unmap(gadget); // the last remote call
  restore_scheduling(p);
  restore_registers(pid, p.threads.front());
}

} // namespace

void restart(const std::vector<std::string> &statefiles) {
  Clock total;
  Registry registry = Registry::load();
  std::vector<Loaded> loaded;
  for (const std::string &path : statefiles)
    loaded.push_back({path, read_manifest(path),
                      std::make_unique<PageReader>(path)});
  std::set<pid_t> claimed;
  for (Loaded &l : loaded)
    check(l, registry, claimed);

  std::uint64_t own_insn = find_syscall_insn(::getpid());
  std::vector<std::unique_ptr<Helper>> helpers;
  for (const Loaded &l : loaded)
    for (const ProcessRecord &p : l.manifest.processes) {
      helpers.push_back(
          std::make_unique<Helper>(p, l.manifest, registry, l.path));
      try {
        build(*helpers.back(), p, l, registry, own_insn);
      } catch (const sdk::Error &e) {
        throw sdk::Error(fmt::format("restart of process {} failed: {}", p.pid,
                                     e.what()));
      }
    }
  for (auto &h : helpers)
    h->release();
  if (timing_wanted()) {
    std::uint64_t bytes = 0;
    double seconds = 0;
    for (const Loaded &l : loaded) {
      bytes += l.pages->total_bytes();
      seconds += l.pages->seconds();
    }
    std::fprintf(stderr,
                 "cpr: timing: restart pages_bytes=%llu pages_ms=%.3f "
                 "total_ms=%.3f\n",
                 static_cast<unsigned long long>(bytes), seconds * 1000,
                 total.ms());
  }
}

} // namespace cpr::engine
