/* zombie: a parent forks a child that exits at once with status 7, and does
 * not wait for it for about 1.8 s (the child is a zombie all that time),
 * printing a line every 100 ms. Then it reaps the child, prints its exit
 * status and works a little longer. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ZOMBIE_LINES 18
#define AFTER_LINES 8

static void sleep_ms(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

static uint64_t work(uint64_t x) {
  for (int i = 0; i < 200000; i++)
    x = x * 6364136223846793005ull + 1442695040888963407ull;
  return x;
}

int main(void) {
  fflush(stdout);
  pid_t child = fork();
  if (child < 0) {
    perror("fork");
    return 1;
  }
  if (child == 0)
    _exit(7);
  uint64_t x = 1;
  for (int i = 0; i < ZOMBIE_LINES; i++) {
    x = work(x);
    printf("before wait %d %016llx\n", i, (unsigned long long)x);
    fflush(stdout);
    sleep_ms(100);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child) {
    perror("waitpid");
    return 1;
  }
  if (WIFEXITED(status))
    printf("child exited with status %d\n", WEXITSTATUS(status));
  else
    printf("child killed by signal %d\n", WTERMSIG(status));
  fflush(stdout);
  for (int i = 0; i < AFTER_LINES; i++) {
    x = work(x);
    printf("after wait %d %016llx\n", i, (unsigned long long)x);
    fflush(stdout);
    sleep_ms(100);
  }
  printf("done\n");
  return 0;
}
