/* pty_hold MODE BYTES: a parent and its child talking over a pty of the
 * parent's (MODE pty; the child leads a session on the slave, in raw mode)
 * or over two pipes (MODE pipes), each leaving BYTES the other has not read
 * yet. Prints "ready" once both backlogs are in place, then waits. On
 * SIGUSR1 each reads and checks what the other left; the parent prints
 * "ok", or "corrupt" and what differs. Used by bench/terminals.sh and the
 * pty tests. */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t go;
static void on_usr1(int sig) {
  (void)sig;
  go = 1;
}

static char byte_at(char who, size_t i) {
  return (char)('a' + (i * 7 + (size_t)who) % 26);
}

static void write_backlog(int fd, char who, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char c = byte_at(who, i);
    if (write(fd, &c, 1) != 1)
      exit(4);
  }
}

/* 0 if the next n bytes of fd are who's backlog. */
static int check_backlog(int fd, char who, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char c;
    if (read(fd, &c, 1) != 1 || c != byte_at(who, i))
      return 1;
  }
  return 0;
}

static void wait_for_go(void) {
  sigset_t none;
  sigemptyset(&none);
  while (!go)
    sigsuspend(&none);
}

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  int pty = strcmp(argv[1], "pty") == 0;
  size_t n = (size_t)atol(argv[2]);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, NULL);
  signal(SIGUSR1, on_usr1);
  int to_child[2], to_parent[2], master = -1;
  char name[64] = "";
  if (pty) {
    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) || unlockpt(master))
      return 1;
    snprintf(name, sizeof name, "%s", ptsname(master));
    struct termios t;
    tcgetattr(master, &t);
    cfmakeraw(&t);
    tcsetattr(master, TCSANOW, &t);
    to_child[1] = to_parent[0] = master;
  } else if (pipe(to_child) || pipe(to_parent)) {
    return 1;
  }
  pid_t child = fork();
  if (child == 0) {
    int in = to_child[0], out = to_parent[1];
    if (pty) {
      setsid();
      in = out = open(name, O_RDWR);
      close(master);
    }
    write_backlog(out, 'c', n);
    wait_for_go();
    exit(check_backlog(in, 'p', n) ? 3 : 0);
  }
  write_backlog(to_child[1], 'p', n);
  /* A line discipline holds 4095 bytes; the rest waits behind it. */
  size_t full = n < 4095 ? n : 4095;
  int waiting = 0;
  while (pty && ioctl(master, FIONREAD, &waiting) == 0 &&
         (size_t)waiting < full)
    usleep(1000);
  if (n > full)
    usleep(100000);
  printf("ready\n");
  fflush(stdout);
  wait_for_go();
  int bad = check_backlog(to_parent[0], 'c', n);
  int status = 0;
  waitpid(child, &status, 0);
  if (bad || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    printf("corrupt: parent's read %s, child %d\n", bad ? "differs" : "ok",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  else
    printf("ok\n");
  return 0;
}
