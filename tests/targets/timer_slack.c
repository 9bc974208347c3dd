/* timer_slack: sets its timer slack (PR_SET_TIMERSLACK) to 123456 ns,
 * works ~2 s, and prints the slack it has then: a state no built-in plugin
 * carries, for the remap test's plugins (tests/remap). */
#include <stdio.h>
#include <sys/prctl.h>
#include <time.h>

int main(void) {
  if (prctl(PR_SET_TIMERSLACK, 123456UL) != 0)
    return 1;
  for (int i = 0; i < 40; ++i) {
    struct timespec t = {0, 50 * 1000 * 1000};
    while (nanosleep(&t, &t) != 0)
      ;
  }
  printf("timer slack %d\n", prctl(PR_GET_TIMERSLACK));
  return 0;
}
