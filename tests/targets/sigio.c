/* sigio: I/O signals (issue 15). The read end of a pipe is O_ASYNC, owned by
 * the process (F_SETOWN_EX) and signals SIGRTMIN+1 (F_SETSIG); the process
 * writes a byte 40 times, ~50 ms apart, and counts the signals its handler
 * takes. The write end is owned by its process group, without O_ASYNC. At
 * the end: how many signals came, for which fd, and the owners as the
 * kernel has them.
 * "thread": the signals go to a thread of a child (F_OWNER_TID), which
 * counts them; the parent, which owns the pipe's read end, writes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 40

static int pipe_fds[2];
static int tid_pipe[2];
static volatile sig_atomic_t taken, wrong_fd, finished;

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

static void nap(void) {
  struct timespec t = {0, 50 * 1000 * 1000};
  while (nanosleep(&t, &t) != 0)
    ;
}

static void on_finish(int sig) {
  (void)sig;
  finished = 1;
}

static void *signalled_thread(void *arg) {
  sigset_t *io = arg;
  pthread_sigmask(SIG_UNBLOCK, io, NULL);
  pid_t tid = (pid_t)syscall(SYS_gettid);
  if (write(tid_pipe[1], &tid, sizeof tid) != sizeof tid)
    return NULL;
  while (!finished)
    pause();
  return NULL;
}

/* The child: its second thread takes the signals until told to finish. */
static int child(void) {
  sigset_t io;
  sigemptyset(&io);
  sigaddset(&io, SIGRTMIN + 1);
  sigaddset(&io, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &io, NULL); /* the new thread unblocks them */
  pthread_t thread;
  if (pthread_create(&thread, NULL, signalled_thread, &io) != 0)
    return 1;
  pthread_join(thread, NULL);
  printf("the child's thread took %d of %d signals, %s fd\n", (int)taken,
         ROUNDS, wrong_fd ? "WRONG" : "right");
  fflush(stdout);
  return 0;
}

static int thread_owner(void) {
  if (pipe(tid_pipe) != 0)
    return 1;
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGUSR1, on_finish);
    _exit(child());
  }
  pid_t tid;
  if (read(tid_pipe[0], &tid, sizeof tid) != sizeof tid)
    return 1;
  struct f_owner_ex thread = {F_OWNER_TID, tid};
  if (fcntl(pipe_fds[0], F_SETOWN_EX, &thread) != 0 ||
      fcntl(pipe_fds[0], F_SETSIG, SIGRTMIN + 1) != 0 ||
      fcntl(pipe_fds[0], F_SETFL, O_ASYNC | O_NONBLOCK) != 0)
    return 1;
  for (int round = 0; round < ROUNDS; ++round) {
    if (write(pipe_fds[1], "x", 1) != 1)
      return 1;
    nap();
  }
  nap();
  const char *owner = owner_of(pipe_fds[0], F_OWNER_TID, tid);
  syscall(SYS_tgkill, pid, tid, SIGUSR1);
  int status;
  waitpid(pid, &status, 0);
  printf("child exited %d; read end: owner %s\n", WEXITSTATUS(status), owner);
  return 0;
}

int main(int argc, char **argv) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_io;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGRTMIN + 1, &sa, NULL);
  if (pipe(pipe_fds) != 0)
    return 1;
  if (argc > 1 && strcmp(argv[1], "thread") == 0)
    return thread_owner();
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
    nap();
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
