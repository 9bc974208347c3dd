#include "process/proc.hpp"
#include "select/ids.hpp"

#include <cpr/engine/engine.hpp>
#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <functional>
#include <sched.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using Catch::Contains;

namespace {
std::vector<pid_t> resolve_ids(const std::string &list) {
  return cpr::engine::resolve_ids(cpr::engine::IdList::parse(list));
}
} // namespace

namespace {

// A process for a test to make: it runs setup, then makes its kids.
struct Spec {
  std::function<void()> setup = [] {};
  std::vector<Spec> kids;
  bool shares_memory = false; // made by clone(CLONE_VM): no setup, no kids
};

struct Report {
  pid_t pid = 0;
  std::vector<pid_t> subtree; // pre-order, pid first; empty if setup failed
};

int ready_fd_to_parent = -1; // in a spawned process

void write_all(int fd, const void *data, size_t size) {
  const char *p = static_cast<const char *>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n <= 0)
      ::_exit(4);
    p += n;
    size -= static_cast<size_t>(n);
  }
}

bool read_all(int fd, void *data, size_t size) {
  char *p = static_cast<char *>(data);
  while (size > 0) {
    ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

void send_subtree(int fd, const std::vector<pid_t> &pids) {
  int count = static_cast<int>(pids.size());
  write_all(fd, &count, sizeof count);
  write_all(fd, pids.data(), pids.size() * sizeof(pid_t));
}

std::vector<pid_t> receive_subtree(int fd) {
  int count = 0;
  if (!read_all(fd, &count, sizeof count) || count <= 0)
    return {};
  std::vector<pid_t> pids(static_cast<size_t>(count));
  if (!read_all(fd, pids.data(), pids.size() * sizeof(pid_t)))
    return {};
  return pids;
}

void block_sigterm() {
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, nullptr);
}

// SIGTERM to a spawned process passes down its tree: each process ends its
// kids, reaps them and exits, so the test reaps every process it made.
[[noreturn]] void linger(const std::vector<pid_t> &kids) {
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  int signal = 0;
  sigwait(&term, &signal);
  for (pid_t kid : kids)
    ::kill(kid, SIGTERM);
  for (pid_t kid : kids)
    ::waitpid(kid, nullptr, 0);
  ::_exit(0);
}

Spec sharing_memory() {
  Spec spec;
  spec.shares_memory = true;
  return spec;
}

Report spawn(const Spec &spec);

[[noreturn]] void run_spawned(const Spec &spec) {
  try {
    spec.setup();
    std::vector<pid_t> subtree{::getpid()}, kids;
    for (const auto &kid : spec.kids) {
      Report report = spawn(kid);
      if (report.subtree.empty())
        ::_exit(3);
      kids.push_back(report.pid);
      subtree.insert(subtree.end(), report.subtree.begin(),
                     report.subtree.end());
    }
    send_subtree(ready_fd_to_parent, subtree);
    linger(kids);
  } catch (...) {
    ::_exit(3);
  }
}

// Shares its parent's memory: touches nothing but its stack and syscalls.
int memory_sharer(void *ready_fd) {
  int fd = static_cast<int>(reinterpret_cast<intptr_t>(ready_fd));
  pid_t self = ::getpid();
  int count = 1;
  write_all(fd, &count, sizeof count);
  write_all(fd, &self, sizeof self);
  static const std::vector<pid_t> no_kids;
  linger(no_kids);
}

pid_t clone_sharing_memory(int ready_fd) {
  constexpr size_t stack_size = 64 * 1024;
  char *stack = new char[stack_size]; // lives as long as the sharer
  return ::clone(memory_sharer, stack + stack_size, CLONE_VM | SIGCHLD,
                 reinterpret_cast<void *>(static_cast<intptr_t>(ready_fd)));
}

Report spawn(const Spec &spec) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = spec.shares_memory ? clone_sharing_memory(fds[1]) : ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    block_sigterm();
    if (ready_fd_to_parent >= 0)
      ::close(ready_fd_to_parent);
    ::close(fds[0]);
    ready_fd_to_parent = fds[1];
    run_spawned(spec);
  }
  ::close(fds[1]);
  Report report{pid, receive_subtree(fds[0])};
  ::close(fds[0]);
  return report;
}

