/* locks: holds POSIX, OFD and flock locks across a checkpoint, and a child
 * it forks checks all the while that they are held.
 *
 * posix.dat: a POSIX write lock on bytes 0-9 and a read lock from byte 20
 * to the end (10-19 free); ofd.dat: an OFD write lock on the whole file;
 * flock.dat: an exclusive flock; its cwd: a shared flock. The checker, a
 * separate process, looks with F_GETLK, F_OFD_GETLK and flock(LOCK_NB)
 * every 50 ms and exits with a bit set for every lock it once found
 * missing; the parent prints that. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 50

enum {
  POSIX_WRITE = 1,
  POSIX_GAP = 2,
  POSIX_READ = 4,
  OFD_WRITE = 8,
  FLOCK_EX = 16,
  FLOCK_DIR = 32,
};

static void sleep_ms(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

static int range_lock(int fd, int cmd, short type, off_t start, off_t len) {
  struct flock fl = {
      .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  return fcntl(fd, cmd, &fl);
}

/* What stops a write lock on [start, start + len), as F_GETLK says. */
static struct flock blocker(int fd, int cmd, off_t start, off_t len) {
  struct flock fl = {
      .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  if (fcntl(fd, cmd, &fl) != 0)
    fl.l_type = -1;
  return fl;
}

static int check_posix(void) {
  int fd = open("posix.dat", O_RDWR), missing = 0;
  struct flock w = blocker(fd, F_GETLK, 0, 10);
  struct flock gap = blocker(fd, F_GETLK, 10, 10);
  struct flock r = blocker(fd, F_GETLK, 20, 0);
  if (w.l_type != F_WRLCK || w.l_pid != getppid() || w.l_start != 0 ||
      w.l_len != 10)
    missing |= POSIX_WRITE;
  if (gap.l_type != F_UNLCK)
    missing |= POSIX_GAP;
  if (r.l_type != F_RDLCK || r.l_pid != getppid() || r.l_start != 20 ||
      r.l_len != 0)
    missing |= POSIX_READ;
  close(fd);
  return missing;
}

static int check_others(void) {
  int missing = 0;
  int ofd = open("ofd.dat", O_RDWR);
  struct flock o = blocker(ofd, F_OFD_GETLK, 0, 0);
  if (o.l_type != F_WRLCK || o.l_pid != -1)
    missing |= OFD_WRITE;
  close(ofd);
  int f = open("flock.dat", O_RDONLY);
  if (flock(f, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK)
    missing |= FLOCK_EX;
  close(f);
  int dir = open(".", O_RDONLY | O_DIRECTORY);
  if (flock(dir, LOCK_EX | LOCK_NB) == 0 || flock(dir, LOCK_SH | LOCK_NB) != 0)
    missing |= FLOCK_DIR;
  close(dir);
  return missing;
}

static int check_all_the_while(void) {
  int missing = 0;
  for (int round = 0; round < ROUNDS; round++) {
    missing |= check_posix() | check_others();
    sleep_ms(50);
  }
  return missing;
}

int main(void) {
  int posix = open("posix.dat", O_RDWR | O_CREAT, 0644);
  int ofd = open("ofd.dat", O_RDWR | O_CREAT, 0644);
  int fl = open("flock.dat", O_RDWR | O_CREAT, 0644);
  int dir = open(".", O_RDONLY | O_DIRECTORY);
  if (posix < 0 || ofd < 0 || fl < 0 || dir < 0 ||
      range_lock(posix, F_SETLK, F_WRLCK, 0, 10) != 0 ||
      range_lock(posix, F_SETLK, F_RDLCK, 20, 0) != 0 ||
      range_lock(ofd, F_OFD_SETLK, F_WRLCK, 0, 0) != 0 ||
      flock(fl, LOCK_EX | LOCK_NB) != 0 || flock(dir, LOCK_SH | LOCK_NB) != 0) {
    perror("taking the locks");
    return 1;
  }
  printf("locks taken\n");
  fflush(stdout);
  pid_t checker = fork();
  if (checker == 0) {
    /* Only the parent's open files hold the OFD and flock locks. */
    close(posix);
    close(ofd);
    close(fl);
    close(dir);
    _exit(check_all_the_while());
  }
  int status = 0;
  while (waitpid(checker, &status, 0) < 0 && errno == EINTR) {
  }
  printf("checker: %s (missing bits %d)\n",
         WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "every lock held"
                                                       : "locks missing",
         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}
