/* pending_signals: signals of every kind left pending, blocked, across a
 * checkpoint.
 *
 * SIGUSR1, SIGUSR2, SIGRTMIN+2 and SIGRTMIN+5 are blocked in both threads
 * (main and one extra thread). Main then makes pending:
 *   process-wide: SIGUSR1 twice by kill (a standard signal: one is kept),
 *                 SIGRTMIN+2 by sigqueue with 111 then 222 (both queued),
 *                 SIGRTMIN+5 by sigqueue with 333;
 *   to the extra thread: SIGUSR2 by tgkill, SIGRTMIN+5 with 444 by
 *                 pthread_sigqueue;
 *   to main: SIGRTMIN+2 with 555 by pthread_sigqueue.
 * It prints "pending set", works some 2 s (a line every 100 ms), then takes
 * every signal it can with sigtimedwait and a zero timeout, printing each in
 * the order received, with how it was sent (si_code: SI_USER, SI_QUEUE,
 * SI_TKILL, whichever the kernel reports), its value if queued and whether
 * it came from this process; then the extra thread does the same. The order
 * is fixed: a thread's own signals before the process-wide ones, the lowest
 * number first, queued real-time signals first in first out. So the output is
 * the same on every run, and a signal lost, duplicated, reordered or moved
 * from one thread to another (or to the process) by a restart changes it.
 * Signals are named relative to SIGRTMIN, which differs between C libraries. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TICKS 20

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int extra_ready; /* under lock: the extra thread has its TID set */
static int extra_turn;  /* under lock: main has taken its signals */
static pid_t extra_tid;

static void sleep_ms(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

static void watched_set(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGUSR1);
  sigaddset(set, SIGUSR2);
  sigaddset(set, SIGRTMIN + 2);
  sigaddset(set, SIGRTMIN + 5);
}

static const char *code_name(int code) {
  switch (code) {
  case SI_USER:
    return "SI_USER";
  case SI_QUEUE:
    return "SI_QUEUE";
  case SI_TKILL:
    return "SI_TKILL";
  default:
    return "other";
  }
}

/* Takes every pending signal of the watched set this thread can take. */
static void take_signals(const char *who) {
  sigset_t set;
  watched_set(&set);
  const struct timespec zero = {0, 0};
  siginfo_t info;
  int sig;
  while ((sig = sigtimedwait(&set, &info, &zero)) > 0) {
    char name[32];
    if (sig >= SIGRTMIN)
      snprintf(name, sizeof name, "RTMIN+%d", sig - SIGRTMIN);
    else
      snprintf(name, sizeof name, "%s",
               sig == SIGUSR1   ? "SIGUSR1"
               : sig == SIGUSR2 ? "SIGUSR2"
                                : "other");
    printf("%s: %s %s", who, name, code_name(info.si_code));
    if (info.si_code == SI_QUEUE)
      printf(" value %d", info.si_value.sival_int);
    printf(" from %s uid %s\n", info.si_pid == getpid() ? "self" : "other",
           info.si_uid == getuid() ? "self" : "other");
  }
  if (errno != EAGAIN)
    printf("%s: sigtimedwait: %s\n", who, strerror(errno));
  sigset_t left;
  sigpending(&left);
  int any = 0;
  for (int s = 1; s < NSIG; s++)
    any = any || sigismember(&left, s) == 1;
  printf("%s: %s\n", who, any ? "signals left" : "none left");
  fflush(stdout);
}

static void *extra(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  extra_tid = gettid();
  extra_ready = 1;
  pthread_cond_broadcast(&changed);
  while (!extra_turn)
    pthread_cond_wait(&changed, &lock);
  pthread_mutex_unlock(&lock);
  take_signals("extra thread");
  return NULL;
}

int main(void) {
  sigset_t set;
  watched_set(&set);
  if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
    return 1;
  pthread_t thread;
  if (pthread_create(&thread, NULL, extra, NULL) != 0)
    return 1;
  pthread_mutex_lock(&lock);
  while (!extra_ready)
    pthread_cond_wait(&changed, &lock);
  pthread_mutex_unlock(&lock);

  union sigval v;
  int failed = 0;
  failed |= kill(getpid(), SIGUSR1);
  failed |= kill(getpid(), SIGUSR1);
  v.sival_int = 111;
  failed |= sigqueue(getpid(), SIGRTMIN + 2, v);
  v.sival_int = 222;
  failed |= sigqueue(getpid(), SIGRTMIN + 2, v);
  v.sival_int = 333;
  failed |= sigqueue(getpid(), SIGRTMIN + 5, v);
  failed |= tgkill(getpid(), extra_tid, SIGUSR2);
  v.sival_int = 444;
  failed |= pthread_sigqueue(thread, SIGRTMIN + 5, v);
  v.sival_int = 555;
  failed |= pthread_sigqueue(pthread_self(), SIGRTMIN + 2, v);
  if (failed) {
    fprintf(stderr, "cannot send the signals\n");
    return 1;
  }
  printf("pending set\n");
  fflush(stdout);

  for (int tick = 0; tick < TICKS; tick++) {
    printf("tick %d\n", tick);
    fflush(stdout);
    sleep_ms(100);
  }

  take_signals("main thread");
  pthread_mutex_lock(&lock);
  extra_turn = 1;
  pthread_cond_broadcast(&changed);
  pthread_mutex_unlock(&lock);
  pthread_join(thread, NULL);
  printf("done\n");
  return 0;
}
