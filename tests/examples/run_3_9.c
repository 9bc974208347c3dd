/* Driver of Example 3-9: the guide's ckpt_setup(), renamed so that it does
   not replace the library's, and the library's: both return 0. */
#include <ckpt.h>

#define ckpt_setup sample_ckpt_setup
#include "example_3_9.c"
#undef ckpt_setup

int main(void) {
  if (sample_ckpt_setup(NULL, 0) != 0) {
    fprintf(stderr, "the guide's ckpt_setup() did not return 0\n");
    return 1;
  }
  if (ckpt_setup(NULL, 0) != 0) {
    fprintf(stderr, "ckpt_setup() did not return 0: %s\n", ckpt_errmsg());
    return 1;
  }
  return 0;
}
