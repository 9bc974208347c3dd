/* devices: holds /dev/zero, /dev/full, /dev/urandom and /dev/console open
 * while it counts for ~2 s, then checks each is still what it was: zero
 * reads zeros, full refuses writes with ENOSPC, urandom gives bytes, the
 * console is open read-only. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

static const char *same_device(int fd, unsigned maj, unsigned min) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode))
    return "not a device";
  return major(st.st_rdev) == maj && minor(st.st_rdev) == min ? "same device"
                                                              : "other device";
}

int main(void) {
  int zero = open("/dev/zero", O_RDONLY);
  int full = open("/dev/full", O_WRONLY);
  int urandom = open("/dev/urandom", O_RDONLY);
  int console = open("/dev/console", O_RDONLY | O_NOCTTY);
  if (zero < 0 || full < 0 || urandom < 0 || console < 0) {
    perror("open");
    return 1;
  }
  for (int tick = 0; tick < 40; tick++) {
    printf("tick %d\n", tick);
    fflush(stdout);
    sleep_ms(50);
  }
  char buf[16];
  memset(buf, 'x', sizeof buf);
  int zeros = read(zero, buf, sizeof buf) == sizeof buf;
  for (size_t i = 0; i < sizeof buf; i++)
    zeros = zeros && buf[i] == 0;
  printf("/dev/zero: %s, %s\n", same_device(zero, 1, 5),
         zeros ? "reads zeros" : "does not read zeros");
  errno = 0;
  ssize_t wrote = write(full, "x", 1);
  printf("/dev/full: %s, write %s\n", same_device(full, 1, 7),
         wrote < 0 && errno == ENOSPC ? "fails with ENOSPC" : "does not fail");
  printf("/dev/urandom: %s, %s\n", same_device(urandom, 1, 9),
         read(urandom, buf, sizeof buf) == sizeof buf ? "gives bytes"
                                                      : "gives nothing");
  printf("/dev/console: %s, %s\n", same_device(console, 5, 1),
         (fcntl(console, F_GETFL) & O_ACCMODE) == O_RDONLY ? "read-only"
                                                           : "not read-only");
  return 0;
}
