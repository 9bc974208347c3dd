/* deleted_file: writes to and reads back a file it deleted while open.
 *
 * Opens tmp/scratch.dat twice (two open files of one inode: a writer and a
 * reader, each with its own offset), unlinks it, puts one byte 8 MiB in
 * (a hole before it), then in rounds writes a record through the writer and
 * reads it back through the reader. At the end it says whether both still
 * share one unlinked inode, the hole is still a hole, and every record came
 * back. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 60
#define RECORD 16
#define FAR (8L << 20)

static void sleep_ms(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

static int read_exactly(int fd, char *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = read(fd, buf + done, len - done);
    if (n <= 0)
      return -1;
    done += (size_t)n;
  }
  return 0;
}

int main(void) {
  if (mkdir("tmp", 0755) != 0 && errno != EEXIST)
    return 1;
  /* As sqlite opens its temporary files. */
  int writer = open("tmp/scratch.dat",
                    O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW, 0640);
  int reader = open("tmp/scratch.dat", O_RDONLY);
  if (writer < 0 || reader < 0 || unlink("tmp/scratch.dat") != 0) {
    perror("scratch.dat");
    return 1;
  }
  if (pwrite(writer, "H", 1, FAR) != 1)
    return 1;
  int good = 0;
  for (int round = 0; round < ROUNDS; round++) {
    char record[RECORD + 1], back[RECORD + 1] = {0};
    snprintf(record, sizeof record, "record %07d\n", round);
    if (write(writer, record, RECORD) != RECORD)
      return 1;
    sleep_ms(40);
    if (read_exactly(reader, back, RECORD) == 0 &&
        memcmp(record, back, RECORD) == 0)
      good++;
    printf("round %d: %s", round, back);
    fflush(stdout);
  }
  struct stat w, r;
  char far = 0;
  fstat(writer, &w);
  fstat(reader, &r);
  if (pread(reader, &far, 1, FAR) != 1)
    far = '?';
  printf("%d of %d records read back\n", good, ROUNDS);
  printf("one inode: %s, links: %ld, mode: %o, size: %ld\n",
         w.st_ino == r.st_ino && w.st_dev == r.st_dev ? "yes" : "no",
         (long)w.st_nlink, (unsigned)(w.st_mode & 07777), (long)w.st_size);
  printf("hole kept: %s, byte at 8 MiB: %c\n",
         w.st_blocks * 512L < (1L << 20) ? "yes" : "no", far);
  return 0;
}
