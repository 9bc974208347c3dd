/* zstd_speed: a machine limit for bench/compress.sh — how fast zstd
 * compresses given bytes on this machine, every core at work.
 *
 *   zstd_speed FILE LEVEL
 *
 * Reads FILE into memory, then compresses it as cpr -c --compress does: in
 * chunks of 8 MiB, each cut into one independent frame per core, each
 * compressed by its own thread. Prints zstd_MBps= (input bytes / time,
 * best of 3) and ratio= (compressed / input). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

enum { chunk = 8 << 20, max_cores = 64 };

struct part {
  ZSTD_CCtx *cctx;
  const char *in;
  size_t len, out_len;
  char *out;
};

static void *compress_part(void *arg) {
  struct part *p = arg;
  p->out_len = ZSTD_compress2(p->cctx, p->out, ZSTD_compressBound(p->len),
                              p->in, p->len);
  return NULL;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s FILE LEVEL\n", argv[0]);
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  struct stat st;
  if (!f || fstat(fileno(f), &st) != 0 || st.st_size == 0) {
    perror(argv[1]);
    return 2;
  }
  size_t size = (size_t)st.st_size;
  char *data = malloc(size);
  if (!data || fread(data, 1, size, f) != size) {
    perror("read");
    return 2;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  int cores = n < 1 ? 1 : n > max_cores ? max_cores : (int)n;
  struct part parts[max_cores];
  for (int i = 0; i < cores; ++i) {
    parts[i].cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(parts[i].cctx, ZSTD_c_compressionLevel,
                           atoi(argv[2]));
    parts[i].out = malloc(ZSTD_compressBound(chunk));
  }
  double best = 0;
  size_t stored = 0;
  for (int rep = 0; rep < 3; ++rep) {
    stored = 0;
    double t0 = now_s();
    for (size_t at = 0; at < size; at += chunk) {
      size_t len = size - at < chunk ? size - at : chunk;
      size_t part = (len / (size_t)cores + 4095) / 4096 * 4096;
      pthread_t threads[max_cores];
      for (int i = 0; i < cores; ++i) {
        size_t from = (size_t)i * part < len ? (size_t)i * part : len;
        parts[i].in = data + at + from;
        parts[i].len = len - from < part ? len - from : part;
        pthread_create(&threads[i], NULL, compress_part, &parts[i]);
      }
      for (int i = 0; i < cores; ++i) {
        pthread_join(threads[i], NULL);
        stored += parts[i].out_len;
      }
    }
    double speed = (double)size / 1e6 / (now_s() - t0);
    best = speed > best ? speed : best;
  }
  printf("zstd_MBps=%.0f\nratio=%.3f\n", best, (double)stored / (double)size);
  return 0;
}
