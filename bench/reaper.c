/* bench_reaper: runs a command as a child subreaper.
 *
 *   bench_reaper <command> [args...]
 *
 * Sets PR_SET_CHILD_SUBREAPER, runs <command> as its child and reaps every
 * descendant that gets reparented to it: a process restarted by `cpr -r` (run
 * somewhere below) lands here rather than on init, which in a container may
 * never reap it.  Exits with the command's status once the command has ended
 * and the remaining descendants are gone (or after a 5 s grace period).
 * SIGTERM and SIGHUP are passed on to the command; SIGINT and SIGQUIT are
 * ignored here, since the terminal sends them to the command directly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t child;

static void forward(int sig) {
  if (child > 0) kill(child, sig);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <command> [args...]\n", argv[0]);
    return 2;
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    perror("bench_reaper: prctl(PR_SET_CHILD_SUBREAPER)");
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("bench_reaper: fork");
    return 1;
  }
  if (pid == 0) {
    execvp(argv[1], argv + 1);
    fprintf(stderr, "bench_reaper: exec %s: %s\n", argv[1], strerror(errno));
    _exit(127);
  }
  child = pid;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);

  int status = 0, code = -1;
  for (;;) { /* reap everything until the command ends */
    pid_t w = waitpid(-1, &status, 0);
    if (w < 0) {
      if (errno == EINTR) continue;
      break; /* ECHILD: cannot happen before the command ends, but be safe */
    }
    if (w == pid) {
      code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
  }
  child = 0;
  /* Grace period for descendants the command killed on its way out. */
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += 5;
  for (;;) {
    pid_t w = waitpid(-1, NULL, WNOHANG);
    if (w < 0 && errno != EINTR) break; /* ECHILD: all gone */
    if (w > 0) continue;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > deadline.tv_sec ||
        (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
      break;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return code < 0 ? 1 : code;
}
