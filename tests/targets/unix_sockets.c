/* unix_sockets: unix sockets with something in them while a checkpoint is
 * taken (issue 16). A parent and a child; the side that reads sleeps 2 s
 * first, so what was written sits queued. Output is deterministic.
 *
 *   unix_sockets pair      stream, datagram and seqpacket socketpairs with
 *                          bytes and messages queued both ways; the stream's
 *                          writer then shuts its side down (EOF after them);
 *                          then whether each end's peer (SO_PEERCRED) is
 *                          still of the process's own user
 *   unix_sockets listen    a listener bound to a relative path and one to an
 *                          abstract name; the child connects to each before
 *                          the parent accepts (connections waiting), then
 *                          they talk
 *   unix_sockets dgram     two named datagram sockets, unconnected: the child
 *                          sends to the parent's name, the parent answers to
 *                          each sender's name
 *   unix_sockets closed    the child writes, exits: the parent reads the
 *                          bytes, then EOF, then EPIPE on a write
 *   unix_sockets rights    fds in flight (SCM_RIGHTS): a file, a pipe's read
 *                          end and a socket with bytes queued in it, sent
 *                          to the child and closed by the parent; the child
 *                          uses each after its sleep
 *   unix_sockets client P  connects to the echo server at path P and pings
 *                          it 8 times, 250 ms apart (no child)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { SLEEP_MS = 2000 };

static void die(const char *what) {
  dprintf(2, "unix_sockets: %s: %s\n", what, strerror(errno));
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

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
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

/* Reads until EOF; prints how much and its hash. */
static void read_to_eof(const char *who, int fd) {
  unsigned char buf[65536];
  size_t total = 0;
  uint64_t h = 0xcbf29ce484222325ull;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      die("read");
    if (n == 0)
      break;
    h = fnv(h, buf, (size_t)n);
    total += (size_t)n;
  }
  printf("%s: %zu bytes then EOF, hash %016llx\n", who, total,
         (unsigned long long)h);
}

/* Reads `count` messages and prints each one's size and first byte. */
static void read_messages(const char *who, int fd, int count) {
  unsigned char buf[70000];
  for (int i = 0; i < count; ++i) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0)
      die("recv");
    printf("%s: message %d: %zd bytes, first %u\n", who, i, n, n ? buf[0] : 0u);
  }
}

static void send_messages(int fd, int count, int salt) {
  unsigned char buf[70000];
  for (int i = 0; i < count; ++i) {
    size_t n = (size_t)(i * 9973) % 60000;
    memset(buf, salt + i, n);
    if (send(fd, buf, n, 0) != (ssize_t)n)
      die("send");
  }
}

