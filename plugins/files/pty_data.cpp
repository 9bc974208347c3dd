#include "pty_data.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

namespace cpr::files {
namespace {

termios modes_of(int fd) {
  termios t{};
  if (::tcgetattr(fd, &t) != 0)
    sdk::throw_errno("cannot read the modes of a pty", errno);
  return t;
}

void set_modes(int fd, const termios &t) {
  if (::tcsetattr(fd, TCSANOW, &t) != 0)
    sdk::throw_errno("cannot set the modes of a pty", errno);
}

sdk::UniqueFd peer_of(int master) {
  sdk::UniqueFd slave(
      ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (slave.get() < 0)
    sdk::throw_errno("cannot open the slave of a pty", errno);
  return slave;
}

// A full pty makes room as its line discipline takes bytes in, from a
// work queue: a write that finds no room waits for it (2 s at most).
void write_all(int fd, const std::string &bytes) {
  int waits = 0;
  for (size_t done = 0; done < bytes.size();) {
    // In small pieces: the line discipline takes each in as it comes,
    // where one big write would fill the flip buffers first.
    ssize_t n = ::write(fd, bytes.data() + done,
                        std::min<size_t>(bytes.size() - done, 256));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN && waits++ < 20) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
      continue;
    }
    if (n <= 0)
      sdk::throw_errno("cannot put the bytes of a pty back (" +
                           std::to_string(done) + " of " +
                           std::to_string(bytes.size()) + ")",
                       errno);
    done += static_cast<size_t>(n);
  }
}

int queued(int fd) {
  int n = 0;
  return ::ioctl(fd, FIONREAD, &n) == 0 ? n : 0;
}

// A line discipline holds this much; more waits in the tty's flip buffers.
constexpr size_t line_discipline_size = 4095;

// The flip buffers reach the line discipline from a work queue as it is
// read: once it was found full, what comes within a moment counts too.
int queued_soon(int fd, std::size_t taken) {
  if (int n = queued(fd); n > 0 || taken < line_discipline_size)
    return n;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 20) > 0 ? queued(fd) : 0;
}

// What the slave wrote and the master has not read, read through the
// process's own open file of the master (non-blocking for the while: see
// NonBlocking). In packet mode each read starts with a status byte.
std::string take_output(int master, bool packet) {
  std::string out;
  for (int n; (n = queued_soon(master, out.size())) > 0;) {
    std::string chunk(static_cast<size_t>(n) + 1, '\0');
    ssize_t got = ::read(master, chunk.data(), chunk.size());
    if (got <= (packet ? 1 : 0))
      break;
    out.append(chunk.data() + (packet ? 1 : 0),
               static_cast<size_t>(got) - (packet ? 1 : 0));
  }
  return out;
}

// Into the slave again, without output processing: it was done.
void give_output(int slave, const std::string &bytes) {
  if (bytes.empty())
    return;
  termios modes = modes_of(slave), raw = modes;
  raw.c_oflag &= ~static_cast<tcflag_t>(OPOST);
  set_modes(slave, raw);
  write_all(slave, bytes);
  set_modes(slave, modes);
}

// What was typed and the slave has not read, the line being edited too:
// out of canonical mode, every byte can be read.
std::string take_input(int slave) {
  termios now = modes_of(slave);
  now.c_lflag &= ~static_cast<tcflag_t>(ICANON);
  now.c_cc[VMIN] = 0;
  now.c_cc[VTIME] = 0;
  set_modes(slave, now);
  std::string in;
  char buf[4096];
  while (queued_soon(slave, in.size()) > 0) {
    ssize_t n = ::read(slave, buf, sizeof buf);
    if (n <= 0)
      break;
    in.append(buf, static_cast<size_t>(n));
  }
  return in;
}

