/* mapped_files: keeps running sums in a file it maps MAP_SHARED and in a
 * copy-on-write MAP_PRIVATE mapping of another file, ~2.5 s. At the end it
 * prints what the shared file holds (read back with read(), so it is the
 * file and not only the mapping) and what the private mapping holds, while
 * the private file itself must be untouched. Files are made in the cwd. */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define WORDS 2048 /* 16 KiB: four pages */

static uint64_t *map_file(const char *name, int flags) {
  int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
  uint64_t zero[WORDS] = {0};
  for (int i = 0; i < WORDS; ++i)
    zero[i] = (uint64_t)i;
  if (fd < 0 || write(fd, zero, sizeof zero) != (ssize_t)sizeof zero) {
    perror(name);
    return NULL;
  }
  void *p = mmap(NULL, sizeof zero, PROT_READ | PROT_WRITE, flags, fd, 0);
  close(fd);
  return p == MAP_FAILED ? NULL : p;
}

static uint64_t checksum(const uint64_t *w) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int i = 0; i < WORDS; ++i)
    h = (h ^ w[i]) * 0x100000001b3ull;
  return h;
}

static uint64_t file_checksum(const char *name) {
  uint64_t w[WORDS];
  int fd = open(name, O_RDONLY);
  ssize_t n = fd < 0 ? -1 : read(fd, w, sizeof w);
  if (fd >= 0)
    close(fd);
  return n == (ssize_t)sizeof w ? checksum(w) : 0;
}

int main(void) {
  uint64_t *shared = map_file("shared.bin", MAP_SHARED);
  uint64_t *private = map_file("private.bin", MAP_PRIVATE);
  if (!shared || !private)
    return 1;
  uint64_t untouched = file_checksum("private.bin");
  for (int round = 0; round < 50; ++round) {
    for (int i = round % 7; i < WORDS; i += 7) {
      shared[i] = shared[i] * 3 + (uint64_t)round;
      private[i] = private[i] * 5 + (uint64_t)round;
    }
    if (round % 10 == 0) {
      printf("round %d shared %016llx private %016llx\n", round,
             (unsigned long long)checksum(shared),
             (unsigned long long)checksum(private));
      fflush(stdout);
    }
    struct timespec t = {0, 50000000};
    nanosleep(&t, NULL);
  }
  printf("shared file %016llx\n", (unsigned long long)file_checksum("shared.bin"));
  printf("private mapping %016llx\n", (unsigned long long)checksum(private));
  printf("private file %s\n",
         file_checksum("private.bin") == untouched ? "untouched" : "CHANGED");
  return 0;
}
