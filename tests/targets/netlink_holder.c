/* netlink_holder [packet]: holds a NETLINK_ROUTE socket (fd 3) bound to its
 * port and the link group, and counts to 20 over ~2 s; then says whether its
 * port and group are as they were. With "packet", fd 3 is a packet socket
 * (AF_PACKET, root only), which no plugin carries. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int packet = argc > 1 && !strcmp(argv[1], "packet");
  int fd = packet
               ? socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL))
               : socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  struct sockaddr_nl self = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
  if (fd != 3 ||
      (!packet && bind(fd, (struct sockaddr *)&self, sizeof self) != 0))
    return 1;
  for (int i = 1; i <= 20; ++i) {
    struct timespec t = {0, 100 * 1000 * 1000};
    nanosleep(&t, NULL);
    printf("%d\n", i);
    fflush(stdout);
  }
  if (packet)
    return 0;
  socklen_t len = sizeof self;
  getsockname(fd, (struct sockaddr *)&self, &len);
  unsigned groups = 0;
  len = sizeof groups;
  getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, &groups, &len);
  printf("port is my pid: %d, link group: %d\n",
         self.nl_pid == (unsigned)getpid(), (groups & RTMGRP_LINK) != 0);
  return 0;
}
