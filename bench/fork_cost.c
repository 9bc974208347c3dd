/* fork_cost: what the kernel takes to copy a process's page tables, the
 * floor of a copy-on-write snapshot (cpr -c -g forks each process while it
 * is frozen).
 *
 *   fork_cost <mib> [tries]
 *
 * Touches <mib> MiB of private anonymous memory (4 KiB pages, as a program's
 * heap has them unless it asks for huge pages), then times fork() `tries`
 * times (default 3), the child exiting at once. Prints fork_ms=<best>. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: fork_cost mib [tries]\n");
    return 2;
  }
  size_t len = (size_t)atol(argv[1]) << 20;
  int tries = argc == 3 ? atoi(argv[2]) : 3;
  char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  madvise(p, len, MADV_NOHUGEPAGE);
  for (size_t i = 0; i < len; i += 4096)
    p[i] = (char)(i >> 12 | 1);
  double best = -1;
  for (int t = 0; t < tries; t++) {
    double start = now_ms();
    pid_t child = fork();
    if (child == 0)
      _exit(0);
    double took = now_ms() - start;
    if (child < 0) {
      perror("fork");
      return 1;
    }
    waitpid(child, NULL, 0);
    if (best < 0 || took < best)
      best = took;
  }
  printf("fork_ms=%.2f\n", best);
  return 0;
}
