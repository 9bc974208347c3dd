/* posix_shm KEY: a parent and a forked child count in a POSIX shared memory
 * object (/dev/shm/cpr-shm-KEY, mapped MAP_SHARED, its fd closed), each
 * increment under a process-shared pthread mutex kept in the object, with a
 * sleep inside the critical section. The child posts a named semaphore
 * (/dev/shm/sem.cpr-sem-KEY) when it is done; the parent waits for it, then
 * for the child, prints the counter and a checksum (a sum over the values,
 * the same whoever made each one), and unlinks both names: a failure to
 * unlink, as when a name was not there any more, goes to stderr.
 *
 * Both also count in a second object, removed (shm_unlink) as soon as it is
 * mapped: shared memory without a name. The parent holds a third object
 * (/dev/shm/cpr-fd-KEY) only open, never mapped, with a line written into
 * it at the start and read back at the end.
 *
 * Nothing printed depends on the key or the PIDs. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 4000 /* increments by each process */
#define LINE_EVERY 800
#define PAGE 4096
#define OBJECT_SIZE (3 * PAGE)
#define PATTERN_AT (2 * PAGE)

struct shared {
  pthread_mutex_t lock;
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

static uint64_t spread(long value) {
  uint64_t x = (uint64_t)value * 0x9e3779b97f4a7c15ull;
  return x ^ (x >> 29);
}

static void count(struct shared *s, long *tally, int parent) {
  for (int round = 0; round < ROUNDS; round++) {
    if (parent && round % LINE_EVERY == 0) {
      printf("parent round %d\n", round);
      fflush(stdout);
    }
    pthread_mutex_lock(&s->lock);
    long value = s->counter;
    sleep_us(120);
    s->counter = value + 1;
    s->sum += spread(value + 1);
    ++*tally;
    pthread_mutex_unlock(&s->lock);
    sleep_us(250);
  }
}

static struct shared *make_shared(const char *name, unsigned char **base) {
  int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0)
    die("shm_open");
  if (ftruncate(fd, OBJECT_SIZE) != 0)
    die("ftruncate");
  *base = mmap(NULL, OBJECT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (*base == MAP_FAILED)
    die("mmap");
  close(fd);
  for (int i = 0; i < PAGE; i++)
    (*base)[PATTERN_AT + i] = (unsigned char)(i * 13 + 5);
  struct shared *s = (struct shared *)*base;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  if (pthread_mutex_init(&s->lock, &attr) != 0)
    die("pthread_mutex_init");
  pthread_mutexattr_destroy(&attr);
  return s;
}

static int pattern_intact(const unsigned char *p) {
  for (int i = 0; i < PAGE; i++)
    if (p[i] != (unsigned char)(i * 13 + 5))
      return 0;
  return 1;
}

static long *nameless_tally(unsigned long key) {
  char name[64];
  snprintf(name, sizeof name, "/cpr-anon-%lx", key);
  int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0 || ftruncate(fd, PAGE) != 0)
    die("shm_open (nameless)");
  long *tally = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (tally == MAP_FAILED)
    die("mmap (nameless)");
  close(fd);
  if (shm_unlink(name) != 0)
    die("shm_unlink (nameless)");
  return tally;
}

static const char kept_line[] = "written before, read after\n";

static int open_kept(const char *name) {
  int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0 || pwrite(fd, kept_line, sizeof kept_line - 1, 0) < 0)
    die("shm_open (kept open)");
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: posix_shm KEY\n");
    return 2;
  }
  unsigned long key = strtoul(argv[1], NULL, 16);
  char shm_name[64], sem_name[64], kept_name[64];
  snprintf(shm_name, sizeof shm_name, "/cpr-shm-%lx", key);
  snprintf(sem_name, sizeof sem_name, "/cpr-sem-%lx", key);
  snprintf(kept_name, sizeof kept_name, "/cpr-fd-%lx", key);
  long *tally = nameless_tally(key);
  int kept = open_kept(kept_name);
  unsigned char *base;
  struct shared *s = make_shared(shm_name, &base);
  sem_t *done = sem_open(sem_name, O_CREAT | O_EXCL, 0600, 0);
  if (done == SEM_FAILED)
    die("sem_open");
  fflush(stdout);
  pid_t child = fork();
  if (child < 0)
    die("fork");
  if (child == 0) {
    count(s, tally, 0);
    if (sem_post(done) != 0)
      die("sem_post");
    _exit(0);
  }
  count(s, tally, 1);
  while (sem_wait(done) != 0)
    if (errno != EINTR)
      die("sem_wait");
  int status = 0;
  if (waitpid(child, &status, 0) != child)
    die("waitpid");
  printf("child %s %d\n", WIFEXITED(status) ? "exited with" : "killed by",
         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  printf("counter %ld sum %016llx\n", s->counter, (unsigned long long)s->sum);
  printf("pattern intact: %s\n",
         pattern_intact(base + PATTERN_AT) ? "yes" : "no");
  printf("nameless tally %ld\n", *tally);
  char line[64] = {0};
  if (pread(kept, line, sizeof line - 1, 0) < 0)
    die("pread");
  printf("kept open: %s", line);
  if (shm_unlink(kept_name) != 0)
    perror("shm_unlink (kept open)");
  int value = -1;
  sem_getvalue(done, &value);
  printf("semaphore %d\n", value);
  munmap(base, OBJECT_SIZE);
  sem_close(done);
  if (shm_unlink(shm_name) != 0)
    perror("shm_unlink");
  if (sem_unlink(sem_name) != 0)
    perror("sem_unlink");
  printf("done\n");
  return 0;
}
