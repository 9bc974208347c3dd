// Fd dispatch with the fake plugins alone, over real fds of a child process:
// which handler saves each fd, once per open file description, what becomes
// of an fd nobody claims, and the fds put back from the records.
#include "fake_plugins.hpp"

#include "dispatch/fd_table.hpp"
#include "plugins/fake_fd_handler.hpp"
#include "process/proc.hpp"

#include <cpr/sdk/error.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/kcmp.h>
#include <map>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace cpr;
using cpr::test::ChildWithFds;
using cpr::test::HeldFd;

namespace {

// A checkpoint's fd tables, made with the registry's handlers.
struct Collecting {
  explicit Collecting(const engine::Registry &registry)
      : ctx{"statefile", pages, registry.sessions()},
        collector(registry, ctx, manifest) {}

  engine::ProcessRecord collect(pid_t pid) {
    engine::ProcessRecord process;
    process.pid = pid;
    collector.collect(process);
    return process;
  }
  const engine::ObjectRecord &object_at(const engine::ProcessRecord &p,
                                        int fd) const {
    for (const engine::FdRef &ref : p.fds)
      if (ref.fd == fd)
        return manifest.object(ref.object);
    throw std::out_of_range("no fd " + std::to_string(fd));
  }

  test::NoPages pages;
  sdk::SaveContext ctx;
  engine::Manifest manifest;
  engine::FdTableCollector collector;
};

int open_or_fail(const char *path, int flags = O_RDONLY) {
  int fd = ::open(path, flags | O_CLOEXEC, 0600);
  if (fd < 0)
    sdk::throw_errno(path, errno);
  return fd;
}

std::string new_temporary_dir() {
  char dir[] = "/tmp/cpr-unit-fake-XXXXXX";
  if (!::mkdtemp(dir))
    sdk::throw_errno("mkdtemp", errno);
  return dir;
}

// A file of ours named `name` (in a folder of its own), removed at the end of
// the scope.
struct NamedFile {
  explicit NamedFile(const std::string &name)
      : dir(new_temporary_dir()), path(dir + "/" + name),
        fd(open_or_fail(path.c_str(), O_RDWR | O_CREAT | O_EXCL)) {}
  ~NamedFile() {
    ::close(fd);
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }
  std::string dir, path;
  int fd;
};

std::vector<int> fd_numbers(const engine::ProcessRecord &p) {
  std::vector<int> numbers;
  for (const engine::FdRef &ref : p.fds)
    numbers.push_back(ref.fd);
  return numbers;
}

// Where a restored process keeps its fds while they are put back, and what
// install_fds leaves alone.
constexpr int keep_from = 100;

// Fds 0 to 7 of this process, each as "<fd>:<description>" with a letter
// per open file description, in order of first appearance, and "c" for
// close-on-exec; then what each description is: "0:a 1:a 2:bc a=/dev/null
// b=/dev/zero".
std::string fd_table_of_this_process() {
  std::vector<int> firsts; // the first fd of each description
  std::string table, files;
  for (int fd = 0; fd < 8; ++fd) {
    int fd_flags = ::fcntl(fd, F_GETFD);
    if (fd_flags < 0)
      continue;
    std::size_t letter = 0;
    while (letter < firsts.size() &&
           ::syscall(SYS_kcmp, ::getpid(), ::getpid(), KCMP_FILE,
                     firsts[letter], fd) != 0)
      ++letter;
    const char name = static_cast<char>('a' + letter);
    if (letter == firsts.size()) {
      firsts.push_back(fd);
      files += std::string(" ") + name + "=" +
               engine::proc::readlink("/proc/self/fd/" + std::to_string(fd));
    }
    table += (table.empty() ? "" : " ") + std::to_string(fd) + ":" + name +
             ((fd_flags & FD_CLOEXEC) ? "c" : "");
  }
  return table + files;
}

// The fd table a child of ours has once install_fds put back `p`'s fds,
// or the error it failed with.
std::string
restored_fd_table(const engine::ProcessRecord &p,
                  const engine::Manifest &manifest,
                  const engine::Registry &registry,
                  const std::map<std::uint64_t, int> &opened_above) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0)
    sdk::throw_errno("pipe2", errno);
  pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::fcntl(report[1], F_DUPFD_CLOEXEC, keep_from + 50);
    std::string table;
    try {
      test::NoPages pages;
      sdk::RestoreContext ctx{"statefile", pages, registry.sessions()};
      engine::install_fds(p, manifest, registry, ctx, keep_from, opened_above);
      table = fd_table_of_this_process();
    } catch (const std::exception &e) {
      table = std::string("error: ") + e.what();
    }
    ::_exit(::write(out, table.data(), table.size()) < 0);
  }
  ::close(report[1]);
  std::string table = test::read_to_end(report[0]);
  ::close(report[0]);
  ::waitpid(pid, nullptr, 0);
  return table;
}

} // namespace

