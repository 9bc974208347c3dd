/* Driver of Example 3-6: run_3_6 PATH. Exits 0 if do_restart() returned 0. */
#include <ckpt.h>

#include "example_3_6.c"

int main(int argc, char *argv[]) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH\n", argv[0]);
    return 2;
  }
  return do_restart(argv[1]) == 0 ? 0 : 1;
}
