/* Driver of Example 3-8: run_3_8 PATH. Exits 0 if do_remove() returned 0. */
#include <ckpt.h>

#include "example_3_8.c"

int main(int argc, char *argv[]) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH\n", argv[0]);
    return 2;
  }
  return do_remove(argv[1]) == 0 ? 0 : 1;
}
