/* pipe_chain: benchmark target for checkpointing pipes.
 *
 *   pipe_chain [processes] [pipe_kib]
 *
 * A pipeline of <processes> (default 4): the root and <processes>-1 children,
 * process i writing into pipe i, which process i+1 reads.  Every pipe is made
 * <pipe_kib> KiB big (F_SETPIPE_SZ, default 1024) and filled completely with
 * a pseudo-random pattern of its own; nobody reads yet.  Once every pipe is
 * full the root prints "ready".
 *
 * Then every process waits for SIGUSR1 (a flag check plus a short sleep, so
 * it does not depend on how an interrupted system call is resumed after a
 * restart).  SIGUSR1 must be sent to every process.  Each reader then checks
 * that its pipe still holds exactly <pipe_kib> KiB, that it is still that big,
 * and reads and checks the pattern; it exits 0, or 3 if anything differs
 * (details on stderr).  The root waits for all its children and prints "ok"
 * and exits 0 if every check passed, or "corrupt" and exits 3.  Usage and
 * setup errors exit 2.  A child whose parent is no longer the root (the root
 * was killed and the child reparented) exits 1 on its own.
 *
 * Its only fds besides the pipes are the ones it was started with (stdin
 * /dev/null, stdout/stderr files), so all of it is a valid cpr target.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_PROCESSES = 64 };

static volatile sig_atomic_t go;
static pid_t root;

static void on_usr1(int sig) {
  (void)sig;
  go = 1;
}

static void die(const char *what) {
  fprintf(stderr, "pipe_chain: %s: %s\n", what, strerror(errno));
  exit(2);
}

/* Byte i of pipe `which`: xorshift64 words, a different seed per pipe. */
static void fill(unsigned char *buf, size_t n, int which) {
  uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(which + 1);
  for (size_t i = 0; i < n; i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    memcpy(buf + i, &x, n - i < 8 ? n - i : 8);
  }
}

static void wait_for_usr1(void) {
  struct timespec tick = {0, 10 * 1000 * 1000};
  while (!go) {
    if (getpid() != root && getppid() != root)
      exit(1);
    nanosleep(&tick, NULL);
  }
}

static void write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      die("write");
    p += w, n -= (size_t)w;
  }
}

/* Process i's check of pipe i-1: 0 ok, 3 corrupt. */
static int check_pipe(int fd, int which, size_t bytes) {
  int queued = -1, size = fcntl(fd, F_GETPIPE_SZ);
  ioctl(fd, FIONREAD, &queued);
  if (queued != (int)bytes || size != (int)bytes) {
    fprintf(stderr,
            "pipe_chain: pipe %d holds %d bytes, capacity %d, "
            "expected %zu and %zu\n",
            which, queued, size, bytes, bytes);
    return 3;
  }
  unsigned char *want = malloc(bytes), *got = malloc(bytes);
  if (!want || !got)
    die("malloc");
  fill(want, bytes, which);
  for (size_t done = 0; done < bytes;) {
    ssize_t r = read(fd, got + done, bytes - done);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      die("read");
    done += (size_t)r;
  }
  int ok = memcmp(want, got, bytes) == 0;
  if (!ok)
    fprintf(stderr, "pipe_chain: pipe %d: wrong bytes\n", which);
  free(want), free(got);
  return ok ? 0 : 3;
}

static void fill_pipe(int fd, int which, size_t bytes) {
  unsigned char *buf = malloc(bytes);
  if (!buf)
    die("malloc");
  fill(buf, bytes, which);
  write_all(fd, buf, bytes);
  free(buf);
}

/* Process i: fills pipe i (if it has one), says so on `ready`, waits,
 * checks pipe i-1 (if it reads one). */
static int stage(int i, int in, int out, int ready, size_t bytes) {
  if (out >= 0)
    fill_pipe(out, i, bytes);
  if (write(ready, "r", 1) != 1)
    die("write ready");
  close(ready);
  wait_for_usr1();
  return in >= 0 ? check_pipe(in, i - 1, bytes) : 0;
}

static int collect(int children) {
  int worst = 0;
  for (int i = 0; i < children; ++i) {
    int status = 0;
    if (wait(&status) < 0)
      die("wait");
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    if (code > worst)
      worst = code;
  }
  return worst;
}

/* Forks processes 1..n-1; returns which one this is (0: the root). */
static int fork_stages(int n) {
  for (int i = 1; i < n; ++i) {
    pid_t pid = fork();
    if (pid < 0)
      die("fork");
    if (pid == 0)
      return i;
  }
  return 0;
}

/* The root: once every child has filled its pipe, fills pipe 0. */
static int root_stage(int n, int out, int ready[2], size_t bytes) {
  char c;
  close(ready[1]);
  for (int got = 0; got < n - 1;) {
    ssize_t r = read(ready[0], &c, 1);
    if (r == 0) {
      fprintf(stderr, "pipe_chain: a child exited before it was ready\n");
      exit(2);
    }
    if (r == 1)
      ++got;
    else if (errno != EINTR)
      die("read ready");
  }
  close(ready[0]);
  fill_pipe(out, 0, bytes);
  printf("ready\n");
  fflush(stdout);
  wait_for_usr1();
  int worst = collect(n - 1);
  printf(worst == 0 ? "ok\n" : "corrupt\n");
  return worst == 0 ? 0 : 3;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 4;
  long kib = argc > 2 ? atol(argv[2]) : 1024;
  if (n < 2 || n > MAX_PROCESSES || kib < 4 || kib % 4) {
    fprintf(stderr, "usage: pipe_chain [processes 2..%d] [pipe_kib, 4k]\n",
            MAX_PROCESSES);
    return 2;
  }
  size_t bytes = (size_t)kib * 1024;
  root = getpid();
  struct sigaction sa = {.sa_handler = on_usr1};
  if (sigaction(SIGUSR1, &sa, NULL) != 0)
    die("sigaction");
  int pipes[MAX_PROCESSES][2], ready[2];
  if (pipe(ready) != 0)
    die("pipe");
  for (int i = 0; i + 1 < n; ++i) {
    if (pipe(pipes[i]) != 0)
      die("pipe");
    if (fcntl(pipes[i][1], F_SETPIPE_SZ, (int)bytes) != (int)bytes)
      die("F_SETPIPE_SZ (see /proc/sys/fs/pipe-max-size)");
  }
  int mine = fork_stages(n);
  /* Keep only pipe mine-1's read end and pipe mine's write end. */
  for (int i = 0; i + 1 < n; ++i) {
    if (i != mine - 1)
      close(pipes[i][0]);
    if (i != mine)
      close(pipes[i][1]);
  }
  int in = mine > 0 ? pipes[mine - 1][0] : -1;
  int out = mine + 1 < n ? pipes[mine][1] : -1;
  if (mine == 0)
    return root_stage(n, out, ready, bytes);
  close(ready[0]);
  return stage(mine, in, out, ready[1], bytes);
}
