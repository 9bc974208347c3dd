#include "keeper.hpp"

#include <cpr/sdk/error.hpp>

#include <fcntl.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace cpr::sockets {
namespace {

// The keeper is a fork of a cpr that may run other threads: until it ends
// it makes system calls only, into buffers set aside before.
constexpr int max_sockets = 1 << 16;
int kept[max_sockets];
int kept_count = 0;
char script[8 << 20];
std::size_t script_size = 0;
constexpr std::size_t message_size = 32 * 1024;
char message[message_size];

void take(const msghdr &msg, ssize_t n) {
  if (message[0] == 'F') {
    for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
         c = CMSG_NXTHDR(const_cast<msghdr *>(&msg), c))
      if (c->cmsg_type == SCM_RIGHTS && kept_count < max_sockets)
        std::memcpy(&kept[kept_count++], CMSG_DATA(c), sizeof(int));
  } else if (message[0] == 'H' &&
             script_size + static_cast<std::size_t>(n) < sizeof script) {
    std::memcpy(script + script_size, message + 1,
                static_cast<std::size_t>(n - 1));
    script_size += static_cast<std::size_t>(n - 1);
  }
}

void run_nft(const char *nft) {
  int in[2];
  if (!nft || script_size == 0 || ::pipe(in) != 0)
    return;
  pid_t child = ::fork();
  if (child == 0) {
    ::dup2(in[0], 0);
    ::close(in[0]);
    ::close(in[1]);
    char *argv[] = {const_cast<char *>("nft"), const_cast<char *>("-f"),
                    const_cast<char *>("-"), nullptr};
    char *envp[] = {nullptr};
    ::execve(nft, argv, envp);
    ::_exit(127);
  }
  ::close(in[0]);
  for (std::size_t done = 0; child > 0 && done < script_size;) {
    ssize_t w = ::write(in[1], script + done, script_size - done);
    if (w <= 0)
      break;
    done += static_cast<std::size_t>(w);
  }
  ::close(in[1]);
  int status;
  while (child > 0 && ::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
}

// When cpr dies, the kernel lets the processes run just after it has closed
// cpr's end of the channel: the keeper, woken by that, must take the sockets
// out of repair mode before they read them. At a real-time priority it runs
// the moment it is woken; nft, which it runs, goes back to normal
// (SCHED_RESET_ON_FORK). Best effort: without CAP_SYS_NICE it just races.
void run_first() {
  sched_param first{};
  first.sched_priority = 1;
  ::sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &first);
}

[[noreturn]] void keep(int channel, const char *nft) {
  ::setsid(); // a ^C that kills cpr leaves its keeper to put things back
  run_first();
  int null = ::open("/dev/null", O_RDWR);
  for (int fd = 0; fd <= 2; ++fd)
    ::dup2(null, fd);
  for (;;) {
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    iovec iov{message, message_size};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(channel, &msg, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break; // cpr is gone without saying done
    if (message[0] == 'D')
      ::_exit(0);
    take(msg, n);
  }
  int off = 0;
  for (int i = 0; i < kept_count; ++i)
    ::setsockopt(kept[i], IPPROTO_TCP, TCP_REPAIR, &off, sizeof off);
  run_nft(nft);
  ::_exit(0);
}

} // namespace

Keeper::~Keeper() { done(); }

void Keeper::start() {
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot start the keeper of the TCP "
                     "connections",
                     errno);
  const char *nft = nft_program();
  pid_ = ::fork();
  if (pid_ == 0) {
    int channel = ends[1];
    ::syscall(SYS_close_range, 3, channel - 1, 0);
    ::syscall(SYS_close_range, channel + 1, ~0U, 0);
    keep(channel, nft);
  }
  ::close(ends[1]);
  channel_ = sdk::UniqueFd(ends[0]);
  if (pid_ < 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot start the keeper of the TCP "
                     "connections",
                     errno);
}

void Keeper::send(const std::string &what, int fd) {
  if (!pid_)
    start();
  iovec iov{const_cast<char *>(what.data()), what.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  if (::sendmsg(channel_.get(), &msg, MSG_NOSIGNAL) !=
      static_cast<ssize_t>(what.size()))
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot tell the keeper of the TCP "
                     "connections",
                     errno);
}

void Keeper::keep_socket(int fd) { send("F", fd); }

void Keeper::keep_held(const std::vector<Connection> &connections) {
  std::string script = let_go_script(connections);
  for (std::size_t at = 0; at < script.size(); at += message_size - 1)
    send("H" + script.substr(at, message_size - 1), -1);
}

void Keeper::done() {
  if (!pid_)
    return;
  if (channel_.get() >= 0)
    (void)::send(channel_.get(), "D", 1, MSG_NOSIGNAL);
  channel_ = sdk::UniqueFd();
  int status;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = 0;
}

} // namespace cpr::sockets
