/* sigio: I/O signals (issue 15). The read end of a pipe is O_ASYNC, owned by
 * the process (F_SETOWN_EX) and signals SIGRTMIN+1 (F_SETSIG); the process
 * writes a byte 40 times, ~50 ms apart, and counts the signals its handler
 * takes. The write end is owned by its process group, without O_ASYNC. At
 * the end: how many signals came, for which fd, and the owners as the
 * kernel has them. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 40

static int pipe_fds[2];
static volatile sig_atomic_t taken, wrong_fd;

static void on_io(int sig, siginfo_t *info, void *ctx) {
  (void)sig, (void)ctx;
  char buf[64];
  while (read(pipe_fds[0], buf, sizeof buf) > 0)
    ;
  if (info->si_fd != pipe_fds[0])
    wrong_fd = 1;
  taken++;
}

static const char *owner_of(int fd, int want_type, pid_t want) {
  struct f_owner_ex owner;
  if (fcntl(fd, F_GETOWN_EX, &owner) != 0)
    return "unreadable";
  return (int)owner.type == want_type && owner.pid == want ? "kept" : "LOST";
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_io;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGRTMIN + 1, &sa, NULL);
  if (pipe(pipe_fds) != 0)
    return 1;
  struct f_owner_ex self = {F_OWNER_PID, getpid()};
  struct f_owner_ex group = {F_OWNER_PGRP, getpgrp()};
  if (fcntl(pipe_fds[0], F_SETOWN_EX, &self) != 0 ||
      fcntl(pipe_fds[0], F_SETSIG, SIGRTMIN + 1) != 0 ||
      fcntl(pipe_fds[0], F_SETFL, O_ASYNC | O_NONBLOCK) != 0 ||
      fcntl(pipe_fds[1], F_SETOWN_EX, &group) != 0)
    return 1;
  for (int round = 0; round < ROUNDS; ++round) {
    if (write(pipe_fds[1], "x", 1) != 1)
      return 1;
    struct timespec t = {0, 50 * 1000 * 1000};
    while (nanosleep(&t, &t) != 0)
      ;
  }
  printf("signals %d of %d, %s fd\n", (int)taken, ROUNDS,
         wrong_fd ? "WRONG" : "right");
  printf("read end: owner %s, signal %s, async %s\n",
         owner_of(pipe_fds[0], F_OWNER_PID, getpid()),
         fcntl(pipe_fds[0], F_GETSIG) == SIGRTMIN + 1 ? "kept" : "LOST",
         fcntl(pipe_fds[0], F_GETFL) & O_ASYNC ? "on" : "OFF");
  printf("write end: owner %s\n",
         owner_of(pipe_fds[1], F_OWNER_PGRP, getpgrp()));
  return 0;
}
