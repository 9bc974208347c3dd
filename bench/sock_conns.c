/* sock_conns: benchmark target for checkpointing TCP connections.
 *
 *   sock_conns inset N        N loopback connections, both ends in this
 *                             process
 *   sock_conns outside N      N connections to a helper outside the set (a
 *                             double-forked echo process): the checkpoint
 *                             holds each one still with nftables
 *   sock_conns queued N KIB   N connections with KIB KiB written and not yet
 *                             read each way (both ends in this process)
 *
 * Prints "ready" once everything is set up, then waits for SIGUSR1 (a flag
 * check plus a short sleep, so it does not depend on how an interrupted call
 * resumes after a restart). It then reads and checks every queued byte,
 * sends one byte on every connection and reads its answer, prints "ok" and
 * exits 0, or "corrupt ..." and exits 3. Setup errors exit 2.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t go;

static void on_usr1(int sig) {
  (void)sig;
  go = 1;
}

static void die(const char *what) {
  fprintf(stderr, "sock_conns: %s: %s\n", what, strerror(errno));
  exit(2);
}

static unsigned char pattern(size_t i, int salt) {
  return (unsigned char)(i * 131 + (i >> 12) * 7 + salt);
}

static int listener(struct sockaddr_in *a) {
  socklen_t len = sizeof *a;
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  if (l < 0 || bind(l, (struct sockaddr *)a, len) || listen(l, 4096) ||
      getsockname(l, (struct sockaddr *)a, &len))
    die("listen");
  return l;
}

static void connect_pairs(int n, int *mine, int *theirs) {
  struct sockaddr_in a;
  int l = listener(&a);
  for (int i = 0; i < n; ++i) {
    mine[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (mine[i] < 0 || connect(mine[i], (struct sockaddr *)&a, sizeof a))
      die("connect");
    if (theirs && (theirs[i] = accept(l, NULL, NULL)) < 0)
      die("accept");
  }
  if (theirs)
    close(l);
}

/* The echo helper: answers every byte on every connection it accepted,
 * exits when all are closed. Double-forked: no child of the set. */
static void start_echo(int n, struct sockaddr_in *a) {
  int l = listener(a);
  pid_t p = fork();
  if (p < 0)
    die("fork");
  if (p > 0) {
    close(l);
    while (waitpid(p, NULL, 0) < 0 && errno == EINTR) {
    }
    return;
  }
  if (fork() != 0)
    _exit(0);
  int *c = calloc((size_t)n, sizeof *c);
  struct pollfd *fds = calloc((size_t)n, sizeof *fds);
  for (int i = 0; i < n; ++i)
    if ((c[i] = accept(l, NULL, NULL)) < 0)
      _exit(2);
  close(l);
  for (int open = n; open > 0;) {
    for (int i = 0; i < n; ++i)
      fds[i] = (struct pollfd){c[i], POLLIN, 0};
    if (poll(fds, (nfds_t)n, -1) < 0 && errno != EINTR)
      _exit(2);
    for (int i = 0; i < n; ++i) {
      if (!fds[i].revents || c[i] < 0)
        continue;
      char b[64];
      ssize_t r = read(c[i], b, sizeof b);
      if (r > 0 && write(c[i], b, (size_t)r) != r)
        _exit(2);
      if (r <= 0) {
        close(c[i]);
        c[i] = -1;
        --open;
      }
    }
  }
  _exit(0);
}

static void fill(int fd, size_t bytes, int salt) {
  unsigned char buf[65536];
  for (size_t done = 0; done < bytes;) {
    size_t len = bytes - done < sizeof buf ? bytes - done : sizeof buf;
    for (size_t i = 0; i < len; ++i)
      buf[i] = pattern(done + i, salt);
    ssize_t w = send(fd, buf, len, MSG_DONTWAIT);
    if (w < 0 && errno == EAGAIN) {
      fprintf(stderr, "sock_conns: only %zu bytes fit in a connection\n", done);
      exit(2);
    }
    if (w <= 0)
      die("write");
    done += (size_t)w;
  }
}

static int drain(int fd, size_t bytes, int salt) {
  unsigned char buf[65536];
  for (size_t done = 0; done < bytes;) {
    size_t len = bytes - done < sizeof buf ? bytes - done : sizeof buf;
    ssize_t r = read(fd, buf, len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return 0;
    for (ssize_t i = 0; i < r; ++i)
      if (buf[i] != pattern(done + (size_t)i, salt))
        return 0;
    done += (size_t)r;
  }
  return 1;
}

static int ping(int fd, int echo_fd) {
  char b = 'x', got = 0;
  if (write(fd, &b, 1) != 1)
    return 0;
  if (echo_fd >= 0 &&
      (read(echo_fd, &got, 1) != 1 || write(echo_fd, &got, 1) != 1))
    return 0;
  return read(fd, &got, 1) == 1 && got == b;
}

int main(int argc, char **argv) {
  if (argc < 3)
    return 2;
  const char *mode = argv[1];
  int n = atoi(argv[2]);
  size_t kib = argc > 3 ? (size_t)atoi(argv[3]) : 0;
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  signal(SIGUSR1, on_usr1);
  int *a = calloc((size_t)n, sizeof *a), *b = calloc((size_t)n, sizeof *b);
  int outside = !strcmp(mode, "outside");
  if (outside) {
    struct sockaddr_in at;
    start_echo(n, &at);
    for (int i = 0; i < n; ++i) {
      a[i] = socket(AF_INET, SOCK_STREAM, 0);
      if (a[i] < 0 || connect(a[i], (struct sockaddr *)&at, sizeof at))
        die("connect");
      b[i] = -1;
    }
  } else {
    connect_pairs(n, a, b);
  }
  for (int i = 0; i < n && kib; ++i) {
    fill(a[i], kib * 1024, i);
    fill(b[i], kib * 1024, i + 1);
  }
  printf("ready\n");
  fflush(stdout);
  while (!go) {
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
  for (int i = 0; i < n; ++i) {
    if (kib &&
        (!drain(b[i], kib * 1024, i) || !drain(a[i], kib * 1024, i + 1))) {
      printf("corrupt: connection %d lost queued bytes\n", i);
      return 3;
    }
    if (!ping(a[i], b[i])) {
      printf("corrupt: connection %d does not answer\n", i);
      return 3;
    }
  }
  printf("ok\n");
  return 0;
}
