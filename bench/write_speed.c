/* write_speed: raw durable write speed of a filesystem, the reference for
 * cpr's checkpoint speed.
 *
 *   write_speed <dir> <mib> [reps]      (reps default 3)
 *
 * Each rep creates a new file in <dir>, writes <mib> MiB to it with 4 MiB
 * write()s from a pre-touched buffer of incompressible data (no /dev/zero
 * short cuts), fdatasync()s and closes it; the time from open to close is
 * measured, then the file is removed.  Prints, MB = 1e6 bytes:
 *   write_MBps=<f>   best rep
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (4u << 20)
#define BUF (64u << 20) /* cycled through, so consecutive chunks differ */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: %s <dir> <mib> [reps]\n", argv[0]);
    return 2;
  }
  const size_t mib = strtoul(argv[2], NULL, 10);
  const int reps = argc == 4 ? atoi(argv[3]) : 3;
  if (mib == 0 || reps <= 0) {
    fprintf(stderr, "write_speed: bad size or reps\n");
    return 2;
  }
  const size_t total = mib << 20;

  uint64_t *buf = malloc(BUF);
  if (!buf) {
    perror("malloc");
    return 1;
  }
  uint64_t x = 0x243f6a8885a308d3ULL; /* xorshift64: incompressible bytes */
  for (size_t i = 0; i < BUF / 8; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    buf[i] = x;
  }

  char path[4096];
  snprintf(path, sizeof path, "%s/.write_speed.%d", argv[1], (int)getpid());
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    double t0 = now_s();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      fprintf(stderr, "write_speed: open %s: %s\n", path, strerror(errno));
      return 1;
    }
    size_t done = 0;
    while (done < total) {
      size_t n = total - done < CHUNK ? total - done : CHUNK;
      ssize_t w = write(fd, (char *)buf + done % BUF, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        fprintf(stderr, "write_speed: write %s: %s\n", path, strerror(errno));
        unlink(path);
        return 1;
      }
      done += (size_t)w;
    }
    if (fdatasync(fd) != 0 || close(fd) != 0) {
      fprintf(stderr, "write_speed: sync/close %s: %s\n", path, strerror(errno));
      unlink(path);
      return 1;
    }
    double t = now_s() - t0;
    unlink(path);
    if (t < best) best = t;
  }
  free(buf);
  printf("write_MBps=%.1f\n", (double)total / best / 1e6);
  return 0;
}