TEST_CASE("each fd of a process is saved by the handler that claims it, "
          "handed the process, the fd and the file") {
  engine::Registry r = test::load_fake_plugins({"fd"});
  int null = open_or_fail("/dev/null"), zero = open_or_fail("/dev/zero");
  int ends[2];
  REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
  ChildWithFds child({{0, null}, {1, zero}, {3, ends[0]}, {4, ends[1]}});
  Collecting c(r);

  engine::ProcessRecord p = c.collect(child.pid());
  REQUIRE(fd_numbers(p) == std::vector<int>{0, 1, 3, 4});
  CHECK(c.object_at(p, 0).kind == "fake.devnull");
  CHECK(c.object_at(p, 0).version == 2);
  CHECK(c.object_at(p, 0).summary == "fake.devnull: /dev/null");
  CHECK(c.object_at(p, 1).kind == "fake.chardev");
  CHECK(c.object_at(p, 3).kind == "fake.pipe");
  CHECK(c.object_at(p, 4).kind == "fake.pipe");
  fake::Handed handed = fake::handed_from(c.object_at(p, 1).payload);
  CHECK(handed.pid == child.pid());
  CHECK(handed.fd == 1);
  CHECK(handed.path == "/dev/zero");
  // The two ends of a pipe are two open file descriptions.
  CHECK(c.manifest.objects.size() == 4);
  for (int fd : {null, zero, ends[0], ends[1]})
    ::close(fd);
}

TEST_CASE("an open file description held at several fds, by one process or "
          "two, is saved once") {
  engine::Registry r = test::load_fake_plugins({"fd"});
  int shared = open_or_fail("/dev/null"), other = open_or_fail("/dev/null");
  ChildWithFds first({{0, shared}, {1, shared}, {2, shared}, {5, other}});
  ChildWithFds second({{7, shared}});
  Collecting c(r);

  engine::ProcessRecord p = c.collect(first.pid());
  REQUIRE(fd_numbers(p) == std::vector<int>{0, 1, 2, 5});
  CHECK(c.manifest.objects.size() == 2);
  std::uint64_t shared_id = p.fds.at(0).object;
  CHECK(p.fds.at(1).object == shared_id);
  CHECK(p.fds.at(2).object == shared_id);
  CHECK(p.fds.at(3).object != shared_id);
  // Saved as the first fd that holds it.
  CHECK(fake::handed_from(c.manifest.object(shared_id).payload).fd == 0);

  CHECK(c.collect(second.pid()).fds.at(0).object == shared_id);
  // cpr's own fd on it (a file in flight) is the same object too.
  CHECK(c.collector.save_own(shared) == shared_id);
  CHECK(c.manifest.objects.size() == 2);
  ::close(shared);
  ::close(other);
}

TEST_CASE("an fd's close-on-exec is kept in the fd table, not in the flags "
          "its handler is handed") {
  engine::Registry r = test::load_fake_plugins({"fd"});
  int null = open_or_fail("/dev/null"), other = open_or_fail("/dev/null");
  ChildWithFds child({{0, null}, {1, other, true}});
  Collecting c(r);

  engine::ProcessRecord p = c.collect(child.pid());
  REQUIRE(fd_numbers(p) == std::vector<int>{0, 1});
  CHECK_FALSE(p.fds[0].cloexec);
  CHECK(p.fds[1].cloexec);
  unsigned handed_flags = fake::handed_from(c.object_at(p, 1).payload).flags;
  CHECK((handed_flags & O_CLOEXEC) == 0);
  CHECK((handed_flags & O_ACCMODE) == O_RDONLY);
  ::close(null);
  ::close(other);
}

