/* inet_sockets: TCP and UDP sockets with something in them while a
 * checkpoint is taken (issue 16). The side that reads sleeps 2 s first, so
 * what was written sits queued. Output is deterministic.
 *
 *   inet_sockets tcp FAMILY    a listener on the loopback (4: 127.0.0.1,
 *                              6: ::1) and a child connected to it; each
 *                              writes to the other (200000 and 100000
 *                              bytes, queued), then they ping-pong; the
 *                              listener stays open, idle
 *   inet_sockets udp FAMILY    a bound UDP socket and a child's: the child's
 *                              datagrams wait queued, the parent answers
 *                              each to its source
 *   inet_sockets half FAMILY   the child writes 50000 bytes and shuts its
 *                              side down (FIN_WAIT2), the parent has them
 *                              unread with the FIN (CLOSE_WAIT); after its
 *                              sleep it reads them, answers and closes
 *   inet_sockets connecting PORT  a non-blocking connect() to
 *                              127.0.0.1:PORT, whose listener takes no one
 *                              yet (SYN_SENT); once connected, says "hi"
 *   inet_sockets reuseport PORT  a UDP socket on 127.0.0.1:PORT with
 *                              SO_REUSEPORT, a port others share; after
 *                              1.5 s says so
 *   inet_sockets client PORT   connects to 127.0.0.1:PORT (an echo server)
 *                              and pings it 8 times, 250 ms apart
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { SLEEP_MS = 2000 };

static void die(const char *what) {
  dprintf(2, "inet_sockets: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    if (errno != EINTR)
      die("nanosleep");
}

static unsigned char pattern(size_t i, int salt) {
  return (unsigned char)(i * 131 + (i >> 12) * 7 + salt);
}

static void write_all(int fd, size_t n, int salt) {
  unsigned char buf[4096];
  for (size_t done = 0; done < n;) {
    size_t len = n - done < sizeof buf ? n - done : sizeof buf;
    for (size_t i = 0; i < len; ++i)
      buf[i] = pattern(done + i, salt);
    ssize_t w = write(fd, buf, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      die("write");
    done += (size_t)w;
  }
}

/* Reads exactly n bytes; says how many differ from the pattern. */
static void read_exactly(char *said, size_t size, const char *who, int fd,
                         size_t n, int salt) {
  unsigned char buf[65536];
  size_t done = 0, wrong = 0;
  while (done < n) {
    size_t want = n - done < sizeof buf ? n - done : sizeof buf;
    ssize_t r = read(fd, buf, want);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      die("read");
    for (ssize_t i = 0; i < r; ++i)
      wrong += buf[i] != pattern(done + (size_t)i, salt);
    done += (size_t)r;
  }
  snprintf(said, size, "%s: read %zu bytes, %zu wrong\n", who, done, wrong);
}

static socklen_t loopback(int family, struct sockaddr_storage *sa, int port) {
  memset(sa, 0, sizeof *sa);
  if (family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    a->sin6_port = htons((uint16_t)port);
    return sizeof *a;
  }
  struct sockaddr_in *a = (struct sockaddr_in *)sa;
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a->sin_port = htons((uint16_t)port);
  return sizeof *a;
}

static void pingpong(const char *who, int fd, int first) {
  char buf[64];
  for (int i = 0; i < 6; ++i) {
    if ((i % 2 == 0) == first) {
      int n = snprintf(buf, sizeof buf, "%s %d", who, i);
      if (write(fd, buf, (size_t)n) != n)
        die("write");
    } else {
      ssize_t n = read(fd, buf, sizeof buf - 1);
      if (n <= 0)
        die("read");
      buf[n] = 0;
      printf("%s heard: %s\n", who, buf);
    }
  }
}

static void tcp_mode(int family) {
  struct sockaddr_storage sa;
  socklen_t len = loopback(family, &sa, 0);
  int l = socket(family, SOCK_STREAM, 0), one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(l, (struct sockaddr *)&sa, len) || listen(l, 4))
    die("listen");
  getsockname(l, (struct sockaddr *)&sa, &len);
  pid_t child = fork();
  if (child == 0) {
    int c = socket(family, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&sa, len))
      die("connect");
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    write_all(c, 200000, 3);
    sleep_ms(SLEEP_MS);
    char said[96];
    read_exactly(said, sizeof said, "child", c, 100000, 5);
    fputs(said, stdout);
    pingpong("child", c, 0);
    fflush(stdout);
    _exit(0);
  }
  int s = accept(l, NULL, NULL);
  if (s < 0)
    die("accept");
  write_all(s, 100000, 5);
  sleep_ms(SLEEP_MS);
  int status;
  char said[96]; /* printed once the child is done: one writer at a time */
  read_exactly(said, sizeof said, "parent", s, 200000, 3);
  pingpong("parent", s, 1);
  waitpid(child, &status, 0);
  fputs(said, stdout);
  printf("child exit %d, listener still listening %d\n", WEXITSTATUS(status),
         listen(l, 4) == 0);
}

