/* big_memory MIB: fills MIB MiB with a pattern, then for 3 s counts on
 * while it sleeps, and checks every byte is still what it wrote. Prints the
 * same lines however long a checkpoint in between took. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t pattern(uint64_t i) {
  uint64_t x = i * 0x9e3779b97f4a7c15ULL;
  x ^= x >> 31;
  return x * 0xbf58476d1ce4e5b9ULL;
}

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
  size_t words = mib << 17; /* 8-byte words */
  uint64_t *m = mmap(NULL, words * 8, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED)
    return 2;
  for (size_t i = 0; i < words; ++i)
    m[i] = pattern(i);
  printf("filled %zu MiB\n", mib);
  fflush(stdout);
  for (int step = 1; step <= 30; ++step)
    usleep(100000);
  size_t wrong = 0;
  for (size_t i = 0; i < words; ++i)
    wrong += m[i] != pattern(i);
  printf("%s\ndone\n", wrong ? "pattern damaged" : "pattern intact");
  return 0;
}
