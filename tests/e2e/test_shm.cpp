// System V IPC and POSIX shared memory (issue 8). Processes sharing a
// segment and a semaphore, a process with messages waiting in a queue, and
// processes sharing a POSIX shm object, a process-shared mutex and a named
// semaphore are checkpointed, killed and restarted: with the objects removed
// as a reboot would, or left over. The objects come back with their ids,
// keys, state and contents, and the programs end as uninterrupted runs do.
// An id another object has taken fails the restart, leaving nothing.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "support/ipc.hpp"
#include "support/sets.hpp"

#include <sys/ipc.h>
#include <sys/shm.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>

using namespace cpr_test;

namespace {

// Each reference run and each test has keys of its own (key_of_this_run).
enum Slot : int {
  counter_reference_slot,
  marked_reference_slot,
  pieces_reference_slot,
  queue_reference_slot,
  posix_reference_slot,
  removed_slot,
  left_over_slot,
  marked_slot,
  queue_slot,
  posix_slot,
  busy_slot,
  fork_any_slot,
  all_ipc_slot,
  damaged_slot,
  pieces_slot,
  own_namespace_slot,
  mixed_own_slot,
  mixed_plain_slot,
};

// variant: "", "marked" or "pieces" (see sysv_counter.c).
const std::string &counter_reference(const std::string &variant,
                                     IpcGuard &guard) {
  key_t key = key_of_this_run(variant == "marked"   ? marked_reference_slot
                              : variant == "pieces" ? pieces_reference_slot
                                                    : counter_reference_slot);
  guard.key(Ipc::shm, key);
  guard.key(Ipc::sem, key + 1);
  return reference_output(sysv_counter(key, variant));
}

IpcRow required_row(Ipc kind, key_t key) {
  auto row = ipc_by_key(kind, key);
  INFO("key " << key);
  REQUIRE(row);
  return *row;
}

IpcRow required_row_by_id(Ipc kind, int id) {
  auto row = ipc_by_id(kind, id);
  INFO("id " << id);
  REQUIRE(row);
  return *row;
}

// The id of the one segment `pid` maps: the inode of its /SYSV mappings,
// which are two, the second attachment read-only.
int attached_segment(pid_t pid) {
  std::vector<Mapping> segments = mappings_of(pid, "/SYSV");
  INFO(fmt::format("/SYSV mappings of {}:\n{}", pid,
                   fmt::join(lines_of(segments), "\n")));
  REQUIRE(segments.size() == 2);
  REQUIRE(segments[0].inode == segments[1].inode);
  REQUIRE(std::any_of(segments.begin(), segments.end(),
                      [](const Mapping &m) { return m.perms == "r--s"; }));
  return static_cast<int>(segments[0].inode);
}

// Address range, protection and segment of each mapping. Not its name:
// that is the key the segment was made with, and a marked segment, having
// no key any more, may come back made without one.
std::vector<std::string> where_and_what(const std::vector<Mapping> &mappings) {
  std::vector<std::string> shapes;
  for (const auto &m : mappings)
    shapes.push_back(fmt::format("{} {} {}", m.range, m.perms, m.inode));
  return shapes;
}

// A sysv_counter run with its child, checkpointed mid-way (PID:HID) and
// killed.
struct CounterRun {
  key_t key = 0;
  RunningTarget parent;
  std::vector<pid_t> members; // the parent, its child
  int shmid = -1;
  int semid = -1;
  std::map<pid_t, std::vector<std::string>> segments; // where_and_what
  SetIdentity before;
};

CounterRun checkpoint_counter(key_t key, const std::string &variant,
                              const TempDir &dir, IpcGuard &guard,
                              const std::vector<std::string> &flags = {}) {
  guard.key(Ipc::shm, key);
  guard.key(Ipc::sem, key + 1);
  CounterRun run;
  run.key = key;
  bool marked = variant == "marked";
  run.parent = start_target(sysv_counter(key, variant), dir);
  run.members = {run.parent.pid, wait_for_children(run.parent.pid, 1).front()};
  let_it_run();
  run.shmid = attached_segment(run.parent.pid);
  guard.id(Ipc::shm, run.shmid); // a marked segment has no key any more
  run.semid = required_row(Ipc::sem, key + 1).id();
  if (marked)
    CHECK((required_row_by_id(Ipc::shm, run.shmid).perms() & SHM_DEST) != 0);
  else
    CHECK(required_row(Ipc::shm, key).id() == run.shmid);
  note(fmt::format("shmid {} semid {}", run.shmid, run.semid));
  for (pid_t pid : run.members)
    run.segments[pid] = where_and_what(mappings_of(pid, "/SYSV"));
  run.before = checkpoint_set_and_reap(dir / "statefile",
                                       fmt::format("{}:HID", run.parent.pid),
                                       run.members, flags);
  return run;
}

// As after a reboot: cpr must make them again.
void remove_leftovers(const CounterRun &run) {
  CHECK(remove_ipc(Ipc::shm, run.shmid));
  CHECK(remove_ipc(Ipc::sem, run.semid));
}

// Both processes map the segment again as they did, by the same id, and the
// semaphore set is back under its key with its id.
void expect_same_objects(const CounterRun &run) {
  for (pid_t pid : run.members) {
    INFO("/SYSV mappings of " << pid);
    CHECK(where_and_what(mappings_of(pid, "/SYSV")) == run.segments.at(pid));
  }
  CHECK(attached_segment(run.parent.pid) == run.shmid);
  // One attachment per mapping (two each, more in pieces): a mapping made
  // otherwise would not count.
  std::size_t mappings = 0;
  for (const auto &[pid, shapes] : run.segments)
    mappings += shapes.size();
  CHECK(mappings >= 4);
  CHECK(required_row_by_id(Ipc::shm, run.shmid).number("nattch") ==
        static_cast<long long>(mappings));
  CHECK(required_row(Ipc::sem, run.key + 1).id() == run.semid);
}

void expect_counter_objects_gone(const CounterRun &run) {
  CHECK_FALSE(ipc_by_key(Ipc::shm, run.key));
  CHECK_FALSE(ipc_by_id(Ipc::shm, run.shmid));
  CHECK_FALSE(ipc_by_key(Ipc::sem, run.key + 1));
}

void check_sysv_counter(Slot slot, bool remove,
                        const std::string &variant = "") {
  IpcGuard guard;
  const std::string &reference = counter_reference(variant, guard);
  TempDir dir;
  CounterRun run =
      checkpoint_counter(key_of_this_run(slot), variant, dir, guard);
  if (remove) {
    remove_leftovers(run);
  } else {
    auto left = ipc_by_id(Ipc::shm, run.shmid);
    REQUIRE(left);
    CHECK(left->number("nattch") == 0);
  }
  restart_set({dir / "statefile"}, run.before);
  expect_same_objects(run);
  CHECK(required_row(Ipc::shm, run.key).id() == run.shmid);
  expect_finishes_within(run.parent, reference, 15s);
  expect_counter_objects_gone(run);
}

// Makes an unrelated segment of `size` bytes take `id`, and fills it.
int segment_with_id(int id, std::size_t size, IpcGuard &guard) {
  {
    std::ofstream next("/proc/sys/kernel/shm_next_id");
    next << id << std::flush;
    REQUIRE(next);
  }
  int made = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
  if (made >= 0)
    guard.id(Ipc::shm, made);
  REQUIRE(made == id);
  void *at = shmat(made, nullptr, 0);
  REQUIRE(at != reinterpret_cast<void *>(-1));
  std::memset(at, 0x5a, size);
  shmdt(at);
  return made;
}

std::string ipc_namespace(pid_t pid) {
  return fs::read_symlink(fmt::format("/proc/{}/ns/ipc", pid)).string();
}

bool segment_holds(int id, std::size_t size, unsigned char byte) {
  void *at = shmat(id, nullptr, SHM_RDONLY);
  if (at == reinterpret_cast<void *>(-1))
    return false;
  const auto *bytes = static_cast<const unsigned char *>(at);
  bool all = std::all_of(bytes, bytes + size,
                         [byte](unsigned char b) { return b == byte; });
  shmdt(at);
  return all;
}

void expect_untouched(int id, std::size_t size) {
  IpcRow segment = required_row_by_id(Ipc::shm, id);
  INFO(segment.describe());
  CHECK(segment.key() == IPC_PRIVATE);
  CHECK(segment.number("size") == static_cast<long long>(size));
  CHECK(segment.number("nattch") == 0);
  CHECK(segment_holds(id, size, 0x5a));
}

void wait_for_line(const RunningTarget &target, const std::string &line) {
  wait_for_output(target, line + "\n");
}

} // namespace

