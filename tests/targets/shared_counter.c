/* shared_counter: a parent and a forked child take turns on a counter in a
 * MAP_SHARED|MAP_ANONYMOUS page: each waits (polling with short nanosleeps)
 * until the turn is its own, adds to the counter, mixes it into a shared
 * checksum and hands the turn over. If the page were not shared any more
 * after a restart, both would wait for ever. The parent prints progress, then
 * waits for the child and prints the final counter and the child's status.
 *
 * With "split", the shared mapping is three pages, the counter is in the
 * middle one and the child unmaps the first: the two map different pieces
 * of one object. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 3000 /* turns of each process */
#define LINE_EVERY 200

struct shared {
  int turn; /* 0: the parent's, 1: the child's */
  long counter;
  uint64_t mix;
};

static void sleep_us(long us) {
  struct timespec left = {0, us * 1000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

static void wait_turn(struct shared *s, int me) {
  while (__atomic_load_n(&s->turn, __ATOMIC_ACQUIRE) != me)
    sleep_us(400);
}

/* One turn: the counter grows by a step that depends on who and when. */
static void take_turn(struct shared *s, int me, int round) {
  long step = me ? 3 : 1 + round % 5;
  long value = __atomic_add_fetch(&s->counter, step, __ATOMIC_RELAXED);
  s->mix = (s->mix ^ (uint64_t)value) * 0x100000001b3ull + (uint64_t)me;
  __atomic_store_n(&s->turn, !me, __ATOMIC_RELEASE);
}

int main(int argc, char **argv) {
  int split = argc > 1 && strcmp(argv[1], "split") == 0;
  char *base = mmap(NULL, split ? 3 * 4096 : 4096, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  struct shared *s = (struct shared *)(base + (split ? 4096 : 0));
  s->turn = 0;
  s->counter = 0;
  s->mix = 0xcbf29ce484222325ull;
  fflush(stdout);
  pid_t child = fork();
  if (child < 0) {
    perror("fork");
    return 1;
  }
  if (child == 0) {
    if (split)
      munmap(base, 4096);
    uint64_t seen = 0;
    for (int round = 0; round < ROUNDS; round++) {
      wait_turn(s, 1);
      /* Both write to one open file: were its offset not shared any more
         after a restart, their lines would overwrite each other. */
      if (round % LINE_EVERY == 100) {
        printf("child round %d counter %ld\n", round, s->counter);
        fflush(stdout);
      }
      seen = seen * 31 + (uint64_t)s->counter;
      take_turn(s, 1, round);
    }
    _exit((int)(seen % 100) + 1);
  }
  for (int round = 0; round < ROUNDS; round++) {
    wait_turn(s, 0);
    if (round % LINE_EVERY == 0) {
      printf("round %d counter %ld mix %016llx\n", round, s->counter,
             (unsigned long long)s->mix);
      fflush(stdout);
    }
    take_turn(s, 0, round);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child) {
    perror("waitpid");
    return 1;
  }
  printf("counter %ld mix %016llx\n", s->counter, (unsigned long long)s->mix);
  if (WIFEXITED(status))
    printf("child exited with status %d\n", WEXITSTATUS(status));
  else
    printf("child killed by signal %d\n", WTERMSIG(status));
  printf("done\n");
  return 0;
}
