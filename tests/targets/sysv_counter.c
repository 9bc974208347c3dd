/* sysv_counter KEY [marked|pieces]: a parent and a forked child count in a
 * System V shared memory segment (key KEY, hex), each increment under a System
 * V semaphore (key KEY+1) used as a lock, with a sleep inside the critical
 * section so that a checkpoint often finds one process holding the lock and
 * the other waiting for it (neither uses SEM_UNDO, whose adjustments nothing
 * outside a process can read). Lost updates or a lock that no longer excludes
 * show in the final counter and in the checksum (a sum over the values, the
 * same whoever made each one).
 *
 * The segment is not a whole number of pages; its last page holds a pattern
 * the parent checks at the end, and the parent reads the counter a second
 * time through a read-only attachment (SHM_RDONLY) at another address. With
 * "marked", the parent marks the segment for removal (IPC_RMID) as soon as
 * both are attached: it stays usable until both detach. With "pieces", the
 * child unmaps the first page of its attachment and makes the last page of
 * its read-only one inaccessible: its mappings of the segment are pieces
 * with protections of their own (the output is the same).
 *
 * Nothing printed depends on the key, the ids or the PIDs. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 4000 /* increments by each process */
#define LINE_EVERY 800
#define PAGE 4096
#define SEGMENT_SIZE (2 * PAGE + 1000)
#define PATTERN_AT (2 * PAGE)
#define PATTERN_SIZE 1000

union semun {
  int val;
  struct semid_ds *buf;
  unsigned short *array;
};

struct shared {
  long counter;
  uint64_t sum;
};

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void sleep_us(long us) {
  struct timespec left = {0, us * 1000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

/* semop is never restarted after a signal: a stop for a checkpoint may
   interrupt it as a signal would. */
static void change(int sem, short delta) {
  struct sembuf op = {0, delta, 0};
  while (semop(sem, &op, 1) != 0)
    if (errno != EINTR)
      die("semop");
}

static uint64_t spread(long value) {
  uint64_t x = (uint64_t)value * 0x9e3779b97f4a7c15ull;
  return x ^ (x >> 29);
}

static void count(struct shared *s, int sem, int parent) {
  for (int round = 0; round < ROUNDS; round++) {
    if (parent && round % LINE_EVERY == 0) {
      printf("parent round %d\n", round);
      fflush(stdout);
    }
    change(sem, -1);
    long value = s->counter;
    sleep_us(120);
    s->counter = value + 1;
    s->sum += spread(value + 1);
    change(sem, 1);
    sleep_us(250);
  }
}

static int pattern_intact(const unsigned char *p) {
  for (int i = 0; i < PATTERN_SIZE; i++)
    if (p[i] != (unsigned char)(i * 7 + 3))
      return 0;
  return 1;
}

static void report(int shm, int sem, const struct shared *s,
                   const struct shared *view, const unsigned char *base) {
  printf("counter %ld sum %016llx\n", s->counter, (unsigned long long)s->sum);
  printf("read-only view counter %ld\n", view->counter);
  printf("pattern intact: %s\n",
         pattern_intact(base + PATTERN_AT) ? "yes" : "no");
  struct shmid_ds ds;
  if (shmctl(shm, IPC_STAT, &ds) != 0)
    die("shmctl IPC_STAT");
  printf("segment size %zu, attachments %lu, marked for removal: %s\n",
         ds.shm_segsz, (unsigned long)ds.shm_nattch,
         ds.shm_perm.mode & SHM_DEST ? "yes" : "no");
  printf("semaphore %d\n", semctl(sem, 0, GETVAL));
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: sysv_counter KEY [marked|pieces]\n");
    return 2;
  }
  key_t key = (key_t)strtoul(argv[1], NULL, 16);
  int marked = argc > 2 && strcmp(argv[2], "marked") == 0;
  int pieces = argc > 2 && strcmp(argv[2], "pieces") == 0;
  int shm = shmget(key, SEGMENT_SIZE, IPC_CREAT | IPC_EXCL | 0600);
  if (shm < 0)
    die("shmget");
  int sem = semget(key + 1, 1, IPC_CREAT | IPC_EXCL | 0600);
  if (sem < 0)
    die("semget");
  if (semctl(sem, 0, SETVAL, (union semun){.val = 1}) != 0)
    die("semctl SETVAL");
  unsigned char *base = shmat(shm, NULL, 0);
  const unsigned char *view = shmat(shm, NULL, SHM_RDONLY);
  if (base == (void *)-1 || view == (void *)-1)
    die("shmat");
  for (int i = 0; i < PATTERN_SIZE; i++)
    base[PATTERN_AT + i] = (unsigned char)(i * 7 + 3);
  struct shared *s = (struct shared *)(base + PAGE);
  fflush(stdout);
  pid_t child = fork();
  if (child < 0)
    die("fork");
  if (child == 0) {
    if (pieces && (munmap(base, PAGE) != 0 ||
                   mprotect((void *)(view + 2 * PAGE), PAGE, PROT_NONE) != 0))
      die("pieces");
    count(s, sem, 0);
    _exit(0);
  }
  if (marked && shmctl(shm, IPC_RMID, NULL) != 0)
    die("shmctl IPC_RMID");
  count(s, sem, 1);
  int status = 0;
  if (waitpid(child, &status, 0) != child)
    die("waitpid");
  printf("child %s %d\n", WIFEXITED(status) ? "exited with" : "killed by",
         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  report(shm, sem, s, (const struct shared *)(view + PAGE), base);
  if (!marked && shmctl(shm, IPC_RMID, NULL) != 0)
    die("shmctl IPC_RMID");
  if (semctl(sem, 0, IPC_RMID) != 0)
    die("semctl IPC_RMID");
  printf("done\n");
  return 0;
}
