#include "process/fd_owner.hpp"
#include "statefile/manifest.hpp"

#include <cpr/sdk/error.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>

using namespace cpr::engine;

namespace {

ProcessRecord process(pid_t pid, std::vector<pid_t> other_threads) {
  ProcessRecord p;
  p.pid = pid;
  p.threads.push_back(ThreadState{});
  p.threads.back().tid = pid;
  for (pid_t tid : other_threads) {
    p.threads.push_back(ThreadState{});
    p.threads.back().tid = tid;
  }
  return p;
}

void signals_thread(ProcessRecord &holder, pid_t tid) {
  FdRef ref;
  ref.fd = 3;
  ref.owner_type = F_OWNER_TID;
  ref.owner = tid;
  holder.fds.push_back(ref);
}

} // namespace

TEST_CASE("Build order: an fd's owner thread is made before its holder",
          "[fd_owner]") {
  ProcessRecord parent = process(100, {}), child = process(101, {102});
  ProcessRecord other = process(103, {});
  signals_thread(parent, 102);
  CHECK(build_order({&parent, &child, &other}) ==
        std::vector<std::size_t>{1, 0, 2});
  // A thread of the holder itself, or a main thread, changes nothing.
  ProcessRecord alone = process(200, {201});
  signals_thread(alone, 201);
  signals_thread(other, 101);
  CHECK(build_order({&alone, &other, &child}) ==
        std::vector<std::size_t>{0, 1, 2});
}

TEST_CASE("Build order: two processes signalling each other's threads",
          "[fd_owner]") {
  ProcessRecord a = process(100, {101}), b = process(102, {103});
  signals_thread(a, 103);
  signals_thread(b, 101);
  CHECK_THROWS_WITH(build_order({&a, &b}),
                    Catch::Contains("processes 100 and 102 hold fds that "
                                    "signal threads of each other"));
}
