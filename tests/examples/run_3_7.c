/* Driver of Example 3-7: run_3_7 PATH. Exits 0 if ckpt_info() returned 0. */
#include <ckpt.h>

#include "example_3_7.c"

int main(int argc, char *argv[]) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH\n", argv[0]);
    return 2;
  }
  return ckpt_info(argv[1]) == 0 ? 0 : 1;
}
