/* pty_pair: a program that runs a child on a pty of its own, as script(1)
 * or an expect-like tool does. The parent types lines into the master
 * faster than the child reads them, and reads what the child writes only
 * every few lines, so that bytes wait in the pty both ways. The child leads
 * a session whose controlling terminal is the slave, and says whether
 * /dev/tty works and its group is in the foreground. The parent prints all
 * it reads (\r\n from the slave's output processing), then the child's
 * exit status. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum { lines = 40 };

static void sleep_ms(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

static void child(const char *slave_name) {
  setsid();
  int slave = open(slave_name, O_RDWR); /* the controlling terminal now */
  dup2(slave, 0);
  dup2(slave, 1);
  close(slave);
  char line[128];
  for (int i = 0; i < lines; i++) {
    sleep_ms(60);
    if (!fgets(line, sizeof line, stdin))
      exit(2);
    int tty = open("/dev/tty", O_RDWR);
    printf("child read %s", line);
    printf("  /dev/tty %s, foreground %s\n", tty >= 0 ? "works" : "fails",
           tcgetpgrp(0) == getpgrp() ? "yes" : "no");
    fflush(stdout);
    if (tty >= 0)
      close(tty);
  }
  exit(7);
}

static void copy_out(int master) {
  char buf[4096];
  ssize_t n;
  while ((n = read(master, buf, sizeof buf)) > 0)
    fwrite(buf, 1, (size_t)n, stdout);
  fflush(stdout);
}

int main(void) {
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) || unlockpt(master))
    return 1;
  char name[64];
  snprintf(name, sizeof name, "%s", ptsname(master));
  /* No echo: what is typed is not in the output (set before the child
   * runs, so that no line is typed while it is still on). */
  struct termios t;
  tcgetattr(master, &t);
  t.c_lflag &= ~(tcflag_t)ECHO;
  tcsetattr(master, TCSANOW, &t);
  pid_t pid = fork();
  if (pid == 0)
    child(name);
  int flags = fcntl(master, F_GETFL);
  fcntl(master, F_SETFL, flags | O_NONBLOCK);
  for (int i = 0; i < lines; i++) {
    dprintf(master, "line %d\n", i);
    sleep_ms(30);
    if (i % 8 == 7)
      copy_out(master);
  }
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    sleep_ms(100);
    copy_out(master);
  }
  copy_out(master);
  printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}
