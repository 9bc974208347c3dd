// The guide's Examples 3-1 to 3-9 (tests/examples), built against the
// installed <ckpt.h> and libcpr by the fixture api/examples-build-against-
// installed-cpr, behave as the guide's text says. cpr, where a test runs it,
// is the installed one too.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "support/scenario.hpp"

#ifndef CPR_EXAMPLES_DIR
#error "CPR_EXAMPLES_DIR (where build.sh put the examples) must be defined"
#endif

using namespace cpr_test;

namespace {

fs::path example(std::string_view name) {
  return fs::path(CPR_EXAMPLES_DIR) / name;
}

TargetSpec example_target(std::string name,
                          std::vector<std::string> args = {}) {
  std::vector<std::string> argv{example(name).string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return {std::move(name), std::move(argv)};
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

std::string joined(const std::vector<std::string> &lines) {
  std::string text;
  for (const auto &line : lines)
    text += line + "\n";
  return text;
}

// ---- Example 3-1 -----------------------------------------------------------

const std::vector<std::string> handler_lines{"ckptSocket", "ckptXserver",
                                             "restartSocket", "restartXserver"};

bool is_handler_line(const std::string &line) {
  return std::ranges::find(handler_lines, line) != handler_lines.end();
}

std::vector<std::string> without_handler_lines(std::vector<std::string> lines) {
  std::erase_if(lines, is_handler_line);
  return lines;
}

std::vector<std::string> only_handler_lines(std::vector<std::string> lines) {
  std::erase_if(lines, [](const auto &line) { return !is_handler_line(line); });
  return lines;
}

// ---- Examples 3-2 and 3-4 --------------------------------------------------

const fs::path cdrom = "/CDROM";

bool is_mount_point(const fs::path &dir) {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mount_point;
    fields >> id >> parent >> device >> root >> mount_point;
    if (mount_point == dir.string())
      return true;
  }
  return false;
}

// /CDROM (made if absent, removed at the end if made here) and a tmpfs on it
// holding `data` as /CDROM/data: "the CD-ROM". Whatever is mounted there at
// the end is unmounted.
class CdromDrive {
public:
  CdromDrive() {
    if (!fs::exists(cdrom))
      created_ = fs::create_directory(cdrom);
    if (is_mount_point(cdrom))
      throw HarnessError("/CDROM is already a mount point");
  }
  ~CdromDrive() {
    for (int i = 0; i < 16 && is_mount_point(cdrom); ++i)
      umount2(cdrom.c_str(), MNT_DETACH);
    if (created_) {
      std::error_code ignored;
      fs::remove(cdrom, ignored);
    }
  }
  CdromDrive(const CdromDrive &) = delete;
  CdromDrive &operator=(const CdromDrive &) = delete;

  void insert(const std::string &data) {
    if (mount("cdrom", cdrom.c_str(), "tmpfs", 0, "size=1m,mode=0755") < 0)
      throw HarnessError(
          fmt::format("mount tmpfs on /CDROM: {}", std::strerror(errno)));
    std::ofstream(cdrom / "data") << data;
  }

private:
  bool created_ = false;
};

std::string cd_data() {
  std::string data;
  for (int i = 1; i <= 60; ++i)
    data += fmt::format("CD-ROM record {:02}: {}\n", i,
                        std::string(static_cast<std::size_t>(i % 23), '#'));
  return data;
}

// ---- Example 3-3 -----------------------------------------------------------

// A TCP server on 127.0.0.1: accepts connections one after the other and
// keeps what each one sent until its end.
class LineServer {
public:
  LineServer() : listener_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener_.get() < 0 ||
        bind(listener_.get(), reinterpret_cast<sockaddr *>(&address),
             sizeof address) < 0 ||
        listen(listener_.get(), 4) < 0 ||
        getsockname(listener_.get(), reinterpret_cast<sockaddr *>(&address),
                    &length) < 0)
      throw HarnessError(fmt::format("TCP server: {}", std::strerror(errno)));
    port_ = ntohs(address.sin_port);
    thread_ = std::jthread([this](std::stop_token stop) { serve(stop); });
  }

  int port() const { return port_; }

  // What each connection sent, in the order of the connections; those
  // still open are not included.
  std::vector<std::string> connections() const {
    std::lock_guard lock(mutex_);
    return connections_;
  }

