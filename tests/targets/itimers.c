/* itimers: a busy loop that ends once alarm(2) has fired and ITIMER_VIRTUAL
 * and ITIMER_PROF, ticking every 100 ms of its CPU time, have ticked 8 times
 * each: a timer lost at restart leaves it looping for ever. On a busy
 * machine it gets less CPU in the alarm's 2 s, so it spins on past the
 * alarm for the ticks rather than print a different line. */
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
  while (!alarmed || virtual_ticks < 8 || prof_ticks < 8)
    spin++;
  printf("alarm fired\n");
  printf("virtual timer ticking: yes\n");
  printf("profiling timer ticking: yes\n");
  return 0;
}