TEST_CASE("System V shared memory and a semaphore carry two counting processes",
          "[e2e][shm]") {
  check_sysv_counter(removed_slot, true);
}

TEST_CASE("A segment a process maps in pieces, one with a protection of "
          "its own, comes back in the same pieces",
          "[e2e][shm]") {
  check_sysv_counter(pieces_slot, true, "pieces");
}

TEST_CASE("Leftover System V objects of the same key are taken over",
          "[e2e][shm]") {
  check_sysv_counter(left_over_slot, false);
}

TEST_CASE("A segment marked for removal is still marked after restart",
          "[e2e][shm]") {
  IpcGuard guard;
  const std::string &reference = counter_reference("marked", guard);
  TempDir dir;
  CounterRun run =
      checkpoint_counter(key_of_this_run(marked_slot), "marked", dir, guard);
  // Marked and no longer attached, it went with the processes.
  CHECK_FALSE(ipc_by_id(Ipc::shm, run.shmid));
  CHECK(remove_ipc(Ipc::sem, run.semid));
  restart_set({dir / "statefile"}, run.before);
  expect_same_objects(run);
  IpcRow segment = required_row_by_id(Ipc::shm, run.shmid);
  INFO(segment.describe());
  CHECK((segment.perms() & SHM_DEST) != 0);
  CHECK(segment.key() == IPC_PRIVATE);
  expect_finishes_within(run.parent, reference, 15s);
  expect_counter_objects_gone(run);
}

