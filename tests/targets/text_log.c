/* text_log: a target whose memory is text, as a program keeping a log or
 * a table of results in memory holds it (issue 19, --compress).
 *
 * Usage: text_log mib
 *
 * Writes `mib` MiB of numbered log lines into anonymous memory, leaves as
 * much again mapped but untouched (pages that read as zeros), prints
 * "ready", and waits until a file "stop" appears in its cwd. Then it checks
 * every line and that the untouched half still reads as zeros, and prints
 * "intact" or the first line found wrong. Its output is the same however
 * long it ran. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const events[] = {
    "solver converged", "checkpoint taken", "grid refined",
    "residual above tolerance", "step accepted", "step rejected",
    "writing results", "reading input"};

/* Line `n` of the log, as it is written; its length. */
static int line(char *out, size_t room, uint64_t n) {
  uint64_t x = n * 0x9e3779b97f4a7c15ULL;
  x ^= x >> 29;
  return snprintf(out, room, "%08llu t=%llu.%03llu energy=%llu.%06llu %s\n",
                  (unsigned long long)n, (unsigned long long)(n / 50),
                  (unsigned long long)(n % 50 * 20),
                  (unsigned long long)(x % 1000),
                  (unsigned long long)(x >> 40) % 1000000, events[x % 8]);
}

int main(int argc, char **argv) {
  size_t bytes = (argc > 1 ? strtoul(argv[1], NULL, 10) : 16) << 20;
  char *log = mmap(NULL, 2 * bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (log == MAP_FAILED)
    return 2;
  char buf[128];
  uint64_t lines = 0;
  size_t used = 0;
  for (int n; used + (n = line(buf, sizeof buf, lines)) <= bytes; ++lines) {
    memcpy(log + used, buf, (size_t)n);
    used += (size_t)n;
  }
  printf("ready\n");
  fflush(stdout);
  while (access("stop", F_OK) != 0)
    usleep(20000);
  size_t at = 0;
  for (uint64_t n = 0; n < lines; ++n) {
    int len = line(buf, sizeof buf, n);
    if (memcmp(log + at, buf, (size_t)len) != 0) {
      printf("line %llu damaged\n", (unsigned long long)n);
      return 3;
    }
    at += (size_t)len;
  }
  for (size_t off = bytes; off < 2 * bytes; off += 4096)
    if (log[off] != 0) {
      printf("untouched page at %zu not zero\n", off);
      return 3;
    }
  printf("intact\n");
  return 0;
}
