/* touch_mem: benchmark target for cpr.
 *
 *   touch_mem <alloc_mib> <touch_mib> [text]
 *
 * mmaps <alloc_mib> MiB of private anonymous memory, fills the first
 * <touch_mib> MiB with a pseudo-random pattern (incompressible, never a zero
 * page) or, with "text", with words of English-like text in a pseudo-random
 * order (what a log or a table of results compresses like), prints "ready" to stdout and waits for SIGUSR1.  On SIGUSR1 it checks
 * the pattern (and that the untouched rest still reads as zeros), prints "ok"
 * and exits 0, or prints "corrupt ..." and exits 3.  Usage errors exit 2.
 *
 * It is a valid cpr target: one process, one thread, no children, and its only
 * fds are the ones it was started with (stdin /dev/null, stdout/stderr files).
 * The wait is a flag check plus a short sleep, so it does not depend on how an
 * interrupted system call is resumed after a restart.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig) {
  (void)sig;
  got_usr1 = 1;
}

/* splitmix64: a cheap, well-mixed function of the word index. */
static inline uint64_t pattern(uint64_t i) {
  uint64_t z = 0x2545f4914f6cdd1dULL + (i + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return (z ^ (z >> 31)) | 1; /* never 0: a lost page (zero-filled) always shows */
}

/* Eight letters each: one word of text per 64-bit word of memory. */
static const char words[64][9] = {
    "the     ", "process ", "value = ", "result  ", "of      ", "and     ",
    "step    ", "error   ", "matrix  ", "row     ", "column  ", "0.25    ",
    "1.5e-3  ", "done.\n  ", "in      ", "to      ", "a       ", "is      ",
    "time    ", "energy  ", "total   ", "mean    ", "sum     ", "index   ",
    "node    ", "file    ", "reading ", "writing ", "input   ", "output  ",
    "cell    ", "grid    ", "solver  ", "iter    ", "residual", "norm    ",
    "<tag>   ", "</tag>  ", "{\"key\": ", "\"name\", ", "true,   ", "false,  ",
    "null    ", "12345   ", "67890   ", "INFO    ", "WARN    ", "DEBUG   ",
    "user    ", "session ", "request ", "reply   ", "status  ", "200 OK  ",
    "GET /   ", "POST /  ", "http:// ", "www.    ", ".com    ", "data    ",
    "list    ", "map     ", "key     ", "for     "};

static int text;

static inline uint64_t word_at(uint64_t i) {
  if (!text) return pattern(i);
  uint64_t w;
  memcpy(&w, words[pattern(i) >> 58], sizeof w);
  return w;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int parse_mib(const char *s, size_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || v > (1ULL << 24)) return -1;
  *out = (size_t)v;
  return 0;
}

int main(int argc, char **argv) {
  size_t alloc_mib, touch_mib;
  text = argc == 4 && strcmp(argv[3], "text") == 0;
  if ((argc != 3 && !text) || parse_mib(argv[1], &alloc_mib) ||
      parse_mib(argv[2], &touch_mib) || alloc_mib == 0 || touch_mib > alloc_mib) {
    fprintf(stderr, "usage: %s <alloc_mib> <touch_mib> [text]   (0 < alloc, touch <= alloc)\n",
            argv[0]);
    return 2;
  }
  const size_t alloc = alloc_mib << 20, touch = touch_mib << 20;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGUSR1, &sa, NULL) != 0) {
    perror("sigaction");
    return 2;
  }

  uint64_t *mem = mmap(NULL, alloc, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    perror("mmap");
    return 2;
  }

  double t0 = now_s();
  const size_t nwords = touch / sizeof(uint64_t);
  for (size_t i = 0; i < nwords; i++) mem[i] = word_at(i);
  double t1 = now_s();
  fprintf(stderr, "touch_mem: pid %d: %zu MiB mapped at %p, %zu MiB touched in %.3f s\n",
          (int)getpid(), alloc_mib, (void *)mem, touch_mib, t1 - t0);

  printf("ready\n");
  if (fflush(stdout) != 0) return 2;

  /* Sleep in short slices and re-check the flag: no lost-wakeup race, and no
   * reliance on a restart resuming a particular blocking syscall. */
  while (!got_usr1) {
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }

  for (size_t i = 0; i < nwords; i++) {
    if (mem[i] != word_at(i)) {
      printf("corrupt offset=%zu expected=%016llx got=%016llx\n", i * sizeof(uint64_t),
             (unsigned long long)word_at(i), (unsigned long long)mem[i]);
      fflush(stdout);
      return 3;
    }
  }
  /* The untouched part must still read as zeros (one word per page: reading
   * maps the shared zero page, so this costs no memory). */
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  for (size_t off = touch; off < alloc; off += page) {
    uint64_t v = mem[off / sizeof(uint64_t)];
    if (v != 0) {
      printf("corrupt offset=%zu expected=0 got=%016llx (untouched region)\n", off,
             (unsigned long long)v);
      fflush(stdout);
      return 3;
    }
  }
  printf("ok\n");
  fflush(stdout);
  return 0;
}
