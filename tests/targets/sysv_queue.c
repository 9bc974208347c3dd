/* sysv_queue KEY: fills a System V message queue (key KEY, hex) with 40
 * messages of types 1, 2 and 3, interleaved, of lengths from 0 to a few
 * hundred bytes, lowers the queue's byte limit, prints "queued" and sleeps
 * ~2 s (a checkpoint lands here). Then it reads them back as a program
 * picking by type does: every type 2 message, then five of the lowest type
 * up to 2 (msgtyp -2), then the rest in arrival order; it prints each one's
 * type, length, head and checksum in the order received.
 *
 * Nothing printed depends on the key, the id or the PID. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>

#define MESSAGES 40
#define MAX_TEXT 1024
#define QUEUE_LIMIT 12288 /* below the default 16384 */

struct message {
  long type;
  char text[MAX_TEXT];
};

static void die(const char *what) {
  perror(what);
  exit(1);
}

static long type_of(int i) { return (i + i / 5) % 3 + 1; }

static size_t length_of(int i) { return (size_t)(i * 97) % 420; }

static size_t fill(struct message *m, int i) {
  size_t length = length_of(i);
  char head[8];
  int n = snprintf(head, sizeof head, "m%02d:", i);
  for (size_t j = 0; j < length; j++)
    m->text[j] = j < (size_t)n ? head[j] : (char)('a' + (i * 5 + j * j) % 26);
  m->type = type_of(i);
  return length;
}

static uint32_t checksum(const char *text, size_t length) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < length; i++)
    h = (h ^ (unsigned char)text[i]) * 16777619u;
  return h;
}

static void sleep_ms(long ms) {
  for (long i = 0; i < ms / 10; i++) {
    struct timespec left = {0, 10000000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
  }
}

static void print_queue(int q) {
  struct msqid_ds ds;
  if (msgctl(q, IPC_STAT, &ds) != 0)
    die("msgctl IPC_STAT");
  printf("queue: %lu messages, %lu bytes, limit %lu\n",
         (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes,
         (unsigned long)ds.msg_qbytes);
}

/* Takes up to `most` messages of `type` (as msgrcv's msgtyp) and prints
   them; returns how many. */
static int take(int q, long type, int most) {
  struct message m;
  int taken = 0;
  while (taken < most) {
    ssize_t length = msgrcv(q, &m, MAX_TEXT, type, IPC_NOWAIT);
    if (length < 0) {
      if (errno == EINTR)
        continue;
      if (errno == ENOMSG)
        break;
      die("msgrcv");
    }
    int head = length < 4 ? (int)length : 4;
    printf("  type %ld length %zd head '%.*s' sum %08x\n", m.type, length, head,
           m.text, checksum(m.text, (size_t)length));
    taken++;
  }
  return taken;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: sysv_queue KEY\n");
    return 2;
  }
  key_t key = (key_t)strtoul(argv[1], NULL, 16);
  int q = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
  if (q < 0)
    die("msgget");
  struct msqid_ds ds;
  if (msgctl(q, IPC_STAT, &ds) != 0)
    die("msgctl IPC_STAT");
  ds.msg_qbytes = QUEUE_LIMIT;
  if (msgctl(q, IPC_SET, &ds) != 0)
    die("msgctl IPC_SET");
  for (int i = 0; i < MESSAGES; i++) {
    struct message m;
    size_t length = fill(&m, i);
    if (msgsnd(q, &m, length, IPC_NOWAIT) != 0)
      die("msgsnd");
  }
  print_queue(q);
  printf("queued\n");
  fflush(stdout);
  sleep_ms(2000);
  print_queue(q);
  int got = 0;
  printf("every type 2:\n");
  got += take(q, 2, MESSAGES);
  printf("five of the lowest type up to 2:\n");
  got += take(q, -2, 5);
  printf("the rest in order:\n");
  got += take(q, 0, MESSAGES);
  printf("received %d of %d\n", got, MESSAGES);
  print_queue(q);
  if (msgctl(q, IPC_RMID, NULL) != 0)
    die("msgctl IPC_RMID");
  printf("done\n");
  return 0;
}