TEST_CASE("A message queue's messages come back in order with their types",
          "[e2e][shm]") {
  IpcGuard guard;
  key_t reference_key = key_of_this_run(queue_reference_slot);
  guard.key(Ipc::msg, reference_key);
  const std::string &reference = reference_output(sysv_queue(reference_key));
  TempDir dir;
  key_t key = key_of_this_run(queue_slot);
  guard.key(Ipc::msg, key);
  RunningTarget target = start_target(sysv_queue(key), dir);
  wait_for_line(target, "queued");
  let_it_run(50ms, 400ms);
  IpcRow queued = required_row(Ipc::msg, key);
  guard.id(Ipc::msg, queued.id());
  note("queue before checkpoint: " + queued.describe());
  CHECK(queued.number("qnum") == 40);
  SetIdentity before = checkpoint_set_and_reap(
      dir / "statefile", std::to_string(target.pid), {target.pid});
  CHECK(remove_ipc(Ipc::msg, queued.id()));
  restart_set({dir / "statefile"}, before);
  IpcRow back = required_row(Ipc::msg, key);
  INFO("before: " << queued.describe() << "\nafter: " << back.describe());
  CHECK(back.id() == queued.id());
  CHECK(back.number("qnum") == queued.number("qnum"));
  CHECK(back.number("cbytes") == queued.number("cbytes"));
  // Its last user is the process again, not cpr: a checkpoint of the
  // restarted process (going on) finds the queue.
  CommandResult again =
      try_checkpoint_set(dir / "again", std::to_string(target.pid), {"-g"});
  REQUIRE(again.status.success());
  std::string info = run_cpr({"-i", (dir / "again").string()}).out;
  INFO(info);
  CHECK(info.find(fmt::format("System V message queue id {} (key {:#010x}), "
                              "40 message(s)",
                              queued.id(), static_cast<std::uint32_t>(key))) !=
        std::string::npos);
  expect_finishes_within(target, reference, 15s);
  CHECK_FALSE(ipc_by_key(Ipc::msg, key));
}

