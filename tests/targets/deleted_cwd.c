/* deleted_cwd [root]: works in a directory it made and removed (issue 15):
 * the directory stays its working directory, empty, reachable by no path.
 * "root": also its root directory (chroot), as a build sandbox may leave
 * it. Prints, every 100 ms for ~2 s, what it can see of its directory. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void show(int i) {
  char cwd[4096] = "";
  const char *deleted = "?";
  if (getcwd(cwd, sizeof cwd) == NULL && errno == ENOENT)
    deleted = "unreachable"; /* glibc: the kernel's path is not absolute */
  else
    deleted = strstr(cwd, "(deleted)") ? "deleted" : cwd;
  struct stat st;
  int mode = stat(".", &st) == 0 ? (int)(st.st_mode & 07777) : -1;
  int made = open("new-file", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  int entries = 0;
  DIR *d = opendir(".");
  for (struct dirent *e; d && (e = readdir(d));)
    ++entries;
  if (d)
    closedir(d);
  printf("%d: cwd %s, mode %o, %d entries, create: %s\n", i, deleted, mode,
         entries, made < 0 ? strerror(errno) : "made");
  fflush(stdout);
}

int main(int argc, char **argv) {
  int as_root = argc > 1 && strcmp(argv[1], "root") == 0;
  char dir[] = "/tmp/cpr-deleted-cwd-XXXXXX";
  int tmp = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (tmp < 0 || !mkdtemp(dir) || chmod(dir, 0750) != 0 || chdir(dir) != 0)
    return 1;
  if (as_root && chroot(".") != 0)
    return 2;
  /* Through /tmp's fd: inside the new root, no path leads there. */
  if (unlinkat(tmp, dir + strlen("/tmp/"), AT_REMOVEDIR) != 0)
    return 3;
  close(tmp);
  for (int i = 1; i <= 20; ++i) {
    struct timespec t = {0, 100 * 1000 * 1000};
    nanosleep(&t, NULL);
    show(i);
  }
  return 0;
}
