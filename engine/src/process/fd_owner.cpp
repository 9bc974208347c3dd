#include "process/fd_owner.hpp"

#include "process/proc.hpp"

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <set>
#include <sys/syscall.h>

namespace cpr::engine {
namespace {

constexpr std::size_t fds_per_batch = 512; // an f_owner_ex each, in scratch

bool in_set(const FdRef &ref, const std::vector<pid_t> &set) {
  auto has = [&](pid_t pid) {
    return std::find(set.begin(), set.end(), pid) != set.end();
  };
  switch (ref.owner_type) {
  case F_OWNER_PGRP:
    return std::any_of(set.begin(), set.end(), [&](pid_t pid) {
      auto st = proc::stat(pid);
      return st && st->field(5) == ref.owner;
    });
  case F_OWNER_TID: {
    auto tgid = proc::status_field(ref.owner, "Tgid");
    return !tgid.empty() && has(std::stoi(tgid));
  }
  default:
    return has(ref.owner);
  }
}

void check_call(long result, const ProcessRecord &p, const FdRef &ref,
                const char *what) {
  if (result < 0)
    sdk::throw_errno(
        fmt::format("cannot {} of process {} fd {}", what, p.pid, ref.fd),
        static_cast<int>(-result));
}

} // namespace

void collect_fd_owners(RemoteProcess &t, ProcessRecord &p,
                       const std::vector<pid_t> &set) {
  for (std::size_t done = 0; done < p.fds.size(); done += fds_per_batch) {
    std::size_t count = std::min(fds_per_batch, p.fds.size() - done);
    std::uint64_t buf = t.scratch(count * sizeof(f_owner_ex));
    std::vector<RemoteProcess::Call> calls;
    for (std::size_t i = 0; i < count; ++i) {
      auto fd = static_cast<std::uint64_t>(p.fds[done + i].fd);
      calls.push_back({SYS_fcntl, {fd, F_GETOWN_EX, buf + i * 8}});
      calls.push_back({SYS_fcntl, {fd, F_GETSIG}});
    }
    std::vector<long> results = t.syscalls(calls);
    std::vector<f_owner_ex> owners(count);
    t.read(buf, owners.data(), count * sizeof(f_owner_ex));
    for (std::size_t i = 0; i < count; ++i) {
      FdRef &ref = p.fds[done + i];
      // An O_PATH file answers neither: it has no owner.
      if (results[2 * i] == -EBADF && results[2 * i + 1] == -EBADF)
        continue;
      check_call(results[2 * i], p, ref, "read the owner");
      check_call(results[2 * i + 1], p, ref, "read the I/O signal");
      ref.owner_type = owners[i].type;
      ref.owner = owners[i].pid;
      ref.io_signal = static_cast<std::int32_t>(results[2 * i + 1]);
      if (ref.owner != 0 && !in_set(ref, set))
        throw sdk::Error(
            sdk::Code::checkpoint_error,
            fmt::format(
                "Checkpoint error: process {} fd {} signals {} {}, outside the "
                "set (F_SETOWN); checkpoint it too",
                p.pid, ref.fd,
                ref.owner_type == F_OWNER_PGRP  ? "process group"
                : ref.owner_type == F_OWNER_TID ? "thread"
                                                : "process",
                ref.owner));
    }
  }
}

void restore_fd_owners(RemoteProcess &t, const ProcessRecord &p) {
  std::uint64_t buf = t.scratch(sizeof(f_owner_ex));
  for (const FdRef &ref : p.fds) {
    auto fd = static_cast<std::uint64_t>(ref.fd);
    if (ref.owner != 0) {
      f_owner_ex owner{static_cast<__pid_type>(ref.owner_type), ref.owner};
      t.write(buf, &owner, sizeof owner);
      check_call(t.syscall(SYS_fcntl, fd, F_SETOWN_EX, buf, 0, 0, 0), p, ref,
                 "restore the owner");
    }
    if (ref.io_signal != 0)
      check_call(t.syscall(SYS_fcntl, fd, F_SETSIG,
                           static_cast<std::uint64_t>(ref.io_signal), 0, 0, 0),
                 p, ref, "restore the I/O signal");
    if (ref.async) {
      // Off, then on: a flag set by open() alone registers nothing.
      long flags = t.syscall(SYS_fcntl, fd, F_GETFL, 0, 0, 0, 0);
      check_call(flags, p, ref, "read the flags");
      auto without =
          static_cast<std::uint64_t>(flags) & ~std::uint64_t{O_ASYNC};
      check_call(t.syscall(SYS_fcntl, fd, F_SETFL, without, 0, 0, 0), p, ref,
                 "set the flags");
      check_call(t.syscall(SYS_fcntl, fd, F_SETFL, without | O_ASYNC, 0, 0, 0),
                 p, ref, "turn on O_ASYNC");
    }
  }
}

std::vector<std::size_t>
build_order(const std::vector<const ProcessRecord *> &processes) {
  std::map<pid_t, std::size_t> by_pid, by_thread;
  for (std::size_t i = 0; i < processes.size(); ++i) {
    by_pid[processes[i]->pid] = i;
    for (const ThreadState &th : processes[i]->threads)
      if (th.tid != processes[i]->pid)
        by_thread[th.tid] = i;
  }
  auto built_before = [&](std::size_t i) {
    std::set<std::size_t> before;
    const ProcessRecord &p = *processes[i];
    if (auto owner = by_pid.find(p.shares_mm_with); owner != by_pid.end())
      before.insert(owner->second);
    for (const FdRef &ref : p.fds)
      if (auto t = by_thread.find(ref.owner); ref.owner_type == F_OWNER_TID &&
                                              t != by_thread.end() &&
                                              t->second != i)
        before.insert(t->second);
    return before;
  };
  enum class Mark { none, visiting, done };
  std::vector<Mark> mark(processes.size(), Mark::none);
  std::vector<std::size_t> order;
  auto visit = [&](auto &self, std::size_t i, std::size_t from) -> void {
    if (mark[i] == Mark::done)
      return;
    if (mark[i] == Mark::visiting)
      throw sdk::Error(fmt::format(
          "processes {} and {} hold fds that signal threads of each other "
          "(F_SETOWN_EX), which cpr cannot restore",
          processes[i]->pid, processes[from]->pid));
    mark[i] = Mark::visiting;
    for (std::size_t b : built_before(i))
      self(self, b, i);
    mark[i] = Mark::done;
    order.push_back(i);
  };
  for (std::size_t i = 0; i < processes.size(); ++i)
    visit(visit, i, i);
  return order;
}

} // namespace cpr::engine