TEST_CASE("POSIX shared memory, a process-shared mutex and a named semaphore "
          "are shared again, as are an object removed while mapped and one "
          "only held open",
          "[e2e][shm]") {
  IpcGuard guard;
  key_t reference_key = key_of_this_run(posix_reference_slot);
  guard.file(fmt::format("/dev/shm/cpr-shm-{:x}", reference_key));
  guard.file(fmt::format("/dev/shm/sem.cpr-sem-{:x}", reference_key));
  guard.file(fmt::format("/dev/shm/cpr-fd-{:x}", reference_key));
  const std::string &reference = reference_output(posix_shm(reference_key));
  TempDir dir;
  key_t key = key_of_this_run(posix_slot);
  fs::path object = fmt::format("/dev/shm/cpr-shm-{:x}", key);
  fs::path semaphore = fmt::format("/dev/shm/sem.cpr-sem-{:x}", key);
  guard.file(object);
  guard.file(semaphore);
  fs::path kept = fmt::format("/dev/shm/cpr-fd-{:x}", key);
  guard.file(kept); // only open, never mapped
  RunningTarget parent = start_target(posix_shm(key), dir);
  std::vector<pid_t> members{parent.pid,
                             wait_for_children(parent.pid, 1).front()};
  let_it_run();
  for (pid_t pid : members) {
    REQUIRE(maps_file(pid, object));
    REQUIRE(maps_file(pid, semaphore));
  }
  SetIdentity before = checkpoint_set_and_reap(
      dir / "statefile", fmt::format("{}:HID", parent.pid), members);
  // /dev/shm is a tmpfs, empty after a reboot: what they held must come
  // from the statefile.
  CHECK(fs::remove(object));
  CHECK(fs::remove(semaphore));
  CHECK(fs::remove(kept));
  restart_set({dir / "statefile"}, before);
  for (pid_t pid : members) {
    INFO("mappings of " << pid << ":\n"
                        << fmt::format("{}", fmt::join(lines_of(mappings_of(
                                                           pid, "/dev/shm")),
                                                       "\n")));
    CHECK(maps_file(pid, object));
    CHECK(maps_file(pid, semaphore));
    CHECK(std::ranges::any_of(
        mappings_of(pid, object.string()),
        [&](const Mapping &m) { return m.path == object.string(); }));
  }
  expect_finishes_within(parent, reference, 15s);
  CHECK_FALSE(fs::exists(object));
  CHECK_FALSE(fs::exists(semaphore));
  CHECK_FALSE(fs::exists(kept));
}

TEST_CASE("An id taken by another object fails the restart and leaves nothing",
          "[e2e][shm][errors]") {
  IpcGuard guard;
  const std::string &reference = counter_reference("", guard);
  TempDir dir;
  CounterRun run =
      checkpoint_counter(key_of_this_run(busy_slot), "", dir, guard);
  remove_leftovers(run);
  constexpr std::size_t other_size = 5 * 4096 + 123;
  int other = segment_with_id(run.shmid, other_size, guard);

  CommandResult failed = run_cpr({"-r", (dir / "statefile").string()});
  expect_cpr_error(failed, "Resource busy");
  CHECK(failed.err.find(std::to_string(run.shmid)) != std::string::npos);
  for (pid_t pid : run.members)
    CHECK_FALSE(process_exists(pid));
  expect_no_process_left(run.parent.pid);
  expect_untouched(other, other_size);
  CHECK_FALSE(ipc_by_key(Ipc::shm, run.key));
  CHECK_FALSE(ipc_by_key(Ipc::sem, run.key + 1));

  // The statefile is untouched: once the id is free, it restarts.
  REQUIRE(remove_ipc(Ipc::shm, other));
  restart_set({dir / "statefile"}, run.before);
  expect_same_objects(run);
  expect_finishes_within(run.parent, reference, 15s);
  expect_counter_objects_gone(run);
}

