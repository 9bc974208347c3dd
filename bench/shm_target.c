/* shm_target: benchmark target for checkpointing shared memory.
 *
 *   shm_target <sysv_mib> <posix_mib>
 *
 * Makes a System V shared memory segment of <sysv_mib> MiB (shmget with
 * IPC_PRIVATE, mode 0600), attaches it, and a POSIX shared memory object of
 * <posix_mib> MiB (shm_open of /cpr-bench-<pid>, i.e. the file
 * /dev/shm/cpr-bench-<pid>, mapped MAP_SHARED, its fd closed); a size of 0
 * leaves that object out (0 0: two processes with no shared memory, the
 * baseline).  Every page of both is written with a pattern of its own
 * (splitmix64 of the word's index, a different seed per object: never a
 * zero word, no two pages alike).  Then it forks one child, which inherits
 * both mappings.  It prints, one a line (each as soon as it is true, so that
 * whoever started it can remove what it made even if it is killed early):
 *
 *   shmid=<id> bytes=<size>             (when sysv_mib > 0)
 *   posix=/dev/shm/cpr-bench-<pid>      (when posix_mib > 0)
 *   child=<pid>
 *   ready
 *
 * Then both processes wait for SIGUSR1 (a flag check plus a short sleep, so
 * the wait does not depend on how an interrupted system call is resumed
 * after a restart).  SIGUSR1 must be sent to both.  The child then checks
 * every page of both objects through its own mappings and exits 0, or 3 if
 * a page differs (the first bad page of each object on stderr).  The parent
 * checks every page through its mappings, checks that the id it got from
 * shmget still names a segment of that size, waits for the child, removes
 * both objects (IPC_RMID, shm_unlink: a name that is gone is a failure) and
 * prints "ok" and exits 0, or "corrupt ..." and exits 3.  Usage and setup
 * errors exit 2 (what it made is removed first).  A child whose parent is no
 * longer the root (the root was killed and the child reparented) exits 1 on
 * its own, which detaches it.
 *
 * Its only fds are the ones it was started with (stdin /dev/null,
 * stdout/stderr files), so both processes make a valid cpr target (HID).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define WORDS (PAGE / 8)
#define SYSV_SEED 0x5359535653484d31ull  /* "SYSVSHM1" */
#define POSIX_SEED 0x504f534958534d31ull /* "POSIXSM1" */

static volatile sig_atomic_t go;
static pid_t root;
static int shmid = -1;
static char posix_name[64]; /* "/cpr-bench-<pid>", "" when none */

static void on_usr1(int sig) {
  (void)sig;
  go = 1;
}

/* Removes what setup made, so a failed start leaves nothing behind. */
static void remove_objects(void) {
  if (shmid >= 0)
    shmctl(shmid, IPC_RMID, NULL);
  if (posix_name[0])
    shm_unlink(posix_name);
}

static void die(const char *what) {
  fprintf(stderr, "shm_target: %s: %s\n", what, strerror(errno));
  remove_objects();
  exit(2);
}

/* splitmix64 of the word index: a cheap, well-mixed pattern, never 0 (a page
 * lost and read back as zeros always shows). */
static inline uint64_t pattern(uint64_t seed, uint64_t i) {
  uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (z ^ (z >> 31)) | 1;
}

static void fill(uint64_t *p, size_t bytes, uint64_t seed) {
  for (size_t i = 0; i < bytes / 8; i++)
    p[i] = pattern(seed, i);
}

/* Number of pages that differ; the first one is described on stderr. */
static size_t check(const uint64_t *p, size_t bytes, uint64_t seed,
                    const char *what) {
  size_t bad = 0;
  for (size_t page = 0; page < bytes / PAGE; page++) {
    const uint64_t *w = p + page * WORDS;
    for (size_t i = 0; i < WORDS; i++) {
      uint64_t want = pattern(seed, page * WORDS + i);
      if (w[i] != want) {
        if (bad == 0)
          fprintf(stderr,
                  "shm_target: %d: %s: page %zu word %zu holds %#llx, "
                  "expected %#llx\n",
                  (int)getpid(), what, page, i, (unsigned long long)w[i],
                  (unsigned long long)want);
        bad++;
        break;
      }
    }
  }
  return bad;
}

static void wait_for_usr1(void) {
  struct timespec tick = {0, 10 * 1000 * 1000};
  while (!go) {
    if (getpid() != root && getppid() != root)
      exit(1);
    nanosleep(&tick, NULL);
  }
}

