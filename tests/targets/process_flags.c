/* process_flags: per-process flags a restart must give back (issue 15):
 * personality, no_new_privs, dumpable, the parent-death signal, and the rseq
 * registration glibc made for its thread (the kernel must go on updating its
 * cpu_id). A parent and its child print them, work ~2 s, print them again.
 * Both ask for SIGUSR2 at their parent's death: the parent's own parent is
 * not restored with it, so only the child's is printed. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap(void) {
  struct timespec t = {0, 50 * 1000 * 1000};
  nanosleep(&t, NULL);
}

/* The kernel writes the running CPU into the rseq area on every return to
 * user space of a registered thread; an area no longer registered keeps the
 * value of its last write. */
static int rseq_follows_cpu(void) {
  struct rseq *area =
      (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
  if (__rseq_size == 0)
    return -1; /* glibc did not register: nothing to follow */
  for (int i = 0; i < 20; ++i) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(i % 2 ? 0 : sysconf(_SC_NPROCESSORS_ONLN) - 1, &one);
    sched_setaffinity(0, sizeof one, &one);
    sched_yield();
    unsigned cpu = 0;
    syscall(SYS_getcpu, &cpu, NULL, NULL);
    if (area->cpu_id != cpu)
      return 0;
  }
  return 1;
}

static void show(const char *who, const char *when) {
  int pdeathsig = 0;
  if (strcmp(who, "child") == 0)
    prctl(PR_GET_PDEATHSIG, &pdeathsig);
  printf("%s %s: personality %#x no_new_privs %d dumpable %d pdeathsig %d "
         "rseq %d\n",
         who, when, personality(0xffffffff),
         prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
         prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), pdeathsig, rseq_follows_cpu());
  fflush(stdout);
}

int main(void) {
  if (personality(PER_LINUX | ADDR_NO_RANDOMIZE | UNAME26) < 0 ||
      prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_DUMPABLE, 0) != 0 || prctl(PR_SET_PDEATHSIG, SIGUSR2) != 0)
    return 1;
  pid_t child = fork();
  const char *who = child == 0 ? "child" : "parent";
  if (child == 0) {
    prctl(PR_SET_DUMPABLE, 1);
    prctl(PR_SET_PDEATHSIG, SIGUSR1);
  } else {
    nap(); /* the child's lines first */
  }
  show(who, "before");
  for (int i = 0; i < 40; ++i)
    nap();
  if (child != 0)
    waitpid(child, NULL, 0);
  show(who, "after");
  return 0;
}