TEST_CASE("With FORK ANY an id taken puts the set in a new IPC namespace",
          "[e2e][shm]") {
  IpcGuard guard;
  const std::string &reference = counter_reference("", guard);
  TempDir dir;
  CounterRun run =
      checkpoint_counter(key_of_this_run(fork_any_slot), "", dir, guard);
  remove_leftovers(run);
  constexpr std::size_t other_size = 3 * 4096;
  int other = segment_with_id(run.shmid, other_size, guard);

  restart_set({dir / "statefile"}, run.before, {"--fork-any"});
  // There the set has its ids, which this namespace cannot see.
  for (pid_t pid : run.members) {
    CHECK(ipc_namespace(pid) != ipc_namespace(::getpid()));
    INFO("/SYSV mappings of " << pid);
    CHECK(where_and_what(mappings_of(pid, "/SYSV")) == run.segments.at(pid));
  }
  CHECK_FALSE(ipc_by_key(Ipc::shm, run.key));
  CHECK_FALSE(ipc_by_key(Ipc::sem, run.key + 1));
  expect_untouched(other, other_size);
  expect_finishes_within(run.parent, reference, 15s);
}

// Issue 15: a set started under `unshare --ipc` keeps a namespace of its own,
// with its objects; none of them is ever seen from cpr's.
TEST_CASE("A set in an IPC namespace of its own restarts in a new one",
          "[e2e][shm]") {
  key_t key = key_of_this_run(own_namespace_slot);
  auto spec = in_own_ipc_namespace(sysv_counter(key, ""));
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget parent = start_target(spec, dir);
  std::vector<pid_t> members{parent.pid,
                             wait_for_children(parent.pid, 1).front()};
  let_it_run();
  std::map<pid_t, std::vector<std::string>> segments;
  for (pid_t pid : members)
    segments[pid] = where_and_what(mappings_of(pid, "/SYSV"));
  CHECK(ipc_namespace(parent.pid) != ipc_namespace(::getpid()));
  CHECK_FALSE(ipc_by_key(Ipc::shm, key));
  auto sf = dir / "statefile";
  SetIdentity before =
      checkpoint_set_and_reap(sf, fmt::format("{}:HID", parent.pid), members);
  CHECK_THAT(run_cpr({"-i", sf.string()}).out,
             Catch::Matches("[\\s\\S]*shm.ipc-namespace:\\s+its own IPC "
                            "namespace\n[\\s\\S]*"));
  restart_set({sf}, before);
  for (pid_t pid : members) {
    CHECK(ipc_namespace(pid) != ipc_namespace(::getpid()));
    CHECK(ipc_namespace(pid) == ipc_namespace(parent.pid));
    INFO("/SYSV mappings of " << pid);
    CHECK(where_and_what(mappings_of(pid, "/SYSV")) == segments.at(pid));
  }
  CHECK_FALSE(ipc_by_key(Ipc::shm, key));
  CHECK_FALSE(ipc_by_key(Ipc::sem, key + 1));
  expect_finishes_within(parent, reference, 15s);
}

TEST_CASE("A set in an IPC namespace of its own and a set without one are "
          "refused together, either way round, leaving nothing",
          "[e2e][shm][errors]") {
  IpcGuard guard;
  TempDir own_dir, plain_dir;
  key_t own_key = key_of_this_run(mixed_own_slot);
  RunningTarget own =
      start_target(in_own_ipc_namespace(sysv_counter(own_key, "")), own_dir);
  std::vector<pid_t> own_members{own.pid,
                                 wait_for_children(own.pid, 1).front()};
  let_it_run();
  checkpoint_set_and_reap(own_dir / "statefile", fmt::format("{}:HID", own.pid),
                          own_members);
  CounterRun plain = checkpoint_counter(key_of_this_run(mixed_plain_slot), "",
                                        plain_dir, guard);
  remove_leftovers(plain);
  const std::string own_sf = (own_dir / "statefile").string();
  const std::string plain_sf = (plain_dir / "statefile").string();
  for (const auto &[first, second, words] :
       {std::tuple{own_sf, plain_sf,
                   "its set had no IPC namespace of its own, "
                   "the other did"},
        std::tuple{plain_sf, own_sf,
                   "its set had an IPC namespace of its "
                   "own, the other did not"}}) {
    INFO(first << " then " << second);
    CommandResult failed = run_cpr({"-r", first, second});
    expect_cpr_error(failed, words);
    for (pid_t pid : own_members)
      CHECK_FALSE(process_exists(pid));
    for (pid_t pid : plain.members)
      CHECK_FALSE(process_exists(pid));
    expect_no_process_left(own.pid);
    expect_no_process_left(plain.parent.pid);
    CHECK_FALSE(ipc_by_key(Ipc::shm, plain.key));
    CHECK_FALSE(ipc_by_key(Ipc::sem, plain.key + 1));
    CHECK_FALSE(ipc_by_key(Ipc::shm, own_key));
  }
}

