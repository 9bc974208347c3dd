// Terminals and job control (issue 7): interactive programs checkpointed in
// one terminal and restarted with cpr -j into another, driven through tmux;
// without -j, restored processes have no controlling terminal.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "support/sets.hpp"
#include "support/tmux.hpp"

#include <csignal>
#include <sys/wait.h>

using namespace cpr_test;

namespace {

// The process of `name` the window's shell runs, once there is one.
pid_t wait_for_program(Tmux &tmux, int window, const std::string &name) {
  pid_t found = wait_for_descendant(tmux.shell_pid(window), name);
  REQUIRE(found > 0);
  return found;
}

// The controlling terminal's device, 0 if none (or no such process).
dev_t controlling_terminal(pid_t pid) {
  auto st = process_stat(pid);
  return st ? st->tty : 0;
}

// cpr -c of the program's process group (or tree); it is gone when this
// returns.
void checkpoint_group(pid_t pid, const fs::path &statefile,
                      const char *type = "GID") {
  CommandResult made = run_cpr(
      {"-c", statefile.string(), "-p", fmt::format("{}:{}", pid, type)});
  INFO(made.describe());
  REQUIRE(made.status.success());
  // Members killed after their parent may be reparented here (a subreaper).
  auto reap_zombies = [] {
    while (::waitpid(-1, nullptr, WNOHANG) > 0)
      ;
  };
  REQUIRE(wait_until(
      [&] {
        reap_zombies();
        return !process_exists(pid) && !process_exists(-pid);
      },
      10s));
}

// Prints "STATEFILE-exit=STATUS" once cpr ends (unless its job is stopped:
// a shell drops the rest of the line then).
std::string restart_command(const fs::path &statefile, bool job) {
  return fmt::format("{} {}-r {}; echo {}-exit=$?", cpr_binary().string(),
                     job ? "-j " : "", statefile.string(),
                     statefile.filename().string());
}

// After `fg`, the status of the job, as its shell saw it end.
void expect_job_status(Tmux &tmux, int window, pid_t pid, int status) {
  REQUIRE(wait_until([&] { return !process_exists(pid); }, 30s));
  tmux.type_line(window, "echo job-status=$?");
  bool seen = tmux.wait_for_text(window, fmt::format("job-status={}", status));
  INFO(tmux.screen(window));
  CHECK(seen);
}

// Back, on the window's terminal, in the foreground job of its shell.
void expect_foreground_job(Tmux &tmux, int window, pid_t pid) {
  REQUIRE(wait_until([&] { return process_exists(pid); }, 10s));
  CHECK(controlling_terminal(pid) == tmux.terminal(window));
  auto st = process_stat(pid);
  REQUIRE(st);
  CHECK(st->sid == tmux.shell_pid(window));
  pid_t cpr = wait_for_descendant(tmux.shell_pid(window), "cpr", 0ms);
  CHECK(st->pgid == cpr);
}

// cpr -j -r in a new window: `pid` is back, that window's foreground job.
int restart_in_new_window(Tmux &tmux, const fs::path &statefile, pid_t pid) {
  int window = tmux.new_window();
  tmux.type_line(window, restart_command(statefile, true));
  expect_foreground_job(tmux, window, pid);
  return window;
}

bool stopped(pid_t pid) {
  auto st = process_stat(pid);
  return st && st->state == 'T';
}

} // namespace

TEST_CASE("python3 at its prompt comes back with cpr -j into another "
          "terminal, its variables kept, Ctrl-C, Ctrl-Z and fg working",
          "[e2e][terminals][python]") {
  TempDir dir;
  Tmux tmux(dir.path());
  tmux.type_line(0, "python3 -q");
  REQUIRE(tmux.wait_for_text(0, ">>>"));
  tmux.type_line(0, "x = 6 * 7");
  pid_t python = wait_for_program(tmux, 0, "python3");
  sleep_for(300ms);
  checkpoint_group(python, dir / "statefile");

  int second = restart_in_new_window(tmux, dir / "statefile", python);
  tmux.type_line(second, "print(x + 1)");
  CHECK(tmux.wait_for_text(second, "43"));
  tmux.press(second, "C-c");
  CHECK(tmux.wait_for_text(second, "KeyboardInterrupt"));
  tmux.press(second, "C-z");
  CHECK(tmux.wait_for_text(second, "Stopped"));
  CHECK(wait_until([&] { return stopped(python); }, 5s));
  tmux.type_line(second, "fg");
  CHECK(wait_until([&] { return !stopped(python); }, 5s));
  tmux.type_line(second, "print(x * 2)");
  CHECK(tmux.wait_for_text(second, "84"));
  tmux.type_line(second, "exit(3)");
  expect_job_status(tmux, second, python, 3);
}

