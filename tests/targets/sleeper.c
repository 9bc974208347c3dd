/* sleeper: one thread for each way a program sleeps (sleep, nanosleep with
 * and without the time left, clock_nanosleep relative and absolute, poll,
 * a timed condition wait), all for ~2 s at once. Each prints what its call
 * returned: after a checkpoint and restart in the middle, every call must
 * still end as if never stopped, not with EINTR. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLEEPERS 7
static char results[SLEEPERS][64];
static struct timespec start;

static struct timespec two_seconds_after_start(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  t.tv_sec += 2;
  return t;
}

static void report(int i, const char *what, long ret, int err) {
  snprintf(results[i], sizeof results[i], "%s returned %ld%s%s", what, ret,
           ret < 0 ? " " : "", ret < 0 ? strerror(err) : "");
}

static void *sleeper(void *arg) {
  int i = (int)(long)arg;
  struct timespec two = {2, 0}, left = {0, 0};
  long r = 0;
  switch (i) {
  case 0:
    report(i, "sleep", (long)sleep(2), 0);
    return NULL;
  case 1:
    r = nanosleep(&two, &left);
    report(i, "nanosleep with rem", r, errno);
    return NULL;
  case 2:
    r = nanosleep(&two, NULL);
    report(i, "nanosleep", r, errno);
    return NULL;
  case 3:
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &two, &left);
    report(i, "clock_nanosleep relative", r == 0 ? 0 : -1, (int)r);
    return NULL;
  case 4: {
    struct timespec at = two_seconds_after_start(CLOCK_MONOTONIC);
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
    report(i, "clock_nanosleep absolute", r == 0 ? 0 : -1, (int)r);
    return NULL;
  }
  case 5:
    r = poll(NULL, 0, 2000);
    report(i, "poll", r, errno);
    return NULL;
  default: {
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    struct timespec at = two_seconds_after_start(CLOCK_REALTIME);
    pthread_mutex_lock(&m);
    do
      r = pthread_cond_timedwait(&c, &m, &at);
    while (r == 0); /* a spurious wakeup */
    pthread_mutex_unlock(&m);
    report(i, "pthread_cond_timedwait", r == ETIMEDOUT ? 0 : -1, (int)r);
    return NULL;
  }
  }
}

int main(void) {
  pthread_t t[SLEEPERS];
  clock_gettime(CLOCK_MONOTONIC, &start);
  printf("sleeping\n");
  fflush(stdout);
  for (long i = 0; i < SLEEPERS; ++i)
    pthread_create(&t[i], NULL, sleeper, (void *)i);
  for (int i = 0; i < SLEEPERS; ++i) {
    pthread_join(t[i], NULL);
    printf("%s\n", results[i]);
  }
  return 0;
}
