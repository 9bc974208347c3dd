/* timer_thread: a periodic POSIX timer that runs a function in a thread
 * (SIGEV_THREAD: glibc's helper thread takes the timer's signal and starts
 * one), every 50 ms, until it has run 40 times (~2 s); main waits for that
 * and prints it. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TICKS 40

static atomic_int ticks;

static void on_tick(union sigval value) {
  (void)value;
  atomic_fetch_add(&ticks, 1);
}

int main(void) {
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_THREAD;
  ev.sigev_notify_function = on_tick;
  timer_t timer;
  if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0)
    return 1;
  struct itimerspec every = {{0, 50 * 1000 * 1000}, {0, 50 * 1000 * 1000}};
  if (timer_settime(timer, 0, &every, NULL) != 0)
    return 1;
  while (atomic_load(&ticks) < TICKS) {
    struct timespec t = {0, 10 * 1000 * 1000};
    nanosleep(&t, NULL);
  }
  timer_delete(timer);
  printf("%d ticks\n", TICKS);
  return 0;
}
