/* Counts to 40, every 75 ms, with a SIGCKPT and a SIGRESTART callback
 * registered by atcheckpoint() and atrestart(). argv[1]: how many seconds the
 * checkpoint callback takes (default 0), or "none": no callback at all
 * (bench/events.sh compares the two). The callbacks' lines are the only
 * ones an uninterrupted run does not print. */
#include <ckpt.h>
#include <unistd.h>

static unsigned handler_seconds;

static void say(const char *line) { write(1, line, strlen(line)); }

static void on_checkpoint(void) {
  say("checkpoint handler\n");
  sleep(handler_seconds);
  say("checkpoint handler returned\n");
}

static void on_restart(void) { say("restart handler\n"); }

int main(int argc, char **argv) {
  if (argc > 1)
    handler_seconds = (unsigned)atoi(argv[1]);
  int callbacks = argc < 2 || strcmp(argv[1], "none") != 0;
  if (callbacks &&
      (atcheckpoint(on_checkpoint) == -1 || atrestart(on_restart) == -1)) {
    perror("atcheckpoint");
    return 1;
  }
  char line[32];
  for (int i = 0; i < 40; ++i) {
    int n = snprintf(line, sizeof line, "%d\n", i);
    write(1, line, (size_t)n);
    usleep(75 * 1000);
  }
  return 0;
}
