/* Driver of Example 3-5: run_3_5 ID TYPE PATH, TYPE one of PID, GID, SID,
   HID. Exits 0 if do_checkpoint() returned 0. */
#include <ckpt.h>

#include "example_3_5.c"

int main(int argc, char *argv[]) {
  static const struct {
    const char *name;
    u_long type;
  } types[] = {{"PID", P_PID}, {"GID", P_PGID}, {"SID", P_SID}, {"HID", P_HID}};
  if (argc == 4)
    for (size_t i = 0; i < sizeof types / sizeof types[0]; ++i)
      if (strcmp(argv[2], types[i].name) == 0)
        return do_checkpoint(strtoll(argv[1], NULL, 10), types[i].type,
                             argv[3]) == 0
                   ? 0
                   : 1;
  fprintf(stderr, "usage: %s ID PID|GID|SID|HID PATH\n", argv[0]);
  return 2;
}
