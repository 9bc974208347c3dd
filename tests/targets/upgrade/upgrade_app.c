/* upgrade_app: the program of the upgrade test (issue 17), built twice
 * (RELEASE "A" and "B") with its library libupgrade.so beside it. For ~2 s
 * it prints which release of itself and of its library runs. A restart
 * after both were replaced by release B must go on running release A. */
#include <stdio.h>
#include <time.h>

const char *library_release(void);

int main(void) {
  for (int round = 0; round < 40; ++round) {
    printf("round %d: program %s, library %s\n", round, RELEASE,
           library_release());
    fflush(stdout);
    struct timespec t = {0, 50 * 1000 * 1000};
    while (nanosleep(&t, &t) != 0)
      ;
  }
  return 0;
}
