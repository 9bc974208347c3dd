/* ledger: a target that changes a hundredth of its memory at each step
 * (issue 19, incremental checkpoints: cpr -c --since).
 *
 * Usage: ledger mib
 *
 * Fills `mib` MiB with pages that each say which page they are and how
 * often they were rewritten, prints "ready", then waits. Each time a file
 * "step" appears in its cwd it rewrites every hundredth page (a different
 * hundredth each step), removes the file and prints "step N". When a file
 * "stop" appears it checks every page against the steps it took and prints
 * "intact", or the first page found wrong. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

enum { page_words = 4096 / sizeof(uint64_t), stride = 100 };

static uint64_t word(size_t page, size_t i, uint64_t gen) {
  return (gen << 40 | page << 12 | i) * 0x9e3779b97f4a7c15ULL;
}

static void write_page(uint64_t *p, size_t page, uint64_t gen) {
  for (size_t i = 0; i < page_words; ++i)
    p[i] = word(page, i, gen);
}

/* How often page `page` was rewritten after `steps` steps. */
static uint64_t generation(size_t page, unsigned steps) {
  uint64_t gen = 1;
  for (unsigned s = 1; s <= steps; ++s)
    gen += page % stride == s % stride;
  return gen;
}

int main(int argc, char **argv) {
  size_t pages = (argc > 1 ? strtoul(argv[1], NULL, 10) : 16) << 8;
  uint64_t *m = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED)
    return 2;
  for (size_t p = 0; p < pages; ++p)
    write_page(m + p * page_words, p, 1);
  printf("ready\n");
  fflush(stdout);
  unsigned steps = 0;
  for (;;) {
    if (access("stop", F_OK) == 0)
      break;
    if (access("step", F_OK) != 0) {
      usleep(10000);
      continue;
    }
    ++steps;
    for (size_t p = steps % stride; p < pages; p += stride)
      write_page(m + p * page_words, p, generation(p, steps));
    unlink("step");
    printf("step %u\n", steps);
    fflush(stdout);
  }
  for (size_t p = 0; p < pages; ++p)
    for (size_t i = 0; i < page_words; ++i)
      if (m[p * page_words + i] != word(p, i, generation(p, steps))) {
        printf("page %zu damaged\n", p);
        return 3;
      }
  printf("intact\n");
  return 0;
}
