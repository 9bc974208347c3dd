/* memcpy_speed: this machine's memory copy speed, the reference for cpr's
 * restore speed.
 *
 *   memcpy_speed [mib]        (default 256)
 *
 * Prints two key=value lines, GB = 1e9 bytes, single thread:
 *   memcpy_GBps=<f>              best of 5 memcpy between two pre-touched buffers
 *   first_touch_memcpy_GBps=<f>  best of 3 memcpy into freshly mmapped memory
 *                                (includes the page faults a restore also pays)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *map(size_t len) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  return p;
}

/* Keeps the compiler from treating the copy as dead. */
static void use(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

int main(int argc, char **argv) {
  size_t mib = 256;
  if (argc > 2 || (argc == 2 && (mib = strtoul(argv[1], NULL, 10)) == 0)) {
    fprintf(stderr, "usage: %s [mib]\n", argv[0]);
    return 2;
  }
  const size_t len = mib << 20;
  uint64_t *src = map(len), *dst = map(len);
  for (size_t i = 0; i < len / 8; i++) src[i] = i * 0x9e3779b97f4a7c15ULL;
  memset(dst, 1, len); /* pre-touch */
  use(src);
  use(dst);

  double best = 1e30;
  for (int r = 0; r < 5; r++) {
    double t0 = now_s();
    memcpy(dst, src, len);
    use(dst);
    double t = now_s() - t0;
    if (t < best) best = t;
  }
  if (memcmp(dst, src, len) != 0) {
    fprintf(stderr, "memcpy_speed: copy mismatch\n");
    return 1;
  }
  printf("memcpy_GBps=%.3f\n", (double)len / best / 1e9);

  double best_ft = 1e30;
  for (int r = 0; r < 3; r++) {
    void *fresh = map(len);
    double t0 = now_s();
    memcpy(fresh, src, len);
    use(fresh);
    double t = now_s() - t0;
    if (t < best_ft) best_ft = t;
    munmap(fresh, len);
  }
  printf("first_touch_memcpy_GBps=%.3f\n", (double)len / best_ft / 1e9);
  return 0;
}
