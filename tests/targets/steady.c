/* steady: a target for killing cpr at random moments (issue 14).
 *
 * Usage: steady heap_mib [catch]
 *
 * Fills a heap, prints "ready", then works until a file "stop" appears in
 * its cwd. Main checks an invariant kept in AVX registers (ymm, upper halves
 * included) and x87/SSE values on every iteration; one thread is blocked in
 * read() on a pipe, one in a futex wait, one in nanosleep loops. Each reports
 * anything odd (a wrong register, an error from its call), so the output
 * only matches an uninterrupted run's if every thread was left with its own
 * registers, FPU state, signal mask and system call. "catch": handlers for
 * SIGURG, SIGWINCH and SIGCHLD (which cpr then cannot use). */
#include <errno.h>
#include <immintrin.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int wake[2];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static volatile int stopping, done;
static uint64_t *heap;
static size_t words;
static sigset_t own_mask;
static char reader_line[128], waiter_line[128], sleeper_line[128];

static int mask_intact(void) {
  sigset_t now;
  pthread_sigmask(SIG_SETMASK, NULL, &now);
  for (int sig = 1; sig < 65; sig++)
    if (sigismember(&now, sig) != sigismember(&own_mask, sig))
      return 0;
  return 1;
}

static uint64_t sample_heap(void) {
  uint64_t sum = 0;
  for (size_t i = 0; i < words; i += 4099)
    sum = (sum ^ heap[i]) * 0x100000001b3ull;
  return sum;
}

static void *reader(void *arg) {
  (void)arg;
  char byte;
  ssize_t n = read(wake[0], &byte, 1);
  snprintf(reader_line, sizeof reader_line, "reader: %s heap %016llx mask %s",
           n == 1 ? "ok" : strerror(errno),
           (unsigned long long)sample_heap(), mask_intact() ? "ok" : "bad");
  return NULL;
}

static void *waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  while (!done)
    pthread_cond_wait(&cond, &lock);
  pthread_mutex_unlock(&lock);
  snprintf(waiter_line, sizeof waiter_line, "waiter: ok mask %s",
           mask_intact() ? "ok" : "bad");
  return NULL;
}

static void *sleeper(void *arg) {
  (void)arg;
  int bad = 0;
  while (!stopping) {
    struct timespec t = {0, 20 * 1000 * 1000};
    if (nanosleep(&t, NULL) != 0)
      bad++; /* nothing here interrupts it: cpr must leave no EINTR */
  }
  snprintf(sleeper_line, sizeof sleeper_line, "sleeper: %d errors mask %s",
           bad, mask_intact() ? "ok" : "bad");
  return NULL;
}

/* The accumulators stay in ymm registers between the checks; any lost
 * upper half, lane or x87 value is counted. */
__attribute__((target("avx2"))) static long avx_loop(void) {
  __m256i a = _mm256_set_epi64x(1, 2, 3, 4);
  __m256i b = _mm256_set_epi64x(0x1111, 0x2222, 0x3333, 0x4444);
  __m256i k = _mm256_set1_epi64x(0x0101010101010101ll);
  volatile double x = 1.0;
  long wrong = 0;
  for (unsigned long i = 1; !stopping; i++) {
    __asm__ volatile("vpaddq %1, %0, %0\n\tvpsubq %1, %0, %0"
                     : "+x"(a)
                     : "x"(k));
    __asm__ volatile("vpxor %1, %0, %0\n\tvpxor %1, %0, %0"
                     : "+x"(b)
                     : "x"(a));
    __m256i want = _mm256_set_epi64x(1, 2, 3, 4);
    __m256i diff = _mm256_xor_si256(a, want);
    if (!_mm256_testz_si256(diff, diff) ||
        _mm256_extract_epi64(b, 3) != 0x1111)
      wrong++;
    x = x * 3.0 / 3.0;
    if ((i & 0xfffff) == 0 && access("stop", F_OK) == 0)
      stopping = 1;
  }
  return wrong + (x != 1.0);
}

static void on_signal(int sig) { (void)sig; }

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
  if (argc > 2 && strcmp(argv[2], "catch") == 0)
    for (int sig = 1; sig < 65; sig++)
      if (sig == SIGURG || sig == SIGWINCH || sig == SIGCHLD)
        signal(sig, on_signal);
  sigemptyset(&own_mask);
  sigaddset(&own_mask, SIGUSR2);
  pthread_sigmask(SIG_SETMASK, &own_mask, NULL);
  words = mib * 1024 * 1024 / sizeof(uint64_t);
  heap = malloc(words * sizeof(uint64_t));
  if (!heap || pipe(wake) != 0)
    return 1;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < words; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    heap[i] = x;
  }
  pthread_t threads[3];
  pthread_create(&threads[0], NULL, reader, NULL);
  pthread_create(&threads[1], NULL, waiter, NULL);
  pthread_create(&threads[2], NULL, sleeper, NULL);
  printf("ready\n");
  fflush(stdout);
  long wrong = avx_loop();
  if (write(wake[1], "w", 1) != 1)
    return 1;
  pthread_mutex_lock(&lock);
  done = 1;
  pthread_cond_signal(&cond);
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < 3; i++)
    pthread_join(threads[i], NULL);
  printf("%s\n%s\n%s\nmain: %ld wrong mask %s\n", reader_line, waiter_line,
         sleeper_line, wrong, mask_intact() ? "ok" : "bad");
  return 0;
}