TEST_CASE("vim with unsaved edits comes back with cpr -j, redraws them, and "
          "writes them",
          "[e2e][terminals][vim]") {
  TempDir dir;
  Tmux tmux(dir.path());
  tmux.type_line(0, "vim -u NONE -N -n notes.txt");
  REQUIRE(tmux.wait_for_text(0, "notes.txt"));
  tmux.type(0, "ibefore the checkpoint");
  tmux.press(0, "Escape");
  REQUIRE(tmux.wait_for_text(0, "before the checkpoint"));
  pid_t vim = wait_for_program(tmux, 0, "vim");
  sleep_for(300ms);
  checkpoint_group(vim, dir / "statefile");
  REQUIRE(!fs::exists(dir / "notes.txt"));

  int second = restart_in_new_window(tmux, dir / "statefile", vim);
  // Redrawn on SIGWINCH, before any key is pressed.
  CHECK(tmux.wait_for_text(second, "before the checkpoint"));
  tmux.type(second, "A, and after");
  tmux.press(second, "Escape");
  tmux.type_line(second, ":wq");
  CHECK(tmux.wait_for_text(second, "statefile-exit=0"));
  CHECK(read_file(dir / "notes.txt") == "before the checkpoint, and after\n");
}

namespace {

// A bash job counting into a file and on its terminal, from a pipe whose
// writer is long gone: it ends only when the pipe says end of file.
std::string counting_job(int count) {
  return fmt::format("bash -c 'seq 1 {} | while read i; do echo $i >> "
                     "count.txt; echo tick $i; sleep 0.05; done'",
                     count);
}

std::string numbers(int count) {
  std::string s;
  for (int i = 1; i <= count; ++i)
    s += std::to_string(i) + "\n";
  return s;
}

} // namespace

TEST_CASE("A bash job restarted with cpr -j is suspended by Ctrl-Z, resumed "
          "by fg, and ends as an uninterrupted run",
          "[e2e][terminals][job]") {
  TempDir dir;
  Tmux tmux(dir.path());
  tmux.type_line(0, counting_job(120));
  pid_t job = wait_for_program(tmux, 0, "bash");
  REQUIRE(wait_until([&] { return file_size_or_zero(dir / "count.txt") > 10; },
                     10s));
  checkpoint_group(job, dir / "statefile");

  int second = restart_in_new_window(tmux, dir / "statefile", job);
  std::size_t before = file_size_or_zero(dir / "count.txt");
  REQUIRE(wait_until(
      [&] { return file_size_or_zero(dir / "count.txt") > before; }, 10s));
  tmux.press(second, "C-z");
  REQUIRE(tmux.wait_for_text(second, "Stopped"));
  REQUIRE(wait_until([&] { return stopped(job); }, 5s));
  std::size_t suspended = file_size_or_zero(dir / "count.txt");
  sleep_for(300ms);
  CHECK(file_size_or_zero(dir / "count.txt") == suspended);
  tmux.type_line(second, "fg");
  expect_job_status(tmux, second, job, 0);
  CHECK(output_mismatch(read_file(dir / "count.txt"), numbers(120)) == "");
}

TEST_CASE("Without -j the restored job has no controlling terminal, keeps "
          "its group id, and writes to its terminal while it exists, else "
          "to /dev/null",
          "[e2e][terminals][detached]") {
  TempDir dir;
  Tmux tmux(dir.path());
  int first = tmux.new_window();
  tmux.type_line(first, counting_job(100));
  pid_t job = wait_for_program(tmux, first, "bash");
  REQUIRE(wait_until([&] { return file_size_or_zero(dir / "count.txt") > 10; },
                     10s));
  checkpoint_group(job, dir / "first");
  CommandResult info = run_cpr({"-i", (dir / "first").string()});
  CHECK(info.out.find("files.controlling-terminal:\t" +
                      tmux.terminal_path(first) +
                      ", the controlling terminal") != std::string::npos);
  // The tests run without a controlling terminal.
  expect_cpr_error(run_cpr({"-j", "-r", (dir / "first").string()}),
                   "needs a controlling terminal");
  CHECK(!process_exists(job));

  tmux.type_line(0, restart_command(dir / "first", false));
  REQUIRE(tmux.wait_for_text(0, "first-exit=0"));
  REQUIRE(process_exists(job));
  CHECK(controlling_terminal(job) == 0);
  auto st = process_stat(job);
  REQUIRE(st);
  CHECK(st->pgid == job);
  CHECK(st->sid != tmux.shell_pid(0));
  // Its output goes on in the terminal it had, not in the one of cpr.
  CHECK(tmux.wait_for_text(first, "tick 40"));
  CHECK(tmux.screen(0).find("tick") == std::string::npos);

  checkpoint_group(job, dir / "second");
  tmux.kill_window(first); // its terminal is gone
  tmux.type_line(0, restart_command(dir / "second", false));
  REQUIRE(tmux.wait_for_text(0, "second-exit=0"));
  REQUIRE(process_exists(job));
  std::error_code ec;
  CHECK(fs::read_symlink(fmt::format("/proc/{}/fd/1", job), ec) == "/dev/null");
  // Reparented to the tests (a subreaper) once cpr has released it.
  CHECK(wait_exit(job, 30s).success());
  CHECK(output_mismatch(read_file(dir / "count.txt"), numbers(100)) == "");
}

