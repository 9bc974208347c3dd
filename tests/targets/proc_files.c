/* proc_files: holds files of /proc open across a restart (issue 15): its
 * own /proc/self/status and maps (part read), its child's /proc/PID/stat,
 * /proc/meminfo and its /proc/self/fd directory. After ~2 s, checks each
 * still describes the right process, and the maps read goes on where it
 * stopped. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap(void) {
  struct timespec t = {0, 50 * 1000 * 1000};
  nanosleep(&t, NULL);
}

static const char *yes(int ok) { return ok ? "yes" : "no"; }

/* The number after `key` in the text read from `fd` from its start. */
static long field(int fd, const char *key) {
  char text[8192];
  ssize_t n = pread(fd, text, sizeof text - 1, 0);
  text[n > 0 ? n : 0] = '\0';
  char *at = strstr(text, key);
  return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

int main(void) {
  pid_t child = fork();
  if (child == 0) {
    for (int i = 0; i < 60; ++i)
      nap();
    _exit(0);
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", child);
  int status = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  int maps = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  int child_stat = open(path, O_RDONLY | O_CLOEXEC);
  int meminfo = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
  int fds = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char first[16] = "", next[16] = "", fresh[32] = "";
  if (status < 0 || maps < 0 || child_stat < 0 || meminfo < 0 || fds < 0 ||
      read(maps, first, 8) != 8)
    return 1;
  printf("opened\n");
  fflush(stdout);
  for (int i = 0; i < 40; ++i)
    nap();
  int again = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  ssize_t got = read(maps, next, 8);
  pread(again, fresh, 16, 0);
  printf("maps goes on: %s\n", yes(got == 8 && memcmp(fresh, first, 8) == 0 &&
                                   memcmp(fresh + 8, next, 8) == 0));
  printf("status is its own: %s\n", yes(field(status, "Pid:") == getpid()));
  printf("child's stat is the child's: %s\n",
         yes(field(child_stat, "") == child));
  printf("meminfo: %s\n", yes(field(meminfo, "MemTotal:") > 0));
  printf("fd directory open: %s\n", yes(fcntl(fds, F_GETFD) >= 0));
  waitpid(child, NULL, 0);
  return 0;
}
