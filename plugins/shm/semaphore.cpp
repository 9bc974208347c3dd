#include "semaphore.hpp"

#include "ipc_space.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>

#include <algorithm>
#include <boost/serialization/vector.hpp>
#include <fmt/format.h>
#include <sys/sem.h>
#include <sys/syscall.h>

namespace cpr::shm {
namespace {

union SemArg { // union semun, which the caller must define
  int val;
  semid_ds *buf;
  unsigned short *array;
};

semid_ds stat_set(int id) {
  semid_ds ds{};
  SemArg arg{};
  arg.buf = &ds;
  if (::semctl(id, 0, IPC_STAT, arg) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: cannot read System V "
                                 "semaphore set id {}",
                                 id),
                     errno);
  return ds;
}

std::vector<pid_t> last_changed_by(int id, unsigned nsems) {
  std::vector<pid_t> pids;
  for (unsigned i = 0; i < nsems; ++i)
    pids.push_back(::semctl(id, static_cast<int>(i), GETPID));
  return pids;
}

bool used_by(const std::vector<pid_t> &pids,
             const std::vector<pid_t> &processes) {
  return std::any_of(pids.begin(), pids.end(),
                     [&](pid_t p) { return is_one_of(p, processes); });
}

bool used_elsewhere(const std::vector<pid_t> &pids,
                    const std::vector<pid_t> &processes) {
  return std::any_of(pids.begin(), pids.end(),
                     [&](pid_t p) { return used_outside(p, processes); });
}

sdk::Saved save_set(int id, const semid_ds &ds) {
  SemaphoreSet s{perm_of(id, ds.sem_perm),
                 std::vector<std::uint16_t>(ds.sem_nsems)};
  SemArg arg{};
  arg.array = s.values.data();
  if (::semctl(id, 0, GETALL, arg) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot read " +
                         describe(IpcKind::sem, s.perm),
                     errno);
  return {sdk::to_payload(s),
          fmt::format("{}, values {}", describe(IpcKind::sem, s.perm),
                      fmt::join(s.values, " "))};
}

// The set at the saved id, if it is the one the set left behind and no
// other process uses it: the restart takes it over.
bool left_behind(const SemaphoreSet &s, const std::vector<pid_t> &set) {
  semid_ds now{};
  SemArg arg{};
  arg.buf = &now;
  if (::semctl(s.perm.id, 0, IPC_STAT, arg) != 0)
    return false;
  if (!same_owner_and_key(s.perm, now.sem_perm) ||
      now.sem_nsems != s.values.size())
    id_taken(IpcKind::sem, s.perm,
             fmt::format("another semaphore set (key {:#010x}, {} "
                         "semaphores)",
                         static_cast<std::uint32_t>(now.sem_perm.__key),
                         now.sem_nsems));
  for (unsigned i = 0; i < now.sem_nsems; ++i) {
    pid_t user = ::semctl(s.perm.id, static_cast<int>(i), GETPID);
    if (used_outside(user, set) ||
        ::semctl(s.perm.id, static_cast<int>(i), GETNCNT) > 0 ||
        ::semctl(s.perm.id, static_cast<int>(i), GETZCNT) > 0)
      id_taken(IpcKind::sem, s.perm,
               fmt::format("the set the checkpointed processes left "
                           "behind, which process {} uses",
                           user));
  }
  return true;
}

} // namespace

std::vector<sdk::Saved> SemaphoreHandler::save(sdk::SaveContext &ctx) const {
  ipc_space(ctx.sessions).enter_set_namespace(ctx);
  std::vector<sdk::Saved> out;
  for (int id : list_ids(IpcKind::sem)) {
    semid_ds ds = stat_set(id);
    auto users = last_changed_by(id, ds.sem_nsems);
    if (used_by(users, ctx.processes) ||
        (ctx.options.flag("shm.all_of_owner") && ds.sem_perm.uid == ctx.owner &&
         !used_elsewhere(users, ctx.processes)))
      out.push_back(save_set(id, ds));
  }
  return out;
}

void SemaphoreHandler::restore(const sdk::Record &record,
                               sdk::RestoreContext &ctx) const {
  ipc_space(ctx.sessions).make(*this, record, ctx, [&] { make(record, ctx); });
}

void SemaphoreHandler::make(const sdk::Record &record,
                            sdk::RestoreContext &ctx) const {
  auto s = sdk::from_payload<SemaphoreSet>(record.payload);
  if (!left_behind(s, ctx.processes)) {
    int id = make_with_id(IpcKind::sem, s.perm, [&] {
      return ::semget(s.perm.key, static_cast<int>(s.values.size()),
                      IPC_CREAT | IPC_EXCL |
                          static_cast<int>(s.perm.mode & 0777));
    });
    ctx.session<MadeObjects<IpcKind::sem>>(*this).ids.push_back(id);
    set_owner(IpcKind::sem, s.perm, [&](ipc_perm &p) {
      semid_ds ds{};
      ds.sem_perm = p;
      SemArg arg{};
      arg.buf = &ds;
      return ::semctl(s.perm.id, 0, IPC_SET, arg);
    });
  }
  SemArg arg{};
  arg.array = s.values.data();
  if (::semctl(s.perm.id, 0, SETALL, arg) != 0)
    sdk::throw_errno(
        "cannot set the values of " + describe(IpcKind::sem, s.perm), errno);
}

namespace {

std::map<pid_t, std::vector<LastChange>> last_changes() {
  std::map<pid_t, std::vector<LastChange>> by_pid;
  for (int id : list_ids(IpcKind::sem)) {
    semid_ds ds = stat_set(id);
    auto users = last_changed_by(id, ds.sem_nsems);
    for (unsigned i = 0; i < users.size(); ++i)
      by_pid[users[i]].push_back({id, static_cast<std::uint16_t>(i),
                                  static_cast<std::uint16_t>(::semctl(
                                      id, static_cast<int>(i), GETVAL))});
  }
  return by_pid;
}

} // namespace

sdk::Saved SemUserHandler::save(sdk::Tracee &process,
                                sdk::SaveContext &ctx) const {
  ipc_space(ctx.sessions).enter_set_namespace(ctx);
  const auto &changes =
      ctx.session<ScannedOnce<std::vector<LastChange>>>(*this).of(process.pid(),
                                                                  last_changes);
  return {sdk::to_payload(changes),
          changes.empty()
              ? ""
              : fmt::format("last to change {} System V semaphore(s)",
                            changes.size())};
}

void SemUserHandler::restore(sdk::Tracee &process, const sdk::Record &record,
                             sdk::RestoreContext &) const {
  for (const LastChange &c :
       sdk::from_payload<std::vector<LastChange>>(record.payload))
    sdk::remote_call(process,
                     fmt::format("set semaphore {} of System V semaphore set "
                                 "id {}",
                                 c.semaphore, c.id),
                     SYS_semctl, static_cast<std::uint64_t>(c.id), c.semaphore,
                     SETVAL, c.value);
}

} // namespace cpr::shm
