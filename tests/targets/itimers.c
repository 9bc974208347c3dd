/* itimers: alarm(2) ends a busy loop, while ITIMER_VIRTUAL and ITIMER_PROF
 * tick every 100 ms of its CPU time. Prints whether each kind fired as it
 * should: the alarm (else it loops for ever) and some 20 ticks of each CPU
 * timer (checked loosely: at least 8, as a busy machine gives less CPU). */
#define _DEFAULT_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t alarmed, virtual_ticks, prof_ticks;

static void on_signal(int sig) {
  if (sig == SIGALRM)
    alarmed = 1;
  else if (sig == SIGVTALRM)
    virtual_ticks++;
  else
    prof_ticks++;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  sigaction(SIGVTALRM, &sa, NULL);
  sigaction(SIGPROF, &sa, NULL);
  struct itimerval tick = {{0, 100000}, {0, 100000}};
  setitimer(ITIMER_VIRTUAL, &tick, NULL);
  setitimer(ITIMER_PROF, &tick, NULL);
  alarm(2);
  printf("started\n");
  fflush(stdout);
  volatile unsigned long spin = 0;
  while (!alarmed)
    spin++;
  printf("alarm fired\n");
  printf("virtual timer ticking: %s\n", virtual_ticks >= 8 ? "yes" : "no");
  printf("profiling timer ticking: %s\n", prof_ticks >= 8 ? "yes" : "no");
  return 0;
}