TEST_CASE("A program running a child on a pty of its own comes back with "
          "both ends, the bytes waiting in them, and the child's terminal",
          "[e2e][terminals][pty]") {
  auto spec = pty_pair();
  const std::string &reference = reference_output(spec);
  REQUIRE(reference.find("/dev/tty works, foreground yes") !=
          std::string::npos);
  REQUIRE(reference.find("child exited 7") != std::string::npos);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  std::vector<pid_t> child = wait_for_children(target.pid, 1);
  let_it_run(400ms, 1000ms);
  std::string tree = fmt::format("{}:HID", target.pid);
  SetIdentity before =
      checkpoint_set_and_reap(dir / "statefile", tree, {target.pid, child[0]});
  CommandResult info = run_cpr({"-i", (dir / "statefile").string()});
  INFO(info.out);
  restart_set({dir / "statefile"}, before);
  CHECK(controlling_terminal(child[0]) != 0);
  expect_finishes_within(target, reference, 20s);
}

TEST_CASE("Bytes left unread both ways in a pty are there after a "
          "checkpoint that lets the processes go on, and after a restart",
          "[e2e][terminals][pty]") {
  TempDir dir;
  // More than a line discipline holds: the rest waits in the flip buffers.
  RunningTarget target = start_target(pty_hold("pty", 20000), dir);
  REQUIRE(wait_until([&] { return file_size_or_zero(target.out) == 6; },
                     5s)); // "ready\n"
  pid_t child = wait_for_children(target.pid, 1)[0];
  auto both_check = [&] {
    REQUIRE(::kill(target.pid, SIGUSR1) == 0);
    REQUIRE(::kill(child, SIGUSR1) == 0);
  };
  std::string tree = fmt::format("{}:HID", target.pid);
  CommandResult kept =
      run_cpr({"-c", (dir / "kept").string(), "-p", tree, "-g"});
  INFO(kept.describe());
  REQUIRE(kept.status.success());
  both_check();
  REQUIRE(wait_exit(target.pid, 10s).success());
  CHECK(read_file(target.out) == "ready\nok\n");

  REQUIRE(wait_until([&] { return !process_exists(child); }, 5s));
  std::filesystem::resize_file(target.out, 6); // as it was at checkpoint
  CommandResult back = run_cpr({"-r", (dir / "kept").string()});
  INFO(back.describe());
  REQUIRE(back.status.success());
  both_check();
  REQUIRE(wait_exit(target.pid, 10s).success());
  CHECK(read_file(target.out) == "ready\nok\n");
}

TEST_CASE("script(1) running bash on a pty of its own comes back with cpr "
          "-j: the inner shell keeps its variables and its own terminal",
          "[e2e][terminals][script]") {
  TempDir dir;
  Tmux tmux(dir.path());
  tmux.type_line(0, "script -q -c 'env PS1=inner\\> bash --norc "
                    "--noprofile -i' /dev/null");
  REQUIRE(tmux.wait_for_text(0, "inner>"));
  tmux.type_line(0, "V=forty-two; echo V is set");
  REQUIRE(tmux.wait_for_text(0, "V is set"));
  pid_t script = wait_for_program(tmux, 0, "script");
  pid_t inner = wait_for_descendant(script, "bash", 0ms);
  REQUIRE(inner > 0);
  checkpoint_group(script, dir / "statefile", "HID");
  REQUIRE(!process_exists(inner));

  int second = restart_in_new_window(tmux, dir / "statefile", script);
  REQUIRE(process_exists(inner));
  CHECK(controlling_terminal(inner) != 0);
  CHECK(controlling_terminal(inner) != tmux.terminal(second));
  tmux.type_line(second, "echo V is $V");
  CHECK(tmux.wait_for_text(second, "V is forty-two"));
  tmux.type_line(second, "exit");
  bool ended = tmux.wait_for_text(second, "statefile-exit=0");
  INFO(tmux.screen(second));
  CHECK(ended);
}

// Issue 15: every process of a session on the set's pty has it as its
// controlling terminal again: /dev/tty opens, and a hangup signals the
// leader and the foreground group.
TEST_CASE("Every process of a pty session keeps the pty as its controlling "
          "terminal",
          "[e2e][terminals][pty]") {
  auto spec = pty_session();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  std::vector<pid_t> leader = wait_for_children(target.pid, 1);
  std::vector<pid_t> members = wait_for_children(leader[0], 2);
  let_it_run(300ms, 1200ms);
  std::vector<pid_t> all{target.pid, leader[0], members[0], members[1]};
  SetIdentity before = checkpoint_set_and_reap(
      dir / "statefile", fmt::format("{}:HID", target.pid), all);
  restart_set({dir / "statefile"}, before);
  for (pid_t pid : {leader[0], members[0], members[1]})
    CHECK(controlling_terminal(pid) != 0);
  expect_finishes_within(target, reference, 20s);
}
