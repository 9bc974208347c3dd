/* heap_avx: a deterministic, single-threaded checkpoint target.
 *
 * Usage: heap_avx [heap_mib] [iterations]
 *
 * Fills a large heap, then makes `iterations` passes over it. Each pass
 * mixes the heap into accumulators that live in AVX2 registers for the whole
 * pass and writes the mixed values back, so both the heap and the vector
 * registers must survive a checkpoint for the final checksum to match. */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_HEAP_MIB 64
#define DEFAULT_ITERATIONS 800
#define PASSES_PER_LINE 16

typedef struct {
  __m256i a, b;
} lanes;

static void fill_heap(uint64_t *heap, size_t words) {
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < words; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    heap[i] = x;
  }
}

/* The loop keeps `acc` in ymm registers from start to end; any lost upper
 * half or lane shows up in the checksum. */
__attribute__((target("avx2"), noinline)) static lanes
mix_pass(uint64_t *heap, size_t words, lanes acc) {
  const __m256i mul = _mm256_set1_epi32(0x01000193);
  const __m256i rot = _mm256_set_epi32(7, 0, 6, 1, 5, 2, 4, 3);
  __m256i *v = (__m256i *)heap;
  for (size_t i = 0; i < words / 4; i++) {
    __m256i x = _mm256_load_si256(v + i);
    acc.a = _mm256_xor_si256(_mm256_mullo_epi32(acc.a, mul), x);
    acc.b = _mm256_add_epi64(acc.b, _mm256_permutevar8x32_epi32(acc.a, rot));
    _mm256_store_si256(v + i, _mm256_xor_si256(x, _mm256_srli_epi64(acc.b, 3)));
  }
  return acc;
}

__attribute__((target("avx2"))) static uint64_t fold(lanes acc) {
  uint64_t out[8] __attribute__((aligned(32)));
  _mm256_store_si256((__m256i *)out, acc.a);
  _mm256_store_si256((__m256i *)(out + 4), acc.b);
  uint64_t sum = 0;
  for (int i = 0; i < 8; i++)
    sum = (sum ^ out[i]) * 0x100000001b3ull;
  return sum;
}

static uint64_t sample_heap(const uint64_t *heap, size_t words) {
  uint64_t sum = 0;
  for (size_t i = 0; i < words; i += 4099)
    sum = (sum ^ heap[i]) * 0x100000001b3ull;
  return sum;
}

static long parse_arg(int argc, char **argv, int index, long fallback) {
  if (argc <= index)
    return fallback;
  long value = strtol(argv[index], NULL, 10);
  if (value <= 0) {
    fprintf(stderr, "heap_avx: bad argument '%s'\n", argv[index]);
    exit(2);
  }
  return value;
}

static void print_progress(long pass, uint64_t lanes_sum, const uint64_t *heap,
                           size_t words) {
  printf("pass %ld lanes %016llx heap %016llx\n", pass,
         (unsigned long long)lanes_sum,
         (unsigned long long)sample_heap(heap, words));
  fflush(stdout);
}

__attribute__((target("avx2"))) static uint64_t
run_passes(uint64_t *heap, size_t words, long iterations) {
  lanes acc = {_mm256_set_epi64x(1, 2, 3, 4), _mm256_set_epi64x(5, 6, 7, 8)};
  for (long pass = 1; pass <= iterations; pass++) {
    acc = mix_pass(heap, words, acc);
    if (pass % PASSES_PER_LINE == 0 || pass == iterations)
      print_progress(pass, fold(acc), heap, words);
  }
  return fold(acc);
}

int main(int argc, char **argv) {
  size_t heap_mib = (size_t)parse_arg(argc, argv, 1, DEFAULT_HEAP_MIB);
  long iterations = parse_arg(argc, argv, 2, DEFAULT_ITERATIONS);
  size_t words = heap_mib * 1024 * 1024 / sizeof(uint64_t);
  uint64_t *heap = aligned_alloc(64, words * sizeof(uint64_t));
  if (!heap) {
    fprintf(stderr, "heap_avx: out of memory\n");
    return 1;
  }
  fill_heap(heap, words);
  printf("heap_avx: %zu MiB, %ld iterations\n", heap_mib, iterations);
  fflush(stdout);

  uint64_t lanes_sum = run_passes(heap, words, iterations);
  printf("checksum %016llx\n",
         (unsigned long long)(lanes_sum ^ sample_heap(heap, words)));
  fflush(stdout);
  free(heap);
  return 0;
}
