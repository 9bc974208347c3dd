#include "queue.hpp"

#include "ipc_space.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/procfs.hpp>
#include <cpr/sdk/tracee.hpp>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/msg.h>
#include <sys/syscall.h>

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

namespace cpr::shm {
namespace {

msqid_ds stat_queue(int id) {
  msqid_ds ds{};
  if (::msgctl(id, IPC_STAT, &ds) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     fmt::format("Checkpoint error: cannot read System V "
                                 "message queue id {}",
                                 id),
                     errno);
  return ds;
}

std::size_t largest_message() {
  return std::stoul(sdk::read_file("/proc/sys/kernel/msgmax"));
}

// A buffer laid out as struct msgbuf: the type, then the text.
struct MessageBuffer {
  std::vector<char> bytes;
  explicit MessageBuffer(std::size_t text) : bytes(sizeof(long) + text) {}
  long type() const {
    long t;
    std::memcpy(&t, bytes.data(), sizeof t);
    return t;
  }
  void set(const Message &m) {
    long t = static_cast<long>(m.type);
    bytes.resize(sizeof t + m.text.size());
    std::memcpy(bytes.data(), &t, sizeof t);
    std::memcpy(bytes.data() + sizeof t, m.text.data(), m.text.size());
  }
  char *text() { return bytes.data() + sizeof(long); }
};

std::vector<Message> copy_messages(const IpcPerm &perm, std::size_t count) {
  MessageBuffer buf(largest_message());
  std::vector<Message> out;
  for (std::size_t i = 0; i < count; ++i) {
    ssize_t n =
        ::msgrcv(perm.id, buf.bytes.data(), buf.bytes.size() - sizeof(long),
                 static_cast<long>(i), IPC_NOWAIT | MSG_COPY);
    if (n < 0)
      sdk::throw_errno(sdk::Code::checkpoint_error,
                       fmt::format("Checkpoint error: cannot read message {} "
                                   "of {}",
                                   i, describe(IpcKind::msg, perm)),
                       errno);
    out.push_back(
        {buf.type(), std::string(buf.text(), static_cast<size_t>(n))});
  }
  return out;
}

sdk::Saved save_queue(int id, const msqid_ds &ds) {
  Queue q{perm_of(id, ds.msg_perm), ds.msg_qbytes, {}};
  q.messages = copy_messages(q.perm, ds.msg_qnum);
  return {sdk::to_payload(q), fmt::format("{}, {} message(s), {} bytes",
                                          describe(IpcKind::msg, q.perm),
                                          q.messages.size(), ds.msg_cbytes)};
}

// The queue at the saved id, if it is the one the set left behind and no
// other process uses it: the restart takes it over, emptied first.
bool left_behind(const Queue &q, const std::vector<pid_t> &set) {
  msqid_ds now{};
  if (::msgctl(q.perm.id, IPC_STAT, &now) != 0)
    return false;
  if (!same_owner_and_key(q.perm, now.msg_perm))
    id_taken(IpcKind::msg, q.perm,
             fmt::format("another message queue (key {:#010x})",
                         static_cast<std::uint32_t>(now.msg_perm.__key)));
  for (pid_t user : {now.msg_lspid, now.msg_lrpid})
    if (used_outside(user, set))
      id_taken(IpcKind::msg, q.perm,
               fmt::format("the queue the checkpointed processes left "
                           "behind, which process {} uses",
                           user));
  MessageBuffer buf(largest_message());
  while (::msgrcv(q.perm.id, buf.bytes.data(), buf.bytes.size() - sizeof(long),
                  0, IPC_NOWAIT | MSG_NOERROR) >= 0) {
  }
  return true;
}

void set_owner_and_limit(const Queue &q) {
  set_owner(IpcKind::msg, q.perm, [&](ipc_perm &p) {
    msqid_ds ds{};
    ds.msg_perm = p;
    ds.msg_qbytes = q.max_bytes;
    if (::msgctl(q.perm.id, IPC_SET, &ds) == 0)
      return 0;
    if (errno != EPERM)
      return -1;
    // A limit above kernel.msgmnb needs CAP_SYS_RESOURCE: the default then.
    msqid_ds now{};
    if (::msgctl(q.perm.id, IPC_STAT, &now) != 0)
      return -1;
    ds.msg_qbytes = now.msg_qbytes;
    return ::msgctl(q.perm.id, IPC_SET, &ds);
  });
}

void send_messages(const Queue &q) {
  MessageBuffer buf(0);
  for (const Message &m : q.messages) {
    buf.set(m);
    if (::msgsnd(q.perm.id, buf.bytes.data(), m.text.size(), IPC_NOWAIT) != 0)
      sdk::throw_errno(fmt::format("Resource temporarily unavailable: cannot "
                                   "put the messages of {} back",
                                   describe(IpcKind::msg, q.perm)),
                       errno);
  }
}

} // namespace

std::vector<sdk::Saved> QueueHandler::save(sdk::SaveContext &ctx) const {
  ipc_space(ctx.sessions).enter_set_namespace(ctx);
  std::vector<sdk::Saved> out;
  for (int id : list_ids(IpcKind::msg)) {
    msqid_ds ds = stat_queue(id);
    if (is_one_of(ds.msg_lspid, ctx.processes) ||
        is_one_of(ds.msg_lrpid, ctx.processes) ||
        (ctx.options.flag("shm.all_of_owner") && ds.msg_perm.uid == ctx.owner &&
         !used_outside(ds.msg_lspid, ctx.processes) &&
         !used_outside(ds.msg_lrpid, ctx.processes)))
      out.push_back(save_queue(id, ds));
  }
  return out;
}

void QueueHandler::restore(const sdk::Record &record,
                           sdk::RestoreContext &ctx) const {
  ipc_space(ctx.sessions).make(*this, record, ctx, [&] { make(record, ctx); });
}

void QueueHandler::make(const sdk::Record &record,
                        sdk::RestoreContext &ctx) const {
  auto q = sdk::from_payload<Queue>(record.payload);
  if (!left_behind(q, ctx.processes)) {
    int id = make_with_id(IpcKind::msg, q.perm, [&] {
      return ::msgget(q.perm.key, IPC_CREAT | IPC_EXCL |
                                      static_cast<int>(q.perm.mode & 0777));
    });
    ctx.session<MadeObjects<IpcKind::msg>>(*this).ids.push_back(id);
  }
  set_owner_and_limit(q);
  send_messages(q);
}

namespace {

// A message type no message in the queue has.
long unused_type(int id) {
  msqid_ds ds = stat_queue(id);
  MessageBuffer buf(largest_message());
  long highest = 0;
  for (std::size_t i = 0; i < ds.msg_qnum; ++i)
    if (::msgrcv(id, buf.bytes.data(), buf.bytes.size() - sizeof(long),
                 static_cast<long>(i), IPC_NOWAIT | MSG_COPY) >= 0)
      highest = std::max(highest, buf.type());
  return highest + 1;
}

// Each queue to its last sender, or to its last reader if the sender is
// not in the set.
std::map<pid_t, std::vector<std::int32_t>>
last_users(const std::vector<pid_t> &processes) {
  std::map<pid_t, std::vector<std::int32_t>> by_pid;
  for (int id : list_ids(IpcKind::msg)) {
    msqid_ds ds = stat_queue(id);
    bool sender_in_set = is_one_of(ds.msg_lspid, processes);
    by_pid[sender_in_set ? ds.msg_lspid : ds.msg_lrpid].push_back(id);
  }
  return by_pid;
}

} // namespace

sdk::Saved QueueUserHandler::save(sdk::Tracee &process,
                                  sdk::SaveContext &ctx) const {
  ipc_space(ctx.sessions).enter_set_namespace(ctx);
  const auto &queues =
      ctx.session<ScannedOnce<std::vector<std::int32_t>>>(*this).of(
          process.pid(), [&] { return last_users(ctx.processes); });
  return {sdk::to_payload(queues),
          queues.empty()
              ? ""
              : fmt::format("last to use System V message queue(s) {}",
                            fmt::join(queues, ", "))};
}

// An empty message fits in any queue that holds what it held.
void QueueUserHandler::restore(sdk::Tracee &process, const sdk::Record &record,
                               sdk::RestoreContext &) const {
  for (std::int32_t id :
       sdk::from_payload<std::vector<std::int32_t>>(record.payload)) {
    long type = unused_type(id);
    std::uint64_t buf = process.scratch(sizeof type);
    process.write(buf, &type, sizeof type);
    std::string what = fmt::format("use System V message queue id {}", id);
    sdk::remote_call(process, what, SYS_msgsnd, static_cast<std::uint64_t>(id),
                     buf, 0, IPC_NOWAIT);
    sdk::remote_call(process, what, SYS_msgrcv, static_cast<std::uint64_t>(id),
                     buf, 0, static_cast<std::uint64_t>(type), IPC_NOWAIT);
  }
}

} // namespace cpr::shm
