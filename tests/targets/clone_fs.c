/* clone_fs [files]: a parent and a child made by clone(CLONE_FS), which
 * share one working directory, root and umask (issue 15). After ~2 s the
 * child moves to the directory "moved" and sets its umask to 077, then
 * exits; the parent, which did neither, prints where it is and its umask.
 * "files": clone(CLONE_FILES) instead, one fd table: after ~2 s the child
 * opens a file and writes to it, closes the parent's fd 3 and exits; the
 * parent prints what it then finds at both fd numbers. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap(void) {
  struct timespec t = {0, 50 * 1000 * 1000};
  nanosleep(&t, NULL);
}

int main(int argc, char **argv) {
  int files = argc > 1 && strcmp(argv[1], "files") == 0;
  if (mkdir("moved", 0755) != 0)
    return 1;
  if (files && open("before", O_CREAT | O_RDWR, 0644) != 3)
    return 1;
  /* Without CLONE_VM a raw clone needs no stack: the child runs on a copy. */
  long child = syscall(SYS_clone, (files ? CLONE_FILES : CLONE_FS) | SIGCHLD, 0,
                       0, 0, 0);
  if (child < 0)
    return 2;
  for (int i = 0; i < 40; ++i)
    nap();
  if (child == 0 && files) {
    int fd = open("note", O_CREAT | O_RDWR, 0644);
    if (fd < 0 || write(fd, "written by the child", 20) != 20)
      _exit(3);
    close(3);
    _exit(fd);
  }
  if (child == 0) {
    if (chdir("moved") != 0)
      _exit(3);
    umask(077);
    _exit(0);
  }
  int status = 0;
  waitpid((pid_t)child, &status, 0);
  if (files) {
    int fd = WEXITSTATUS(status);
    char note[64] = "";
    ssize_t n = pread(fd, note, sizeof note - 1, 0);
    printf("child exited; its fd %d here: %s; fd 3 %s\n", fd,
           n > 0 ? note : "missing", fcntl(3, F_GETFD) < 0 ? "closed" : "open");
    return 0;
  }
  char cwd[4096] = "";
  if (!getcwd(cwd, sizeof cwd))
    return 4;
  mode_t mask = umask(0);
  const char *base = strrchr(cwd, '/');
  int moved = base && strcmp(base + 1, "moved") == 0;
  printf("child exited %d; parent %s, umask %03o\n", WEXITSTATUS(status),
         moved ? "moved with it" : "where it was", (unsigned)mask);
  return 0;
}
