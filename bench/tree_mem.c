/* tree_mem: benchmark target for checkpointing process sets and threads.
 *
 *   tree_mem <processes> <mib_each> <threads_each>
 *
 * The first process (the root) forks <processes>-1 children: a flat tree, all
 * of them children of the root, none of them with children of its own.  Every
 * process, the root included, then
 *   - mmaps <mib_each> MiB of private anonymous memory and fills it with a
 *     pseudo-random pattern of its own (incompressible, never a zero page),
 *   - starts <threads_each>-1 extra threads, which wait on a condition
 *     variable (blocked in a futex wait, using no CPU),
 *   - counts itself ready in a MAP_SHARED|MAP_ANONYMOUS page they all share
 *     (cpr carries shared anonymous memory; a pipe it would refuse),
 *   - and waits for SIGUSR1 (a flag check plus a short sleep, so it does not
 *     depend on how an interrupted system call is resumed after a restart).
 * Once every process counts as ready, the root prints "ready" to stdout.
 *
 * SIGUSR1 must be sent to every process.  Each one then checks its pattern,
 * wakes its threads and joins them (so every thread must still be there) and
 * exits 0, or 3 if its memory is corrupt (details on stderr).  The root, after
 * its own check, waits for all its children and prints "ok" and exits 0 if
 * every process passed, or prints "corrupt ..." and exits 3.  Usage and setup
 * errors exit 2.
 *
 * It is a valid cpr target: its only fds are the ones it was started with
 * (stdin /dev/null, stdout/stderr files), inherited by the children.  A child
 * whose parent is no longer the root (the root was killed and the child
 * reparented) exits 1 on its own, so a failed run leaves nothing behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCESSES 4096
#define MAX_THREADS 4096
#define MAX_MIB 65536

struct shared {
  int ready; /* processes whose memory and threads are all set up */
};

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig) {
  (void)sig;
  got_usr1 = 1;
}

/* Extra threads: wait on a condition variable until told to stop. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t started_cv = PTHREAD_COND_INITIALIZER;
static int started; /* under lock: extra threads running */
static int stop;    /* under lock: main asks the threads to return */

static void *idle_thread(void *arg) {
  pthread_mutex_lock(&lock);
  started++;
  pthread_cond_signal(&started_cv);
  while (!stop) pthread_cond_wait(&wake, &lock);
  pthread_mutex_unlock(&lock);
  return arg; /* main checks it gets its own argument back */
}

/* splitmix64 of the word index, offset per process: no two processes (and
 * no two words) hold the same data, and a lost page (zeros) always shows. */
static inline uint64_t pattern(uint64_t seed, uint64_t i) {
  uint64_t z = 0x2545f4914f6cdd1dULL + (seed << 40) + (i + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return (z ^ (z >> 31)) | 1;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int parse(const char *s, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

struct member {
  long index; /* 0 for the root, 1.. for the children */
  uint64_t *mem;
  size_t nwords;
  long nthreads; /* extra threads */
  pthread_t *threads;
};

/* Memory and threads of one process; 0 on success. */
static int set_up(struct member *m, long mib, long threads_each) {
  const size_t len = (size_t)mib << 20;
  m->nwords = len / sizeof(uint64_t);
  m->mem = NULL;
  if (len) {
    m->mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m->mem == MAP_FAILED) {
      fprintf(stderr, "tree_mem: pid %d: mmap %ld MiB: %s\n", (int)getpid(), mib, strerror(errno));
      return -1;
    }
    for (size_t i = 0; i < m->nwords; i++) m->mem[i] = pattern((uint64_t)m->index, i);
  }

  /* SIGUSR1 goes to the main thread: the extra threads start with it blocked. */
  m->nthreads = threads_each - 1;
  m->threads = calloc((size_t)(m->nthreads ? m->nthreads : 1), sizeof(pthread_t));
  if (!m->threads) {
    fprintf(stderr, "tree_mem: pid %d: out of memory\n", (int)getpid());
    return -1;
  }
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, &old);
  for (long t = 0; t < m->nthreads; t++) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 << 10); /* they only wait */
    int e = pthread_create(&m->threads[t], &attr, idle_thread, (void *)(intptr_t)(t + 1));
    pthread_attr_destroy(&attr);
    if (e != 0) {
      fprintf(stderr, "tree_mem: pid %d: pthread_create %ld: %s\n", (int)getpid(), t + 1,
              strerror(e));
      return -1;
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_mutex_lock(&lock);
  while (started < m->nthreads) pthread_cond_wait(&started_cv, &lock);
  pthread_mutex_unlock(&lock);
  return 0;
}

/* After SIGUSR1: check memory, stop and join the threads. 0 ok, 3 corrupt. */
static int check(struct member *m) {
  int rc = 0;
  for (size_t i = 0; i < m->nwords; i++) {
    uint64_t want = pattern((uint64_t)m->index, i);
    if (m->mem[i] != want) {
      fprintf(stderr, "tree_mem: pid %d (process %ld): corrupt offset=%zu expected=%016llx got=%016llx\n",
              (int)getpid(), m->index, i * sizeof(uint64_t), (unsigned long long)want,
              (unsigned long long)m->mem[i]);
      rc = 3;
      break;
    }
  }
  pthread_mutex_lock(&lock);
  stop = 1;
  pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&lock);
  for (long t = 0; t < m->nthreads; t++) {
    void *ret = NULL;
    int e = pthread_join(m->threads[t], &ret);
    if (e != 0 || ret != (void *)(intptr_t)(t + 1)) {
      fprintf(stderr, "tree_mem: pid %d (process %ld): thread %ld: join %s, returned %p\n",
              (int)getpid(), m->index, t + 1, e ? strerror(e) : "ok", ret);
      rc = 3;
    }
  }
  return rc;
}

