/* legacy_state: the three kinds of state older cpr releases kept in the
 * engine's own records (statefile class versions before plugins took them
 * over), for the legacy-records fixture (tests/fixtures/make-legacy.sh).
 * Statically linked, so that the statefile carries all of its program.
 *
 * The parent takes an IPC namespace of its own with a System V semaphore
 * in it, arms an interval timer (ITIMER_REAL, every 20 ms) and a POSIX
 * timer (SIGUSR1, every 30 ms), opens a pty and forks a child that leads a
 * session on the pty's slave (its controlling terminal, its group in the
 * foreground). Then it counts for ~3 s, a line every 50 ms, adding 1 to the
 * semaphore each time. Near the end it checks that both timers still fire;
 * then it lets the child check its terminal and the semaphore, reads what
 * the child wrote on its terminal from the master, and prints what each
 * found as yes/no lines and counts that do not depend on timing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define SEM_KEY 0x4c454731 /* in a namespace of its own: no other run's */
#define SEM_START 1000
#define STEPS 60
#define SNAPSHOT 45 /* well after the fixture's checkpoint (~1 s in) */
#define MIN_TICKS 5 /* of ~35 (itimer) and ~23 (POSIX timer) expected */

static volatile sig_atomic_t itimer_ticks, posix_ticks;

static void on_alarm(int sig) {
  (void)sig;
  ++itimer_ticks;
}

static void on_posix_timer(int sig) {
  (void)sig;
  ++posix_ticks;
}

static void sleep_ms(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

static void fail(const char *what) {
  fprintf(stderr, "legacy_state: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int sem_value(int id) { return semctl(id, 0, GETVAL); }

static const char *yes_no(int b) { return b ? "yes" : "no"; }

static ino_t ipc_namespace(void) {
  struct stat st;
  return stat("/proc/self/ns/ipc", &st) == 0 ? st.st_ino : 0;
}

static void say(int fd, const char *line) {
  size_t n = strlen(line);
  if (write(fd, line, n) != (ssize_t)n)
    _exit(3);
}

/* The child: leads a session on the slave, then waits for the word to
 * check it (a byte on `go`), writes on its terminal, reports on `report`
 * and waits for `go` to close: the master is read while the slave is open. */
static void child(const char *slave_name, int go, int report, int sem) {
  if (setsid() < 0)
    _exit(2);
  int slave = open(slave_name, O_RDWR | O_NOCTTY);
  if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) != 0)
    _exit(2);
  char byte;
  while (read(go, &byte, 1) < 0 && errno == EINTR) {
  }
  char line[160];
  int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
  snprintf(line, sizeof line, "child: /dev/tty opens: %s\n", yes_no(tty >= 0));
  say(report, line);
  snprintf(line, sizeof line, "child: the pty is my session's terminal: %s\n",
           yes_no(tcgetsid(slave) == getsid(0) && getsid(0) == getpid()));
  say(report, line);
  snprintf(line, sizeof line, "child: my group is in its foreground: %s\n",
           yes_no(tcgetpgrp(slave) == getpgrp()));
  say(report, line);
  snprintf(line, sizeof line, "child: semaphore %d\n", sem_value(sem));
  if (tty >= 0)
    say(tty, "hello through my controlling terminal\n");
  say(report, line);
  for (;;) {
    ssize_t n = read(go, &byte, 1);
    if (n == 0 || (n < 0 && errno != EINTR))
      break;
  }
  _exit(0);
}

/* Reads the master until the child's words come, for up to ~5 s. */
static int master_hears(int master) {
  char buf[512];
  size_t have = 0;
  for (int tries = 0; tries < 100; ++tries) {
    ssize_t n = read(master, buf + have, sizeof buf - 1 - have);
    if (n > 0) {
      have += (size_t)n;
      buf[have] = 0;
      if (strstr(buf, "hello through my controlling terminal"))
        return 1;
      if (have == sizeof buf - 1)
        return 0;
    } else {
      sleep_ms(50);
    }
  }
  return 0;
}

int main(void) {
  ino_t started_in = ipc_namespace();
  if (unshare(CLONE_NEWIPC) != 0)
    fail("unshare(CLONE_NEWIPC)");
  int sem = semget(SEM_KEY, 1, IPC_CREAT | IPC_EXCL | 0600);
  if (sem < 0 || semctl(sem, 0, SETVAL, SEM_START) != 0)
    fail("semaphore");

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  sa.sa_handler = on_posix_timer;
  sigaction(SIGUSR1, &sa, NULL);
  struct itimerval every20 = {{0, 20000}, {0, 20000}};
  if (setitimer(ITIMER_REAL, &every20, NULL) != 0)
    fail("setitimer");
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGUSR1;
  timer_t timer;
  struct itimerspec every30 = {{0, 30000000}, {0, 30000000}};
  if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0 ||
      timer_settime(timer, 0, &every30, NULL) != 0)
    fail("timer_create");

  int master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0)
    fail("posix_openpt");
  char slave_name[64];
  snprintf(slave_name, sizeof slave_name, "%s", ptsname(master));
  int go[2], report[2];
  if (pipe(go) != 0 || pipe(report) != 0)
    fail("pipe");
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0) {
    close(master);
    close(go[1]);
    close(report[0]);
    child(slave_name, go[0], report[1], sem);
  }
  close(go[0]);
  close(report[1]);

  int itimer_then = 0, posix_then = 0;
  struct sembuf plus_one = {0, 1, 0};
  for (int i = 0; i < STEPS; ++i) {
    if (semop(sem, &plus_one, 1) != 0)
      fail("semop");
    printf("%d\n", i);
    fflush(stdout);
    if (i == SNAPSHOT) {
      itimer_then = itimer_ticks;
      posix_then = posix_ticks;
    }
    sleep_ms(50);
  }
  int itimer_more = itimer_ticks - itimer_then;
  int posix_more = posix_ticks - posix_then;
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  timer_delete(timer);

  printf("semaphore %d\n", sem_value(sem));
  ino_t now_in = ipc_namespace();
  printf("in an IPC namespace of my own: %s\n",
         yes_no(now_in != 0 && now_in != started_in));
  printf("interval timer fired at the end: %s\n",
         yes_no(itimer_more >= MIN_TICKS));
  printf("POSIX timer fired at the end: %s\n", yes_no(posix_more >= MIN_TICKS));
  fflush(stdout);

  if (write(go[1], "g", 1) != 1)
    fail("write");
  FILE *in = fdopen(report[0], "r");
  char line[160];
  for (int lines = 0; lines < 4 && fgets(line, sizeof line, in); ++lines)
    printf("%s", line);
  printf("the child's terminal is my pty: %s\n", yes_no(master_hears(master)));
  close(go[1]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  printf("done\n");
  return 0;
}