static void udp_mode(int family) {
  struct sockaddr_storage sa, ca;
  socklen_t len = loopback(family, &sa, 0), clen;
  int s = socket(family, SOCK_DGRAM, 0);
  if (bind(s, (struct sockaddr *)&sa, len))
    die("bind");
  getsockname(s, (struct sockaddr *)&sa, &len);
  pid_t child = fork();
  if (child == 0) {
    int c = socket(family, SOCK_DGRAM, 0);
    clen = loopback(family, &ca, 0);
    if (bind(c, (struct sockaddr *)&ca, clen))
      die("bind child");
    for (int i = 0; i < 3; ++i) {
      char msg[32];
      int n = snprintf(msg, sizeof msg, "question %d", i);
      if (sendto(c, msg, (size_t)n, 0, (struct sockaddr *)&sa, len) != n)
        die("sendto");
    }
    for (int i = 0; i < 3; ++i) {
      char buf[64];
      ssize_t n = recv(c, buf, sizeof buf - 1, 0);
      if (n < 0)
        die("recv");
      buf[n] = 0;
      printf("child got: %s\n", buf);
    }
    fflush(stdout);
    _exit(0);
  }
  sleep_ms(SLEEP_MS);
  char said[3][96];
  for (int i = 0; i < 3; ++i) {
    char buf[64], answer[96];
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    ssize_t n =
        recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &fl);
    if (n < 0)
      die("recvfrom");
    buf[n] = 0;
    snprintf(said[i], sizeof said[i], "parent got: %s\n", buf);
    int m = snprintf(answer, sizeof answer, "answer to %s", buf);
    if (sendto(s, answer, (size_t)m, 0, (struct sockaddr *)&from, fl) != m)
      die("sendto");
  }
  int status;
  waitpid(child, &status, 0);
  for (int i = 0; i < 3; ++i)
    fputs(said[i], stdout);
  printf("child exit %d\n", WEXITSTATUS(status));
}

static void half_mode(int family) {
  struct sockaddr_storage sa;
  socklen_t len = loopback(family, &sa, 0);
  int l = socket(family, SOCK_STREAM, 0);
  if (bind(l, (struct sockaddr *)&sa, len) || listen(l, 4))
    die("listen");
  getsockname(l, (struct sockaddr *)&sa, &len);
  pid_t child = fork();
  if (child == 0) {
    int c = socket(family, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&sa, len))
      die("connect");
    write_all(c, 50000, 7);
    shutdown(c, SHUT_WR);
    char buf[64];
    ssize_t got = 0, n;
    while ((n = read(c, buf + got, sizeof buf - 1 - (size_t)got)) > 0)
      got += n;
    if (n < 0)
      die("read");
    buf[got] = 0;
    printf("child heard: %s, then EOF\n", buf);
    fflush(stdout);
    _exit(0);
  }
  int s = accept(l, NULL, NULL);
  if (s < 0)
    die("accept");
  close(l);
  sleep_ms(SLEEP_MS);
  char said[96], extra;
  read_exactly(said, sizeof said, "parent", s, 50000, 7);
  ssize_t eof = read(s, &extra, 1);
  char answer[64];
  int m = snprintf(answer, sizeof answer, "bye after 50000 (eof %zd)", eof);
  if (write(s, answer, (size_t)m) != m)
    die("write");
  close(s);
  int status;
  waitpid(child, &status, 0);
  fputs(said, stdout);
  printf("child exit %d\n", WEXITSTATUS(status));
}

static void connecting_mode(int port) {
  struct sockaddr_storage sa;
  socklen_t len = loopback(AF_INET, &sa, port);
  int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (connect(c, (struct sockaddr *)&sa, len) == 0 || errno != EINPROGRESS)
    die("connect");
  struct pollfd p = {c, POLLOUT, 0};
  while (poll(&p, 1, -1) < 0)
    if (errno != EINTR)
      die("poll");
  int err = 0;
  socklen_t el = sizeof err;
  getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
  if (err) {
    errno = err;
    die("connected");
  }
  int flags = fcntl(c, F_GETFL);
  fcntl(c, F_SETFL, flags & ~O_NONBLOCK);
  char buf[8] = {0};
  if (write(c, "hi", 2) != 2 || read(c, buf, 2) != 2)
    die("echo");
  printf("connected and echoed: %s\n", buf);
}

static void reuseport_mode(int port) {
  struct sockaddr_storage sa;
  socklen_t len = loopback(AF_INET, &sa, port);
  int s = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(s, (struct sockaddr *)&sa, len))
    die("bind");
  sleep_ms(1500);
  int on = 0;
  socklen_t ol = sizeof on;
  getsockopt(s, SOL_SOCKET, SO_REUSEPORT, &on, &ol);
  printf("bound, reuseport %d\n", on);
}

static void client_mode(int port) {
  struct sockaddr_storage sa;
  socklen_t len = loopback(AF_INET, &sa, port);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(c, (struct sockaddr *)&sa, len))
    die("connect");
  for (int i = 0; i < 8; ++i) {
    char msg[32], buf[64];
    sleep_ms(250);
    int n = snprintf(msg, sizeof msg, "ping %d\n", i);
    if (write(c, msg, (size_t)n) != n)
      die("write");
    ssize_t got = 0;
    while (got < n) {
      ssize_t r = read(c, buf + got, sizeof buf - 1 - (size_t)got);
      if (r <= 0)
        die("read");
      got += r;
    }
    buf[got] = 0;
    printf("echoed: %s", buf);
  }
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *mode = argc > 1 ? argv[1] : "tcp";
  int arg = argc > 2 ? atoi(argv[2]) : 4;
  int family = arg == 6 ? AF_INET6 : AF_INET;
  if (!strcmp(mode, "tcp"))
    tcp_mode(family);
  else if (!strcmp(mode, "half"))
    half_mode(family);
  else if (!strcmp(mode, "udp"))
    udp_mode(family);
  else if (!strcmp(mode, "connecting"))
    connecting_mode(arg);
  else if (!strcmp(mode, "reuseport"))
    reuseport_mode(arg);
  else if (!strcmp(mode, "client"))
    client_mode(arg);
  else
    return 2;
  return 0;
}