int main(int argc, char **argv) {
  long processes, mib, threads_each;
  if (argc != 4 || parse(argv[1], 1, MAX_PROCESSES, &processes) ||
      parse(argv[2], 0, MAX_MIB, &mib) || parse(argv[3], 1, MAX_THREADS, &threads_each)) {
    fprintf(stderr, "usage: %s <processes> <mib_each> <threads_each>   (processes >= 1, threads >= 1)\n",
            argv[0]);
    return 2;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGUSR1, &sa, NULL) != 0) {
    perror("tree_mem: sigaction");
    return 2;
  }
  struct shared *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED) {
    perror("tree_mem: mmap shared");
    return 2;
  }
  sh->ready = 0;

  const pid_t root = getpid();
  pid_t *children = calloc((size_t)processes, sizeof(pid_t));
  if (!children) {
    perror("tree_mem: calloc");
    return 2;
  }
  fflush(NULL);
  struct member m = {0};
  for (long i = 1; i < processes; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      fprintf(stderr, "tree_mem: fork %ld of %ld: %s\n", i, processes - 1, strerror(errno));
      for (long j = 1; j < i; j++) kill(children[j], SIGKILL);
      return 2;
    }
    if (pid == 0) { /* a child: set up, count in, wait, check */
      m.index = i;
      if (set_up(&m, mib, threads_each) != 0) _exit(2);
      __atomic_add_fetch(&sh->ready, 1, __ATOMIC_RELEASE);
      while (!got_usr1) {
        if (getppid() != root) _exit(1); /* orphaned: the run was abandoned */
        sleep_ms(20);
      }
      _exit(check(&m));
    }
    children[i] = pid;
  }

  m.index = 0;
  if (set_up(&m, mib, threads_each) != 0) {
    for (long j = 1; j < processes; j++) kill(children[j], SIGKILL);
    return 2;
  }
  __atomic_add_fetch(&sh->ready, 1, __ATOMIC_RELEASE);
  /* Wait until everyone counts as ready; a child that dies first is an error. */
  while (__atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) < processes) {
    int status;
    pid_t w = waitpid(-1, &status, WNOHANG);
    if (w > 0) {
      fprintf(stderr, "tree_mem: child %d exited (status 0x%x) before it was ready\n", (int)w,
              status);
      for (long j = 1; j < processes; j++) kill(children[j], SIGKILL);
      return 2;
    }
    sleep_ms(1);
  }
  printf("ready\n");
  if (fflush(stdout) != 0) return 2;

  while (!got_usr1) sleep_ms(20);

  int rc = check(&m);
  long bad = rc ? 1 : 0;
  pid_t first_bad = rc ? root : 0;
  int first_status = rc << 8;
  for (long i = 1; i < processes; i++) {
    int status;
    pid_t w;
    while ((w = waitpid(children[i], &status, 0)) < 0 && errno == EINTR) {
    }
    if (w < 0) {
      fprintf(stderr, "tree_mem: waitpid %d: %s\n", (int)children[i], strerror(errno));
      status = -1;
    }
    if (!(w > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      if (!bad++) {
        first_bad = children[i];
        first_status = status;
      }
    }
  }
  if (bad) {
    printf("corrupt %ld of %ld processes failed (first: pid %d, wait status 0x%x)\n", bad,
           processes, (int)first_bad, first_status);
    fflush(stdout);
    return 3;
  }
  printf("ok\n");
  fflush(stdout);
  return 0;
}