static int parse_mib(const char *s, size_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || v > (1ull << 20))
    return -1;
  *out = (size_t)v;
  return 0;
}

int main(int argc, char **argv) {
  size_t sysv_mib, posix_mib;
  if (argc != 3 || parse_mib(argv[1], &sysv_mib) ||
      parse_mib(argv[2], &posix_mib)) {
    fprintf(stderr, "usage: shm_target <sysv_mib> <posix_mib>\n");
    return 2;
  }
  const size_t sysv_bytes = sysv_mib << 20, posix_bytes = posix_mib << 20;
  root = getpid();
  struct sigaction sa = {.sa_handler = on_usr1};
  if (sigaction(SIGUSR1, &sa, NULL) != 0)
    die("sigaction");

  uint64_t *sysv = NULL, *posix = NULL;
  if (sysv_bytes > 0) {
    shmid = shmget(IPC_PRIVATE, sysv_bytes, IPC_CREAT | 0600);
    if (shmid < 0)
      die("shmget");
    printf("shmid=%d bytes=%zu\n", shmid, sysv_bytes);
    fflush(stdout);
    sysv = shmat(shmid, NULL, 0);
    if (sysv == (void *)-1)
      die("shmat");
    fill(sysv, sysv_bytes, SYSV_SEED);
  }
  if (posix_bytes > 0) {
    char name[sizeof posix_name];
    snprintf(name, sizeof name, "/cpr-bench-%d", (int)root);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
      die("shm_open");
    memcpy(posix_name, name, sizeof name);
    printf("posix=/dev/shm%s\n", posix_name);
    fflush(stdout);
    if (ftruncate(fd, (off_t)posix_bytes) != 0)
      die("ftruncate");
    posix = mmap(NULL, posix_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (posix == MAP_FAILED)
      die("mmap");
    close(fd);
    fill(posix, posix_bytes, POSIX_SEED);
  }

  fflush(stdout);
  pid_t child = fork();
  if (child < 0)
    die("fork");
  if (child == 0) {
    wait_for_usr1();
    size_t bad = 0;
    if (sysv)
      bad += check(sysv, sysv_bytes, SYSV_SEED, "System V segment (child)");
    if (posix)
      bad += check(posix, posix_bytes, POSIX_SEED, "POSIX object (child)");
    return bad == 0 ? 0 : 3;
  }

  printf("child=%d\nready\n", (int)child);
  fflush(stdout);
  wait_for_usr1();

  char why[512] = "";
  size_t bad_sysv =
      sysv ? check(sysv, sysv_bytes, SYSV_SEED, "System V segment") : 0;
  size_t bad_posix =
      posix ? check(posix, posix_bytes, POSIX_SEED, "POSIX object") : 0;
  if (bad_sysv || bad_posix)
    snprintf(why, sizeof why,
             "%zu System V and %zu POSIX pages differ in the parent; ",
             bad_sysv, bad_posix);
  if (sysv) {
    struct shmid_ds ds;
    if (shmctl(shmid, IPC_STAT, &ds) != 0)
      snprintf(why + strlen(why), sizeof why - strlen(why),
               "shmid %d no longer names a segment (%s); ", shmid,
               strerror(errno));
    else if (ds.shm_segsz != sysv_bytes)
      snprintf(why + strlen(why), sizeof why - strlen(why),
               "shmid %d is a segment of %zu bytes, expected %zu; ", shmid,
               (size_t)ds.shm_segsz, sysv_bytes);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    snprintf(why + strlen(why), sizeof why - strlen(why),
             "the child's check failed (status %#x); ", status);
  if (sysv) {
    shmdt(sysv);
    if (shmctl(shmid, IPC_RMID, NULL) != 0)
      snprintf(why + strlen(why), sizeof why - strlen(why),
               "IPC_RMID of shmid %d: %s; ", shmid, strerror(errno));
  }
  if (posix) {
    munmap(posix, posix_bytes);
    if (shm_unlink(posix_name) != 0)
      snprintf(why + strlen(why), sizeof why - strlen(why),
               "shm_unlink %s: %s; ", posix_name, strerror(errno));
  }
  if (why[0]) {
    why[strlen(why) - 2] = '\0';
    printf("corrupt: %s\n", why);
    return 3;
  }
  printf("ok\n");
  return 0;
}