static void pair(void) {
  int st[2], dg[2], sp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) ||
      socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) ||
      socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp))
    die("socketpair");
  int bufsize = 1 << 20;
  setsockopt(st[0], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
  setsockopt(st[1], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
  pid_t child = fork();
  if (child < 0)
    die("fork");
  if (child == 0) {
    close(st[0]), close(dg[0]), close(sp[0]);
    write_all(st[1], 150000, 3);
    send_messages(dg[1], 5, 10);
    send_messages(sp[1], 4, 20);
    sleep_ms(SLEEP_MS);
    read_to_eof("child stream", st[1]);
    read_messages("child datagram", dg[1], 3);
    read_messages("child seqpacket", sp[1], 2);
    fflush(stdout);
    _exit(0);
  }
  close(st[1]), close(dg[1]), close(sp[1]);
  write_all(st[0], 70000, 5);
  shutdown(st[0], SHUT_WR);
  send_messages(dg[0], 3, 30);
  send_messages(sp[0], 2, 40);
  sleep_ms(SLEEP_MS);
  read_to_eof("parent stream", st[0]);
  read_messages("parent datagram", dg[0], 5);
  read_messages("parent seqpacket", sp[0], 4);
  fflush(stdout);
  int status;
  waitpid(child, &status, 0);
  printf("child exit %d\n", WEXITSTATUS(status));
  struct ucred peer;
  socklen_t pl = sizeof peer;
  if (getsockopt(sp[0], SOL_SOCKET, SO_PEERCRED, &peer, &pl))
    die("SO_PEERCRED");
  printf("peer is of my user: %d\n",
         peer.uid == geteuid() && peer.gid == getegid());
}

static socklen_t named(struct sockaddr_un *a, const char *name, int abstract) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  size_t n = strlen(name);
  memcpy(a->sun_path + (abstract ? 1 : 0), name, n);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

static void talk(const char *who, int fd, int rounds, int first) {
  char buf[64];
  for (int i = 0; i < rounds; ++i) {
    if ((i % 2 == 0) == first) {
      int n = snprintf(buf, sizeof buf, "%s says %d", who, i);
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

static void listen_mode(void) {
  char abstract[64];
  snprintf(abstract, sizeof abstract, "cpr-test-listen-%d", (int)getpid());
  struct sockaddr_un pa, aa;
  socklen_t pl = named(&pa, "listen.sock", 0);
  socklen_t al = named(&aa, abstract, 1);
  unlink("listen.sock");
  int lp = socket(AF_UNIX, SOCK_STREAM, 0),
      la = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  if (bind(lp, (struct sockaddr *)&pa, pl) ||
      bind(la, (struct sockaddr *)&aa, al))
    die("bind");
  if (listen(lp, 5) || listen(la, 3))
    die("listen");
  pid_t child = fork();
  if (child == 0) {
    int c1 = socket(AF_UNIX, SOCK_STREAM, 0),
        c2 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (connect(c1, (struct sockaddr *)&pa, pl) ||
        connect(c2, (struct sockaddr *)&aa, al))
      die("connect");
    talk("client path", c1, 4, 0);
    talk("client abstract", c2, 4, 0);
    fflush(stdout);
    _exit(0);
  }
  sleep_ms(SLEEP_MS);
  int s1 = accept(lp, NULL, NULL), s2 = accept(la, NULL, NULL);
  if (s1 < 0 || s2 < 0)
    die("accept");
  struct sockaddr_un me;
  socklen_t ml = sizeof me;
  getsockname(s1, (struct sockaddr *)&me, &ml);
  printf("accepted on %s\n", me.sun_path);
  talk("server path", s1, 4, 1);
  talk("server abstract", s2, 4, 1);
  fflush(stdout);
  int status;
  waitpid(child, &status, 0);
  printf("child exit %d\n", WEXITSTATUS(status));
  unlink("listen.sock");
}

static void dgram_mode(void) {
  struct sockaddr_un pa, ca;
  socklen_t pl = named(&pa, "server.sock", 0);
  char cname[64];
  snprintf(cname, sizeof cname, "cpr-test-dgram-%d", (int)getpid());
  socklen_t cl = named(&ca, cname, 1);
  unlink("server.sock");
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  if (bind(s, (struct sockaddr *)&pa, pl))
    die("bind");
  pid_t child = fork();
  if (child == 0) {
    int c = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (bind(c, (struct sockaddr *)&ca, cl))
      die("bind client");
    for (int i = 0; i < 3; ++i) {
      char msg[32];
      int n = snprintf(msg, sizeof msg, "question %d", i);
      if (sendto(c, msg, (size_t)n, 0, (struct sockaddr *)&pa, pl) != n)
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
  char said[3][128]; /* printed once the child is done: one writer at a time */
  for (int i = 0; i < 3; ++i) {
    char buf[64], answer[96];
    struct sockaddr_un from;
    socklen_t fl = sizeof from;
    ssize_t n =
        recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &fl);
    if (n < 0)
      die("recvfrom");
    buf[n] = 0;
    int is_child = fl > offsetof(struct sockaddr_un, sun_path) + 1 &&
                   from.sun_path[0] == 0 &&
                   strcmp(from.sun_path + 1, cname) == 0;
    snprintf(said[i], sizeof said[i], "parent got: %s from %s\n", buf,
             is_child ? "the child" : "elsewhere");
    int m = snprintf(answer, sizeof answer, "answer to %s", buf);
    if (sendto(s, answer, (size_t)m, 0, (struct sockaddr *)&from, fl) != m)
      die("sendto");
  }
  int status;
  waitpid(child, &status, 0);
  for (int i = 0; i < 3; ++i)
    fputs(said[i], stdout);
  printf("child exit %d\n", WEXITSTATUS(status));
  unlink("server.sock");
}

static void closed_mode(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
    die("socketpair");
  pid_t child = fork();
  if (child == 0) {
    close(sv[0]);
    write_all(sv[1], 40000, 9);
    _exit(0);
  }
  close(sv[1]);
  int status;
  waitpid(child, &status, 0);
  sleep_ms(SLEEP_MS);
  read_to_eof("parent", sv[0]);
  signal(SIGPIPE, SIG_IGN);
  errno = 0;
  ssize_t w = write(sv[0], "x", 1);
  printf("then write: %zd (%s)\n", w, w < 0 ? strerror(errno) : "ok");
}

static void send_fd(int via, const char *what, int fd) {
  char control[CMSG_SPACE(sizeof(int))] = {0};
  struct iovec iov = {(void *)what, strlen(what)};
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (sendmsg(via, &msg, 0) < 0)
    die("sendmsg");
}

static int recv_fd(int via, char *what, size_t size) {
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {what, size - 1};
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(via, &msg, 0);
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (n <= 0 || !c || c->cmsg_type != SCM_RIGHTS)
    die("recvmsg");
  what[n] = 0;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

static void rights_mode(void) {
  int s[2], p[2], x[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s) || pipe(p) ||
      socketpair(AF_UNIX, SOCK_STREAM, 0, x))
    die("socketpair");
  pid_t child = fork();
  if (child == 0) {
    /* What it gets, it gets in flight only. */
    close(s[0]), close(p[0]), close(p[1]), close(x[0]), close(x[1]);
    sleep_ms(SLEEP_MS);
    char what[32], buf[64];
    for (int i = 0; i < 3; ++i) {
      int fd = recv_fd(s[1], what, sizeof what);
      ssize_t n = !strcmp(what, "file") ? pread(fd, buf, sizeof buf - 1, 0)
                                        : read(fd, buf, sizeof buf - 1);
      if (n < 0)
        die("read");
      buf[n] = 0;
      printf("child got a %s: %s\n", what, buf);
      if (!strcmp(what, "socket") && write(fd, "reply", 5) != 5)
        die("write");
      close(fd);
    }
    fflush(stdout);
    _exit(0);
  }
  close(s[1]);
  int f = open("rights.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (f < 0 || write(f, "file content 123", 16) != 16 ||
      write(p[1], "pipe data", 9) != 9 ||
      write(x[0], "queued in flight", 16) != 16)
    die("write");
  send_fd(s[0], "file", f);
  send_fd(s[0], "pipe", p[0]);
  send_fd(s[0], "socket", x[1]);
  close(f), close(p[0]), close(x[1]);
  int status;
  waitpid(child, &status, 0);
  char buf[16] = {0};
  if (read(x[0], buf, sizeof buf - 1) < 0)
    die("read reply");
  printf("parent got back: %s\nchild exit %d\n", buf, WEXITSTATUS(status));
  unlink("rights.txt");
}

static void client_mode(const char *path) {
  struct sockaddr_un a;
  socklen_t l = named(&a, path, 0);
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  if (connect(c, (struct sockaddr *)&a, l))
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
  const char *mode = argc > 1 ? argv[1] : "pair";
  if (!strcmp(mode, "pair"))
    pair();
  else if (!strcmp(mode, "listen"))
    listen_mode();
  else if (!strcmp(mode, "dgram"))
    dgram_mode();
  else if (!strcmp(mode, "closed"))
    closed_mode();
  else if (!strcmp(mode, "rights"))
    rights_mode();
  else if (!strcmp(mode, "client") && argc > 2)
    client_mode(argv[2]);
  else
    return 2;
  return 0;
}
