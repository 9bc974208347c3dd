/* Driver of Example 3-1 (example_3_1.c has main()): the four handlers it
   registers, each writing its name on a line, and processing(), 30 numbered
   lines 100 ms apart. Handler lines are written with write(2), unbuffered,
   and each processing line is flushed at once, so the order of the lines in
   the output is the order in which they happened. */
#include <ckpt.h>
#include <unistd.h>

static void say(const char *line) {
  ssize_t ignored = write(1, line, strlen(line));
  (void)ignored;
}

void ckptSocket(void) { say("ckptSocket\n"); }
void ckptXserver(void) { say("ckptXserver\n"); }
void restartSocket(void) { say("restartSocket\n"); }
void restartXserver(void) { say("restartXserver\n"); }

/* Sleeps the whole `ms`, however often a handler interrupts it. */
static void pause_ms(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) == -1 && errno == EINTR) {
  }
}

void processing(void) {
  for (int i = 1; i <= 30; ++i) {
    printf("processing %d\n", i);
    fflush(stdout);
    pause_ms(100);
  }
}

#include "example_3_1.c"
