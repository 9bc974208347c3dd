/* tty_user: holds /dev/tty open (if it has a controlling terminal) while it
 * counts for ~2 s. What it prints does not depend on having one; SIGHUP,
 * which a terminal going away sends, is ignored. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

int main(void) {
  signal(SIGHUP, SIG_IGN);
  int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
  for (int tick = 0; tick < 40; tick++) {
    printf("tick %d\n", tick);
    fflush(stdout);
    sleep_ms(50);
  }
  if (tty >= 0)
    close(tty);
  return 0;
}
