/* Driver of Example 3-3: run_3_3 PORT. Sends "1\n" to "60\n" to a TCP server
   on 127.0.0.1:PORT, 50 ms apart, on `sock`. catchCKPT (3-3) closes `sock`
   before a checkpoint; reconnect(), registered with atrestart(), connects
   again after a restart. A send that fails because catchCKPT closed the
   socket is tried again, after reconnect() has run, until the whole line is
   sent. */
#include <ckpt.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "example_3_3.c"

int sock = -1;
static struct sockaddr_in server;

static int connect_to_server(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void reconnect(void) {
  int saved_errno = errno;
  sock = connect_to_server();
  if (sock < 0)
    perror("reconnect");
  errno = saved_errno;
}

static void pause_ms(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) == -1 && errno == EINTR) {
  }
}

int main(int argc, char *argv[]) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  server.sin_family = AF_INET;
  server.sin_port = htons((unsigned short)atoi(argv[1]));
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((sock = connect_to_server()) < 0) {
    perror("connect");
    return 1;
  }
  /* The sample's handler is old-style "int catchCKPT()": called as void
     catchCKPT(void). */
  if (atcheckpoint((void (*)(void))catchCKPT) == -1 ||
      atrestart(reconnect) == -1) {
    perror("Cannot setup checkpoint and restart handling");
    return 1;
  }
  for (int i = 1; i <= 60; ++i) {
    char line[16];
    int length = snprintf(line, sizeof line, "%d\n", i);
    int sent = 0;
    while (sent < length) {
      ssize_t n = send(sock, line + sent, length - sent, MSG_NOSIGNAL);
      if (n > 0)
        sent += n;
      else
        pause_ms(10); /* closed by catchCKPT: wait for reconnect() */
    }
    pause_ms(50);
  }
  close(sock);
  return 0;
}
