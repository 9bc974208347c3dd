/* netlink_holder: holds a bound NETLINK_ROUTE socket (fd 3), which no plugin
 * carries, and counts to 20 over ~2 s. */
#define _GNU_SOURCE
#include <linux/netlink.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  struct sockaddr_nl self = {.nl_family = AF_NETLINK};
  if (fd != 3 || bind(fd, (struct sockaddr *)&self, sizeof self) != 0)
    return 1;
  for (int i = 1; i <= 20; ++i) {
    struct timespec t = {0, 100 * 1000 * 1000};
    nanosleep(&t, NULL);
    printf("%d\n", i);
    fflush(stdout);
  }
  return 0;
}
