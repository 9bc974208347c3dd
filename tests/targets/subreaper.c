/* subreaper: a child subreaper (PR_SET_CHILD_SUBREAPER, issue 15). Its child
 * starts a grandchild and exits at once; the grandchild, reparented to the
 * subreaper, works ~2 s and exits 7, and the subreaper reaps it. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap(void) {
  struct timespec t = {0, 50 * 1000 * 1000};
  nanosleep(&t, NULL);
}

int main(void) {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
    return 1;
  pid_t child = fork();
  if (child == 0) {
    if (fork() == 0) {
      for (int i = 0; i < 40; ++i)
        nap();
      _exit(7);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  printf("child exited %d\n", WEXITSTATUS(status));
  fflush(stdout);
  pid_t reaped;
  while ((reaped = waitpid(-1, &status, WNOHANG)) == 0)
    nap();
  printf("%s exited %d\n", reaped > 0 ? "grandchild" : "nobody",
         reaped > 0 ? WEXITSTATUS(status) : -1);
  int subreaper = 0;
  prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0);
  printf("subreaper %d\n", subreaper);
  return 0;
}