  void stop() {
    thread_.request_stop();
    if (thread_.joinable())
      thread_.join();
  }

private:
  static bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 20) > 0;
  }

  void serve(const std::stop_token &stop) {
    while (!stop.stop_requested()) {
      if (!readable(listener_.get()))
        continue;
      Fd connection(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (connection.get() < 0)
        continue;
      std::string received;
      bool ended = false;
      while (!ended && !stop.stop_requested()) {
        if (!readable(connection.get()))
          continue;
        char buffer[4096];
        ssize_t got = read(connection.get(), buffer, sizeof buffer);
        if (got > 0)
          received.append(buffer, static_cast<std::size_t>(got));
        else
          ended = true;
      }
      if (ended) {
        std::lock_guard lock(mutex_);
        connections_.push_back(received);
      }
    }
  }

  Fd listener_;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::vector<std::string> connections_;
  std::jthread thread_; // last: stopped before the rest goes
};

} // namespace

TEST_CASE("Example 3-1: checkpoint and restart handlers run first in, first "
          "out",
          "[api][example-3-1]") {
  const TargetSpec spec = example_target("run_3_1");
  const std::string &reference = reference_output(spec);
  INFO("uninterrupted run:\n" << reference);
  REQUIRE(lines_of(reference).size() == 30);
  REQUIRE(only_handler_lines(lines_of(reference)).empty());

  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run(800ms, 2000ms);
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);
  const std::string at_checkpoint = read_file(target.out);
  INFO("output at checkpoint time:\n" << at_checkpoint);
  // cpr sent SIGCKPT and waited for both handlers before the checkpoint.
  CHECK(only_handler_lines(lines_of(at_checkpoint)) ==
        std::vector<std::string>{"ckptSocket", "ckptXserver"});
  const auto processed = without_handler_lines(lines_of(at_checkpoint));
  REQUIRE_FALSE(processed.empty());
  REQUIRE(processed.size() < 30);

  restart(sf, before);
  ExitStatus status = wait_exit(target.pid);
  INFO("restarted target " << status.describe());
  CHECK(status.success());
  CHECK(read_file(target.err) == "");
  const std::string output = read_file(target.out);
  INFO("final output:\n" << output);
  const auto lines = lines_of(output);
  CHECK(output_mismatch(joined(without_handler_lines(lines)), reference) == "");
  // Each handler ran once, in the order registered, checkpoint ones first.
  CHECK(only_handler_lines(lines) == handler_lines);
  // The SIGRESTART handlers are the first thing the restarted process ran:
  // their lines come right after what it had written when checkpointed.
  REQUIRE(output.starts_with(at_checkpoint));
  CHECK(std::string_view(output)
            .substr(at_checkpoint.size())
            .starts_with("restartSocket\nrestartXserver\n"));
  auto restart_line = std::ranges::find(lines, "restartSocket");
  REQUIRE(restart_line != lines.end());
  auto last_before =
      std::find_if(std::make_reverse_iterator(restart_line), lines.rend(),
                   [](const auto &line) { return !is_handler_line(line); });
  REQUIRE(last_before != lines.rend());
  CHECK(*last_before == processed.back());
}

TEST_CASE("Examples 3-2 and 3-4: the CD-ROM is closed and unmounted at "
          "checkpoint, reopened at restart",
          "[api][example-3-2][example-3-4]") {
  const std::string data = cd_data();
  CdromDrive drive;
  drive.insert(data);
  const TargetSpec spec = privileged(example_target("run_3_2_4")); // mount
  {
    TempDir dir;
    RunningTarget uninterrupted = start_target(spec, dir);
    INFO("uninterrupted run");
    expect_finishes_with(uninterrupted, data);
  }

  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run(800ms, 2000ms);
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);
  const std::string at_checkpoint = read_file(target.out);
  INFO("output at checkpoint time:\n" << at_checkpoint);
  CHECK(data.starts_with(at_checkpoint));
  CHECK(at_checkpoint.size() < data.size());
  // catchCKPT (Example 3-2) unmounted the CD-ROM.
  CHECK_FALSE(is_mount_point(cdrom));

  // The CD is inserted again; catchRESTART (Example 3-4) reopens the file
  // and seeks back to where the process was.
  if (!is_mount_point(cdrom))
    drive.insert(data);
  restart(sf, before);
  expect_finishes_with(target, data);
}

