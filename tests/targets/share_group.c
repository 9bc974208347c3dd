#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
/* A share group: a parent and a child made by clone(CLONE_VM) take turns
   on a counter in their one address space (a plain global), ~2 s. */
static char stack[65536];
static volatile long counter;
static volatile int turn;
static int child(void *a) {
  for (int i = 0; i < 40; ++i) {
    while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != 1) { struct timespec t = {0, 1000000}; nanosleep(&t, 0); }
    counter += 3; __atomic_store_n(&turn, 0, __ATOMIC_RELEASE);
  }
  return 7;
}
int main() {
  pid_t c = clone(child, stack + sizeof stack, CLONE_VM | SIGCHLD, NULL);
  for (int i = 0; i < 40; ++i) {
    while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != 0) { struct timespec t = {0, 1000000}; nanosleep(&t, 0); }
    counter += 1; printf("%d %ld\n", i, counter); fflush(stdout);
    struct timespec t = {0, 50000000}; nanosleep(&t, 0);
    __atomic_store_n(&turn, 1, __ATOMIC_RELEASE);
  }
  int st; waitpid(c, &st, 0); printf("counter %ld child %d\n", counter, WEXITSTATUS(st)); return 0;
}