// Typed again, with nothing echoed or interpreted, then the slave's modes
// as `modes`. Back in canonical mode the bytes are readable at once, a
// line being edited included.
void give_input(int master, int slave, const std::string &bytes,
                const termios &modes) {
  if (!bytes.empty()) {
    termios quiet = modes;
    quiet.c_lflag &=
        ~static_cast<tcflag_t>(ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL |
                               ECHOKE | ICANON | ISIG | IEXTEN);
    quiet.c_iflag &=
        ~static_cast<tcflag_t>(ICRNL | INLCR | IGNCR | IXON | ISTRIP);
    set_modes(slave, quiet);
    write_all(master, bytes);
    // The line discipline takes typed bytes in from a work queue (and no
    // more than it holds: the rest waits in the flip buffers, in order).
    auto expected =
        static_cast<int>(std::min(bytes.size(), line_discipline_size));
    for (int i = 0; i < 1000 && queued(slave) < expected; ++i)
      ::usleep(1000);
  }
  set_modes(slave, modes);
}

// The master's open file does not block while bytes go back through it:
// nothing reads the other side meanwhile (the set is frozen, or not yet
// running), and a full pty must fail rather than wait for ever. At
// checkpoint it is the process's own open file, frozen with it: its flags
// are as they were before it runs again.
class NonBlocking {
public:
  explicit NonBlocking(int fd) : fd_(fd), flags_(::fcntl(fd, F_GETFL)) {
    if (flags_ >= 0)
      ::fcntl(fd_, F_SETFL, flags_ | O_NONBLOCK);
  }
  ~NonBlocking() {
    if (flags_ >= 0)
      ::fcntl(fd_, F_SETFL, flags_);
  }
  NonBlocking(const NonBlocking &) = delete;
  NonBlocking &operator=(const NonBlocking &) = delete;

private:
  int fd_, flags_;
};

template <class T> std::string bytes_of(const T &v) {
  return std::string(reinterpret_cast<const char *>(&v), sizeof v);
}

template <class T> bool from_bytes(const std::string &b, T &v) {
  if (b.size() != sizeof v)
    return false;
  std::memcpy(&v, b.data(), sizeof v);
  return true;
}

} // namespace

void save_pty_state(int master, PtyMaster &rec) {
  int value = 0;
  if (::ioctl(master, TIOCGPTN, &rec.index) != 0)
    sdk::throw_errno(sdk::Code::checkpoint_error,
                     "Checkpoint error: cannot read the index of a pty", errno);
  rec.locked = ::ioctl(master, TIOCGPTLCK, &value) == 0 && value;
  rec.packet = ::ioctl(master, TIOCGPKT, &value) == 0 && value;
  termios modes = modes_of(master);
  rec.termios = bytes_of(modes);
  winsize size{};
  if (::ioctl(master, TIOCGWINSZ, &size) == 0)
    rec.winsize = bytes_of(size);
  if (rec.locked)
    return; // no slave was ever opened: nothing went through it
  NonBlocking quick(master);
  rec.to_master = take_output(master, rec.packet);
  sdk::UniqueFd slave = peer_of(master);
  rec.to_slave = take_input(slave.get());
  give_output(slave.get(), rec.to_master);
  give_input(master, slave.get(), rec.to_slave, modes);
}

void restore_pty_state(int master, const PtyMaster &rec) {
  winsize size{};
  if (from_bytes(rec.winsize, size))
    ::ioctl(master, TIOCSWINSZ, &size);
  termios modes{};
  if (!from_bytes(rec.termios, modes))
    modes = modes_of(master);
  NonBlocking quick(master);
  sdk::UniqueFd slave = peer_of(master);
  set_modes(slave.get(), modes);
  give_output(slave.get(), rec.to_master);
  give_input(master, slave.get(), rec.to_slave, modes);
  int one = 1;
  if (rec.packet)
    ::ioctl(master, TIOCPKT, &one);
  if (rec.locked)
    ::ioctl(master, TIOCSPTLCK, &one);
}

} // namespace cpr::files