TEST_CASE("A process in a namespace of another kind of its own is refused "
          "by name",
          "[e2e][errors]") {
  TargetSpec spec = heap_avx();
  spec.argv.insert(spec.argv.begin(), {"/usr/bin/unshare", "--uts"});
  spec.privileged = true;
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto sf = dir / "statefile";
  CommandResult result = try_checkpoint(sf, target.pid);
  expect_cpr_error(result, "Checkpoint error");
  CHECK(result.err.find(fmt::format("process {} is in a UTS namespace of its "
                                    "own (uts:[",
                                    target.pid)) != std::string::npos);
  CHECK_FALSE(fs::exists(sf));
  expect_still_running(target);
  ExitStatus status = wait_exit(target.pid, 15s);
  CHECK(status.success());
}

TEST_CASE("A segment the set does not attach is saved only with --all-ipc",
          "[e2e][shm]") {
  IpcGuard guard;
  const std::string &reference = counter_reference("", guard);
  constexpr std::size_t size = 2 * 4096 + 17;
  int apart = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
  REQUIRE(apart >= 0);
  guard.id(Ipc::shm, apart);
  if (auto owner = targets_owner()) { // the checkpoint owner's, as theirs are
    shmid_ds ds{};
    REQUIRE(shmctl(apart, IPC_STAT, &ds) == 0);
    ds.shm_perm.uid = owner->uid;
    ds.shm_perm.gid = owner->gid;
    REQUIRE(shmctl(apart, IPC_SET, &ds) == 0);
  }
  void *at = shmat(apart, nullptr, 0);
  REQUIRE(at != reinterpret_cast<void *>(-1));
  std::memset(at, 0x5a, size);
  shmdt(at);
  auto saves_it = [&](const fs::path &sf) {
    CommandResult info = run_cpr({"-i", sf.string()});
    return info.out.find(fmt::format("System V shared memory id {} ", apart)) !=
           std::string::npos;
  };

  TempDir plain;
  CounterRun run =
      checkpoint_counter(key_of_this_run(all_ipc_slot), "", plain, guard);
  CHECK_FALSE(saves_it(plain / "statefile"));
  restart_set({plain / "statefile"}, run.before);
  expect_finishes_within(run.parent, reference, 15s);

  TempDir all;
  run = checkpoint_counter(key_of_this_run(all_ipc_slot), "", all, guard,
                           {"--all-ipc"});
  CHECK(saves_it(all / "statefile"));
  remove_leftovers(run);
  REQUIRE(remove_ipc(Ipc::shm, apart));
  restart_set({all / "statefile"}, run.before);
  expect_untouched(apart, size);
  expect_same_objects(run);
  expect_finishes_within(run.parent, reference, 15s);
}

TEST_CASE("Shared memory data cut short in the statefile fails the restart",
          "[e2e][shm][errors]") {
  IpcGuard guard;
  TempDir dir;
  CounterRun run =
      checkpoint_counter(key_of_this_run(damaged_slot), "", dir, guard);
  remove_leftovers(run);
  fs::path data = dir / "statefile" / "ipc" / fmt::format("shm-{}", run.shmid);
  REQUIRE(fs::exists(data));
  fs::resize_file(data, fs::file_size(data) - 1);

  CommandResult failed = run_cpr({"-r", (dir / "statefile").string()});
  expect_cpr_error(failed, "damaged statefile");
  CHECK(failed.err.find(fmt::format("ipc/shm-{}", run.shmid)) !=
        std::string::npos);
  expect_no_process_left(run.parent.pid);
  CHECK_FALSE(ipc_by_id(Ipc::shm, run.shmid));
  CHECK_FALSE(ipc_by_key(Ipc::sem, run.key + 1));
}
