/* A statically linked counter: it runs inside a bare chroot, where no
   shared library is. Prints a line every 50 ms for about 2 s. */
#include <stdio.h>
#include <time.h>

int main(void) {
  unsigned long long x = 1;
  for (int i = 0; i < 40; ++i) {
    for (int k = 0; k < 100000; ++k)
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    printf("%d %016llx\n", i, x);
    fflush(stdout);
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  printf("done\n");
  return 0;
}
