/* pipe_data: bytes that sit in a pipe, or processes blocked on one, while a
 * checkpoint is taken (issue 5).
 *
 *   pipe_data small     50000 bytes in a pipe of default capacity, the write
 *                       end closed: the child reads them, then EOF
 *   pipe_data full      F_SETPIPE_SZ 1 MiB, filled completely, the write end
 *                       kept open by the parent
 *   pipe_data nonblock  both ends O_NONBLOCK, 30000 bytes; once they are
 *                       read, one more read must fail with EAGAIN
 *   pipe_data blocked   a writer child blocked in write() on a full pipe, a
 *                       reader child blocked in read() on an empty one; the
 *                       parent, after its sleep, carries the bytes across
 *
 * In the first three the parent writes at once and the child sleeps 2 s
 * before it reads; in "blocked" the parent sleeps 2 s. Everything printed is
 * deterministic: byte counts, an FNV-1a hash, capacities and flags.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { SLEEP_MS = 2000, CHUNK = 4096, BLOCKED_BYTES = 256 * 1024 };

static void die(const char *what) {
  dprintf(2, "pipe_data: %s: %s\n", what, strerror(errno));
  exit(2);
}

static unsigned char pattern(size_t i) {
  return (unsigned char)(i * 131 + (i >> 12) * 7 + 1);
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    if (errno != EINTR)
      die("nanosleep");
}

/* Writes bytes [from, from + n) of the pattern, CHUNK at a time. */
static void write_pattern(int fd, size_t from, size_t n) {
  unsigned char buf[CHUNK];
  for (size_t done = 0; done < n;) {
    size_t len = n - done < CHUNK ? n - done : CHUNK;
    for (size_t i = 0; i < len; ++i)
      buf[i] = pattern(from + done + i);
    ssize_t w = write(fd, buf, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      die("write");
    done += (size_t)w;
  }
}

struct got {
  size_t bytes;
  uint64_t hash;
  int mismatch; /* bytes that differ from the pattern */
};

/* Reads `want` bytes (0: until EOF); EAGAIN is an error unless want is 0. */
static struct got read_pattern(int fd, size_t want) {
  struct got g = {0, 0xcbf29ce484222325ull, 0};
  unsigned char buf[65536];
  while (want == 0 || g.bytes < want) {
    size_t len = sizeof buf;
    if (want && want - g.bytes < len)
      len = want - g.bytes;
    ssize_t r = read(fd, buf, len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      die("read");
    if (r == 0)
      break;
    for (ssize_t i = 0; i < r; ++i)
      g.mismatch += buf[i] != pattern(g.bytes + (size_t)i);
    g.hash = fnv(g.hash, buf, (size_t)r);
    g.bytes += (size_t)r;
  }
  return g;
}

static int queued(int fd) {
  int n = -1;
  if (ioctl(fd, FIONREAD, &n) != 0)
    die("FIONREAD");
  return n;
}

static int nonblocking(int fd) {
  return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
}

static void print_got(const char *who, int fd, int before, struct got g) {
  dprintf(1,
          "%s: %d bytes queued, capacity %d, nonblock %d; read %zu bytes, "
          "hash %016llx, %d wrong\n",
          who, before, fcntl(fd, F_GETPIPE_SZ), nonblocking(fd), g.bytes,
          (unsigned long long)g.hash, g.mismatch);
}

static pid_t fork_or_die(void) {
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  return pid;
}

static int wait_child(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      die("waitpid");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* small, full, nonblock: the child sleeps, then reads what the parent left. */
static int held(const char *mode) {
  int full = strcmp(mode, "full") == 0, nb = strcmp(mode, "nonblock") == 0;
  size_t n = full ? 1048576 : nb ? 30000 : 50000;
  int p[2];
  if (pipe2(p, nb ? O_NONBLOCK : 0) != 0)
    die("pipe2");
  if (full && fcntl(p[1], F_SETPIPE_SZ, 1048576) != 1048576)
    die("F_SETPIPE_SZ");
  pid_t child = fork_or_die();
  if (child == 0) {
    close(p[1]);
    sleep_ms(SLEEP_MS);
    int before = queued(p[0]);
    struct got g = read_pattern(p[0], strcmp(mode, "small") == 0 ? 0 : n);
    print_got("child", p[0], before, g);
    if (nb) {
      char c;
      ssize_t r = read(p[0], &c, 1);
      dprintf(1, "child: then %s\n",
              r < 0 && errno == EAGAIN ? "EAGAIN" : "no EAGAIN");
    }
    return g.mismatch != 0;
  }
  close(p[0]);
  write_pattern(p[1], 0, n);
  if (!full && !nb)
    close(p[1]);
  int status = wait_child(child);
  if (full || nb)
    dprintf(1, "parent: write end nonblock %d\n", nonblocking(p[1]));
  dprintf(1, "parent: child exited %d\n", status);
  return status;
}

/* writer -> full pipe -> parent (asleep) -> empty pipe -> reader */
static int blocked(void) {
  int full[2], empty[2];
  if (pipe(full) != 0 || pipe(empty) != 0)
    die("pipe");
  pid_t writer = fork_or_die();
  if (writer == 0) {
    close(full[0]), close(empty[0]), close(empty[1]);
    write_pattern(full[1], 0, BLOCKED_BYTES);
    return 0;
  }
  close(full[1]);
  pid_t reader = fork_or_die();
  if (reader == 0) {
    close(full[0]), close(empty[1]);
    struct got g = read_pattern(empty[0], 0);
    print_got("reader", empty[0], 0, g);
    return g.mismatch != 0;
  }
  close(empty[0]);
  sleep_ms(SLEEP_MS);
  unsigned char buf[65536];
  for (ssize_t r; (r = read(full[0], buf, sizeof buf)) != 0;) {
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 || write(empty[1], buf, (size_t)r) != r)
      die("forwarding");
  }
  close(empty[1]);
  int w = wait_child(writer), r = wait_child(reader);
  dprintf(1, "parent: writer exited %d, reader exited %d\n", w, r);
  return w || r;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "small";
  if (strcmp(mode, "blocked") == 0)
    return blocked();
  if (strcmp(mode, "small") && strcmp(mode, "full") &&
      strcmp(mode, "nonblock")) {
    dprintf(2, "usage: pipe_data small|full|nonblock|blocked\n");
    return 2;
  }
  return held(mode);
}
