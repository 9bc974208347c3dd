/* dirwalk: reads a directory with readdir across a checkpoint.
 *
 * Makes tree/ in its cwd with ENTRIES empty files (and one with contents),
 * then reads it with readdir, one entry a millisecond: glibc fetches about a
 * thousand entries per getdents64, so later ones come from the kernel's
 * directory position, restored after the checkpoint. It also holds an
 * O_PATH fd of tree/, through which it reads a file at the end. Prints how
 * many entries it saw, how many twice and how many never. */
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

#define ENTRIES 2400

static unsigned char seen[ENTRIES];

static void sleep_ms(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

static int make_tree(void) {
  char name[64];
  if (mkdir("tree", 0755) != 0)
    return -1;
  for (int i = 0; i < ENTRIES; i++) {
    snprintf(name, sizeof name, "tree/entry-%05d", i);
    int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
      return -1;
    if (i == 42 && write(fd, "the answer\n", 11) != 11)
      return -1;
    close(fd);
  }
  return 0;
}

static void read_through(int dirfd) {
  char buf[64] = {0};
  int fd = openat(dirfd, "entry-00042", O_RDONLY);
  if (fd < 0 || read(fd, buf, sizeof buf - 1) < 0) {
    printf("cannot read entry-00042 through the O_PATH fd\n");
    return;
  }
  printf("through O_PATH: %s", buf);
  close(fd);
}

int main(void) {
  if (make_tree() != 0) {
    perror("tree");
    return 1;
  }
  int path_fd = open("tree", O_PATH | O_DIRECTORY);
  DIR *dir = opendir("tree");
  if (path_fd < 0 || !dir) {
    perror("open tree");
    return 1;
  }
  printf("walking %d entries\n", ENTRIES);
  fflush(stdout);
  int total = 0, twice = 0, missing = 0, dots = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    total++;
    int i;
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      dots++;
    else if (sscanf(e->d_name, "entry-%d", &i) == 1 && i >= 0 && i < ENTRIES)
      twice += seen[i]++ > 0;
    sleep_ms(1);
  }
  for (int i = 0; i < ENTRIES; i++)
    missing += !seen[i];
  printf("read %d entries (%d dots), %d twice, %d never\n", total, dots, twice,
         missing);
  read_through(path_fd);
  closedir(dir);
  return 0;
}