TEST_CASE("an fd no handler claims fails the checkpoint in one line naming "
          "the process, the fd and the file") {
  engine::Registry r = test::load_fake_plugins({"fd"});
  NamedFile regular("cpr-unit-unclaimed");
  int ends[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0);
  ChildWithFds with_file({{4, regular.fd}});
  ChildWithFds with_socket({{6, ends[0]}});
  Collecting c(r);

  auto refusal = [&](pid_t pid) -> sdk::Error {
    try {
      c.collect(pid);
    } catch (const sdk::Error &e) {
      return e;
    }
    return sdk::Error("collected");
  };
  sdk::Error unclaimed_file = refusal(with_file.pid());
  CHECK(unclaimed_file.code() == sdk::Code::checkpoint_error);
  CHECK(std::string(unclaimed_file.what()) ==
        "Checkpoint error: process " + std::to_string(with_file.pid()) +
            " fd 4 is " + regular.path + ", which no plugin can checkpoint");
  // A socket is named by its kind and addresses, on the same line.
  std::string unclaimed_socket = refusal(with_socket.pid()).what();
  CHECK_THAT(unclaimed_socket,
             Catch::StartsWith("Checkpoint error: process " +
                               std::to_string(with_socket.pid()) +
                               " fd 6 is socket:[") &&
                 Catch::EndsWith("), which no plugin can checkpoint"));
  CHECK(unclaimed_socket.find('\n') == std::string::npos);
  ::close(ends[0]);
  ::close(ends[1]);
}

TEST_CASE("a handler that throws while an fd table is collected fails it "
          "with the engine's Error") {
  engine::Registry r = test::load_fake_plugins({"fd", "throwing"});
  NamedFile busy("save-throws-busy"), failing("claims-throws-std");
  ChildWithFds saving({{0, busy.fd}}), claiming({{0, failing.fd}});
  Collecting c(r);

  CHECK_THROWS_MATCHES(c.collect(saving.pid()), sdk::Error,
                       Catch::Message("Resource busy: the fake's file is in "
                                      "use"));
  CHECK_THROWS_MATCHES(c.collect(claiming.pid()), sdk::Error,
                       Catch::Message("other fatal failure: an internal error "
                                      "in cpr"));
}

TEST_CASE("the fds put back from an fd table share a description as the "
          "saved ones did, each object opened once") {
  engine::Registry r = test::load_fake_plugins({"fd"});
  int shared = open_or_fail("/dev/null"), other = open_or_fail("/dev/null");
  ChildWithFds child({{0, shared}, {1, shared}, {2, shared}, {5, other, true}});
  Collecting c(r);
  engine::ProcessRecord p = c.collect(child.pid());

  CHECK(restored_fd_table(p, c.manifest, r, {}) ==
        "0:a 1:a 2:a 5:bc a=/dev/null b=/dev/null");
  ::close(shared);
  ::close(other);
}

TEST_CASE("an object an ancestor opened already is not opened again when "
          "the fds are put back") {
  engine::Registry r = test::load_fake_plugins({"fd"});
  int shared = open_or_fail("/dev/null"), other = open_or_fail("/dev/null");
  ChildWithFds child({{0, shared}, {1, shared}, {5, other}});
  Collecting c(r);
  engine::ProcessRecord p = c.collect(child.pid());
  // Not what fake.devnull opens: where the fds come from shows.
  int zero = open_or_fail("/dev/zero");
  int ancestors = ::fcntl(zero, F_DUPFD_CLOEXEC, keep_from + 20);
  REQUIRE(ancestors >= 0);

  CHECK(restored_fd_table(p, c.manifest, r, {{p.fds[0].object, ancestors}}) ==
        "0:a 1:a 5:b a=/dev/zero b=/dev/null");
  for (int fd : {ancestors, zero, shared, other})
    ::close(fd);
}