TEST_CASE("Example 3-3: a TCP connection closed at checkpoint and opened "
          "again at restart loses no line",
          "[api][example-3-3]") {
  LineServer server;
  std::string expected;
  for (int i = 1; i <= 60; ++i)
    expected += fmt::format("{}\n", i);

  TempDir dir;
  RunningTarget target = start_target(
      example_target("run_3_3", {std::to_string(server.port())}), dir);
  let_it_run(800ms, 2000ms);
  auto sf = dir / "statefile";
  // With the socket still open the checkpoint would fail: cpr does not
  // carry TCP connections. catchCKPT closed it.
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);
  CHECK(wait_until([&] { return server.connections().size() == 1; }, 5s));
  restart(sf, before);

  ExitStatus status = wait_exit(target.pid);
  INFO("restarted target " << status.describe());
  CHECK(status.success());
  CHECK(read_file(target.err) == "");
  CHECK(wait_until([&] { return server.connections().size() >= 2; }, 5s));
  server.stop();
  const auto connections = server.connections();
  std::string received;
  for (const auto &text : connections)
    received += text;
  INFO("received:\n" << received);
  CHECK(connections.size() == 2);
  for (const auto &text : connections)
    CHECK_FALSE(text.empty());
  CHECK(output_mismatch(received, expected) == "");
}

TEST_CASE("Examples 3-5 to 3-8: checkpoint, describe, restart and remove a "
          "process with the C API",
          "[api][example-3-5][example-3-6][example-3-7][example-3-8]") {
  const TargetSpec spec = heap_avx();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto sf = dir / "statefile";
  const std::string pid = std::to_string(target.pid);
  ProcessIdentity before = identity_of(target.pid);

  // Example 3-5: do_checkpoint(); the process is killed (WILL KILL).
  CommandResult created =
      run_command({example("run_3_5").string(), pid, "PID", sf.string()});
  INFO("run_3_5: " << created.describe());
  CHECK(created.status.success());
  CHECK(created.out == fmt::format("Checkpointing id {} (type PID) to "
                                   "directory {}\n",
                                   pid, sf.string()));
  CHECK(created.err == "");
  ExitStatus status = wait_exit(target.pid, 10s);
  INFO("checkpointed target " << status.describe());
  REQUIRE(status.killed_by(SIGKILL));
  REQUIRE(fs::is_directory(sf));

  // Example 3-7: ckpt_info().
  CommandResult info = run_command({example("run_3_7").string(), sf.string()});
  INFO("run_3_7: " << info.describe());
  CHECK(info.status.success());
  CHECK(info.out.starts_with(fmt::format(
      "\nInformation About Statefile {} (CPR revision ", sf.string())));
  CHECK(info.out.find(fmt::format(" PID,PPID:\t\t{},", pid)) !=
        std::string::npos);
  CHECK(info.out.find(fmt::format(" Working at dir:\t{}\n",
                                  before.cwd.string())) != std::string::npos);
  auto stamp = info.out.find(" Checkpointed @\t");
  REQUIRE(stamp != std::string::npos);
  // ctime(): "Www Mmm dd hh:mm:ss yyyy\n", then the format's own "\n".
  CHECK(info.out.find("\n\n", stamp) == stamp + 16 + 24);

  // Example 3-6: do_restart(); the process goes on and finishes its work.
  CommandResult restarted =
      run_command({example("run_3_6").string(), sf.string()});
  INFO("run_3_6: " << restarted.describe());
  CHECK(restarted.status.success());
  CHECK(restarted.out ==
        fmt::format("Restarting processes from directory {}\n", sf.string()));
  CHECK(restarted.err == "");
  REQUIRE(is_child_of_this(target.pid));
  CHECK(describe(identity_of(target.pid)) == describe(before));
  expect_finishes_with(target, reference);

  // Example 3-8: do_remove().
  CommandResult removed =
      run_command({example("run_3_8").string(), sf.string()});
  INFO("run_3_8: " << removed.describe());
  CHECK(removed.status.success());
  CHECK(removed.out == "");
  CHECK_FALSE(fs::exists(sf));
}

TEST_CASE("Example 3-5: checkpointing a process that does not exist fails",
          "[api][example-3-5]") {
  TempDir dir;
  auto sf = dir / "statefile";
  const std::string pid = std::to_string(unused_pid());
  CommandResult result =
      run_command({example("run_3_5").string(), pid, "PID", sf.string()});
  INFO(result.describe());
  CHECK(result.status.failed());
  CHECK(result.out == fmt::format("Checkpointing id {} (type PID) to "
                                  "directory {}\n"
                                  "Failed to checkpoint process {}\n",
                                  pid, sf.string(), pid));
  CHECK(result.err.find("No such process") != std::string::npos);
  CHECK_FALSE(fs::exists(sf));
}

TEST_CASE("Example 3-9: ckpt_setup() is a no-op returning 0",
          "[api][example-3-9]") {
  CommandResult result = run_command({example("run_3_9").string()});
  INFO(result.describe());
  CHECK(result.status.success());
  CHECK(result.out == "");
  CHECK(result.err == "");
}