// A tree of processes the test made; gone (and reaped) when this is.
class Spawned {
public:
  explicit Spawned(const Spec &spec = {}) : report_(spawn(spec)) {
    if (report_.subtree.empty()) {
      ::waitpid(report_.pid, nullptr, 0);
      FAIL("a test process could not set itself up");
    }
  }
  ~Spawned() {
    ::kill(report_.pid, SIGTERM);
    ::waitpid(report_.pid, nullptr, 0);
  }
  Spawned(const Spawned &) = delete;
  Spawned &operator=(const Spawned &) = delete;

  pid_t pid() const { return report_.pid; }
  pid_t at(size_t i) const { return report_.subtree.at(i); }
  std::vector<pid_t> all() const {
    auto pids = report_.subtree;
    std::sort(pids.begin(), pids.end());
    return pids;
  }

private:
  Report report_;
};

std::vector<pid_t> sorted(std::vector<pid_t> pids) {
  std::sort(pids.begin(), pids.end());
  return pids;
}

bool contains(const std::vector<pid_t> &pids, pid_t pid) {
  return std::find(pids.begin(), pids.end(), pid) != pids.end();
}

std::string id(pid_t pid, const char *type) {
  return fmt::format("{}:{}", pid, type);
}

// A pid no process, group or session has: a reaped child's.
pid_t unused_pid() {
  pid_t pid = ::fork();
  if (pid == 0)
    ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

void write_file(const std::string &path, const std::string &text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  bool written = fd >= 0 && ::write(fd, text.data(), text.size()) ==
                                static_cast<ssize_t>(text.size());
  int err = errno;
  if (fd >= 0)
    ::close(fd);
  if (!written)
    throw std::runtime_error("cannot write " + path + ": " +
                             std::strerror(err));
}

class TempCgroup {
public:
  explicit TempCgroup(std::string path) : path_(std::move(path)) {
    if (::mkdir(path_.c_str(), 0755) != 0)
      FAIL("cannot create cgroup " << path_ << ": " << std::strerror(errno)
                                   << " (cgroup v2 must be mounted writable)");
  }
  ~TempCgroup() {
    // A reaped process may leave its cgroup a moment later.
    for (int i = 0; i < 1000 && ::rmdir(path_.c_str()) != 0 && errno == EBUSY;
         ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  TempCgroup(const TempCgroup &) = delete;
  TempCgroup &operator=(const TempCgroup &) = delete;

  const std::string &path() const { return path_; }
  void add(pid_t pid) const {
    write_file(path_ + "/cgroup.procs", std::to_string(pid));
  }
  std::string hex_id() const {
    struct stat st {};
    REQUIRE(::stat(path_.c_str(), &st) == 0);
    return fmt::format("{:x}", st.st_ino);
  }

private:
  std::string path_;
};

std::string cgroup2_root_or_fail() {
  std::string root = cpr::engine::cgroup2_root();
  if (root.empty())
    FAIL("cgroup v2 is not mounted (see `mount | grep cgroup2`)");
  return root;
}

std::string audit_session_of(pid_t pid) {
  auto text = cpr::sdk::read_file(fmt::format("/proc/{}/sessionid", pid));
  return text.substr(0, text.find('\n'));
}

} // namespace

TEST_CASE("a PID names its process, a thread ID its whole process", "[ids]") {
  Spawned threaded({.setup =
                        [] {
                          std::thread([] {
                            for (;;)
                              ::pause();
                          }).detach();
                        },
                    .kids = {}});
  auto tasks = cpr::engine::proc::threads(threaded.pid());
  REQUIRE(tasks.size() == 2);
  pid_t thread = tasks.front() == threaded.pid() ? tasks.back() : tasks.front();

  CHECK(resolve_ids(std::to_string(thread)) ==
        std::vector<pid_t>{threaded.pid()});
  CHECK(resolve_ids(id(thread, "PID")) == std::vector<pid_t>{threaded.pid()});
  CHECK(resolve_ids(fmt::format("{:#x}", threaded.pid())) ==
        std::vector<pid_t>{threaded.pid()});
}

TEST_CASE("GID names every process of a process group", "[ids]") {
  Spawned group({.setup = [] { ::setpgid(0, 0); }, .kids = {{}, {}}});
  Spawned outsider;
  CHECK(resolve_ids(id(group.pid(), "GID")) == group.all());
  CHECK(resolve_ids(fmt::format("{:#x}:GID", group.pid())) == group.all());
}

TEST_CASE("SID names every process of a session", "[ids]") {
  Spawned session({.setup = [] { ::setsid(); }, .kids = {{}}});
  Spawned outsider;
  CHECK(resolve_ids(id(session.pid(), "SID")) == session.all());
}

TEST_CASE("HID names a process and all its descendants", "[ids]") {
  // pre-order: top, middle, bottom, sibling
  Spawned tree({.kids = {{.kids = {{}}}, {}}});
  CHECK(resolve_ids(id(tree.pid(), "HID")) == tree.all());
  CHECK(resolve_ids(id(tree.at(1), "HID")) == sorted({tree.at(1), tree.at(2)}));
  CHECK(resolve_ids(id(tree.at(3), "HID")) == std::vector<pid_t>{tree.at(3)});

  auto mine = resolve_ids(id(::getpid(), "HID"));
  CHECK(contains(mine, tree.at(2)));
  CHECK_FALSE(contains(mine, ::getpid()));
}

TEST_CASE("SGP names the processes sharing one address space", "[ids]") {
  // pre-order: parent, its clone(CLONE_VM) child, its fork child
  Spawned family({.kids = {sharing_memory(), {}}});
  auto share_group = sorted({family.at(0), family.at(1)});
  CHECK(resolve_ids(id(family.at(0), "SGP")) == share_group);
  CHECK(resolve_ids(id(family.at(1), "SGP")) == share_group);
  CHECK(resolve_ids(id(family.at(2), "SGP")) ==
        std::vector<pid_t>{family.at(2)});
}

TEST_CASE("JID names the processes of a cgroup and its descendants", "[ids]") {
  const std::string root = cgroup2_root_or_fail();
  TempCgroup job(fmt::format("{}/cpr-test-{}", root, ::getpid()));
  TempCgroup nested(job.path() + "/nested,1"); // ',' as in a list
  TempCgroup empty(job.path() + "/empty");
  Spawned top, inner, outsider;
  job.add(top.pid());
  nested.add(inner.pid());
  auto both = sorted({top.pid(), inner.pid()});

  CHECK(resolve_ids(job.path() + ":JID") == both);
  CHECK(resolve_ids(job.hex_id() + ":JID") == both);
  CHECK(resolve_ids("0x" + job.hex_id() + ":JID") == both);
  CHECK(resolve_ids(nested.path() + ":JID") == std::vector<pid_t>{inner.pid()});
  CHECK(resolve_ids(nested.path() + ":JID," + std::to_string(outsider.pid())) ==
        sorted({inner.pid(), outsider.pid()}));
  CHECK_THROWS_WITH(resolve_ids(empty.path() + ":JID"),
                    Contains("No such process") && Contains(empty.path()));
  CHECK_THROWS_WITH(resolve_ids(job.path() + "/none:JID"),
                    Contains("No such process"));
  CHECK_THROWS_WITH(resolve_ids("/proc:JID"), Contains("Invalid argument"));
}

TEST_CASE("ASH names the processes of an audit session", "[ids]") {
  if (std::string mine = audit_session_of(::getpid()); mine != "4294967295") {
    Spawned child;
    CHECK(contains(resolve_ids(mine + ":ASH"), child.pid()));
  }
  // Setting the login uid starts a new audit session, which children inherit.
  Spawned session(
      {.setup = [] { write_file("/proc/self/loginuid", "0"); }, .kids = {{}}});
  std::string ash = audit_session_of(session.pid());
  CHECK(resolve_ids(ash + ":ASH") == session.all());
  CHECK(resolve_ids(fmt::format("{:#x}:ASH", std::stoul(ash))) ==
        session.all());
  CHECK_THROWS_WITH(resolve_ids("4294967295:ASH"),
                    Contains("Invalid argument"));
}

TEST_CASE("a list joins its items into one sorted set", "[ids]") {
  Spawned single, tree({.kids = {{}}});
  auto expected = sorted({single.pid(), tree.at(0), tree.at(1)});
  CHECK(resolve_ids(fmt::format("{},{}:HID", single.pid(), tree.pid())) ==
        expected);
  CHECK(resolve_ids(fmt::format("{}:HID,{},{}:PID,{}", tree.pid(), tree.at(1),
                                single.pid(), single.pid())) == expected);
}

TEST_CASE("zombies belong to the set", "[ids]") {
  pid_t zombie = ::fork();
  if (zombie == 0)
    ::_exit(0);
  siginfo_t info{};
  ::waitid(P_PID, static_cast<id_t>(zombie), &info, WEXITED | WNOWAIT);
  CHECK(resolve_ids(std::to_string(zombie)) == std::vector<pid_t>{zombie});
  CHECK(contains(resolve_ids(id(::getpid(), "HID")), zombie));
  ::waitpid(zombie, nullptr, 0);
}

TEST_CASE("ID list mistakes are errors in the guide's words", "[ids]") {
  CHECK_THROWS_WITH(resolve_ids("1:XYZ"),
                    Contains("Invalid argument") && Contains("1:XYZ"));
  CHECK_THROWS_WITH(resolve_ids("abc"),
                    Contains("Invalid argument") && Contains("abc"));
  CHECK_THROWS_WITH(resolve_ids("12abc:GID"), Contains("Invalid argument"));
  CHECK_THROWS_WITH(resolve_ids("0"), Contains("Invalid argument"));
  CHECK_THROWS_WITH(resolve_ids("-5"), Contains("Invalid argument"));
  CHECK_THROWS_WITH(resolve_ids("1,,1"), Contains("Invalid argument"));
  CHECK_THROWS_WITH(resolve_ids(":GID"), Contains("Invalid argument"));
  CHECK_THROWS_WITH(resolve_ids("zz:JID"), Contains("Invalid argument"));

  pid_t unused = unused_pid();
  for (const char *type : {"PID", "GID", "SID", "HID", "SGP"})
    CHECK_THROWS_WITH(resolve_ids(id(unused, type)),
                      Contains("No such process: " + id(unused, type)));
  CHECK_THROWS_WITH(resolve_ids(""), Contains("No such process"));
  // cpr never checkpoints itself.
  CHECK_THROWS_WITH(resolve_ids(std::to_string(::getpid())),
                    Contains("No such process"));
  // Invalid items are found before missing processes.
  CHECK_THROWS_WITH(resolve_ids(std::to_string(unused) + ",1:XYZ"),
                    Contains("Invalid argument"));
}

TEST_CASE("kernel threads are never in the set", "[ids]") {
  auto stat = cpr::engine::proc::stat(2);
  if (!stat || stat->comm != "kthreadd")
    return; // a PID namespace without kernel threads
  CHECK_THROWS_WITH(resolve_ids("2"), Contains("No such process"));
  CHECK_THROWS_WITH(resolve_ids("2:HID"), Contains("No such process"));
}
