/* posix_timers: a periodic timer (every 100 ms, SIGRTMIN with a value) and
 * a one-shot one (2 s, SIGUSR2 to the main thread by SIGEV_THREAD_ID) that
 * ends the run. Prints what a restart must keep: the ids still valid, the
 * value delivered, and the periodic timer still ticking (loosely: 10+). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks, bad_value, done;

static void on_tick(int sig, siginfo_t *si, void *ctx) {
  (void)sig, (void)ctx;
  if (si->si_value.sival_int != 42)
    bad_value = 1;
  ticks++;
}

static void on_end(int sig) { (void)sig, done = 1; }

int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_tick;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGRTMIN, &sa, NULL);
  signal(SIGUSR2, on_end);

  struct sigevent tick = {0};
  tick.sigev_notify = SIGEV_SIGNAL;
  tick.sigev_signo = SIGRTMIN;
  tick.sigev_value.sival_int = 42;
  timer_t periodic, end;
  struct sigevent stop = {0};
  stop.sigev_notify = SIGEV_THREAD_ID;
  stop.sigev_signo = SIGUSR2;
  stop._sigev_un._tid = (pid_t)syscall(SYS_gettid);
  if (timer_create(CLOCK_MONOTONIC, &tick, &periodic) ||
      timer_create(CLOCK_REALTIME, &stop, &end)) {
    perror("timer_create");
    return 1;
  }
  struct itimerspec every = {{0, 100000000}, {0, 100000000}};
  struct itimerspec once = {{0, 0}, {2, 0}};
  timer_settime(periodic, 0, &every, NULL);
  timer_settime(end, 0, &once, NULL);
  printf("timers made\n");
  fflush(stdout);
  while (!done) {
    struct timespec t = {0, 10000000};
    nanosleep(&t, NULL);
  }
  struct itimerspec left;
  printf("ids still valid: %s\n",
         timer_gettime(periodic, &left) == 0 && timer_gettime(end, &left) == 0
             ? "yes"
             : "no");
  printf("periodic timer ticking: %s\n", ticks >= 10 ? "yes" : "no");
  printf("its value delivered: %s\n", bad_value ? "no" : "yes");
  return 0;
}
