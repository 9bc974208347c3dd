/* pty_session: a session on a pty of the program's own, with more than its
 * leader: the parent holds the master; its child leads a session on the
 * slave and starts a worker (a grandchild, in the leader's group) and a
 * background job (another group of the session). After ~2 s each opens
 * /dev/tty and says through a pipe whether it could; then the parent hangs
 * the pty up (closes the master), and each says through the pipe which
 * signal reached it: every process of the session must still have the pty
 * as its controlling terminal. The parent prints what the pipe brings. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int report = -1;
static const char *who = "?";

static void sleep_ms(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

static void say(const char *what) {
  char line[128];
  int n = snprintf(line, sizeof line, "%s: %s\n", who, what);
  if (write(report, line, (size_t)n) != n)
    _exit(3);
}

static void on_hangup(int sig) {
  say(sig == SIGHUP ? "SIGHUP" : "SIGCONT");
  if (sig == SIGHUP)
    _exit(0);
}

/* Works ~2 s (plus `later` naps), checks its terminal, then waits for the
 * hangup, or (`leave`) exits. */
static void member(const char *name, int later, int leave) {
  who = name;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_hangup;
  sigaction(SIGHUP, &sa, NULL);
  for (int i = 0; i < 40 + later; ++i)
    sleep_ms(50);
  int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
  say(tty >= 0 ? "/dev/tty opens" : strerror(errno));
  if (leave)
    _exit(0);
  for (;;)
    pause();
}

static pid_t start(const char *name, int later, int own_group) {
  pid_t pid = fork();
  if (pid == 0) {
    if (own_group)
      setpgid(0, 0);
    member(name, later, own_group);
  }
  return pid;
}

static int by_text(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
  int pipefd[2];
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (pipe(pipefd) != 0 || master < 0 || grantpt(master) != 0 ||
      unlockpt(master) != 0)
    return 1;
  report = pipefd[1];
  char slave_name[64];
  snprintf(slave_name, sizeof slave_name, "%s", ptsname(master));
  if (fork() == 0) {
    close(pipefd[0]);
    close(master);
    setsid();
    int slave = open(slave_name, O_RDWR); /* the controlling terminal */
    if (slave < 0)
      _exit(2);
    start("worker", 0, 0);
    start("background job", 2, 1); /* the hangup signals only the others */
    member("leader", 4, 0);
  }
  close(pipefd[1]);
  FILE *in = fdopen(pipefd[0], "r");
  char line[128];
  char *after[8];
  int lines = 0, signalled = 0;
  while (fgets(line, sizeof line, in)) {
    if (lines++ < 3) {
      printf("%s", line);
      fflush(stdout);
    } else if (signalled < 8) { /* in whatever order the signals came */
      after[signalled++] = strdup(line);
    }
    if (lines == 3)
      close(master); /* all three have checked: hang up */
  }
  qsort(after, (size_t)signalled, sizeof after[0], by_text);
  for (int i = 0; i < signalled; ++i)
    printf("%s", after[i]);
  while (wait(NULL) > 0) {
  }
  return 0;
}
