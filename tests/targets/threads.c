/* threads: a multi-threaded checkpoint target.
 *
 * Eight worker threads, each named "worker-N" (PR_SET_NAME), each run an
 * independent deterministic computation (their own seed), in rounds separated by nanosleep. A ninth thread blocks on
 * a condition variable (a futex wait) until main, having joined the workers,
 * signals it; it then folds their results together. Main prints a progress
 * line every 80 ms meanwhile, and all results (with each worker's name as
 * the kernel then has it) at the end, in a fixed order.
 * Every thread must come back with its TID, registers and blocked call for
 * the output to match an uninterrupted run. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define WORKERS 8
#define ROUNDS 36
#define STEPS_PER_ROUND 1500000
#define TICKS 32

struct worker {
  int id;
  uint64_t seed;
  uint64_t result;
  char name[16];
  pthread_t thread;
};

static struct worker workers[WORKERS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t workers_done = PTHREAD_COND_INITIALIZER;
static int done; /* under lock: main joined every worker */
static uint64_t combined;

static void sleep_ms(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

static void *compute(void *arg) {
  struct worker *w = arg;
  char name[16];
  snprintf(name, sizeof name, "worker-%d", w->id);
  pthread_setname_np(pthread_self(), name);
  uint64_t x = w->seed, acc = 0;
  for (int round = 0; round < ROUNDS; round++) {
    for (int step = 0; step < STEPS_PER_ROUND; step++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      acc = (acc ^ x) * 0x100000001b3ull;
    }
    sleep_ms(50);
  }
  w->result = acc;
  /* Its name as the kernel has it now (set before any checkpoint). */
  pthread_getname_np(pthread_self(), w->name, sizeof w->name);
  return NULL;
}

static void *fold(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  while (!done)
    pthread_cond_wait(&workers_done, &lock);
  pthread_mutex_unlock(&lock);
  uint64_t sum = 0xcbf29ce484222325ull;
  for (int i = 0; i < WORKERS; i++)
    sum = (sum ^ workers[i].result) * 0x100000001b3ull;
  combined = sum;
  return NULL;
}

int main(void) {
  pthread_t folder;
  if (pthread_create(&folder, NULL, fold, NULL) != 0)
    return 1;
  for (int i = 0; i < WORKERS; i++) {
    workers[i].id = i;
    workers[i].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
    if (pthread_create(&workers[i].thread, NULL, compute, &workers[i]) != 0)
      return 1;
  }
  for (int tick = 0; tick < TICKS; tick++) {
    printf("tick %d\n", tick);
    fflush(stdout);
    sleep_ms(80);
  }
  for (int i = 0; i < WORKERS; i++)
    pthread_join(workers[i].thread, NULL);
  pthread_mutex_lock(&lock);
  done = 1;
  pthread_cond_signal(&workers_done);
  pthread_mutex_unlock(&lock);
  pthread_join(folder, NULL);
  for (int i = 0; i < WORKERS; i++)
    printf("thread %d (%s) seed %016llx result %016llx\n", workers[i].id,
           workers[i].name, (unsigned long long)workers[i].seed,
           (unsigned long long)workers[i].result);
  printf("combined %016llx\n", (unsigned long long)combined);
  printf("done\n");
  return 0;
}
