/* modern_fds: eventfd, timerfd, signalfd, inotify, memfd and epoll in use
 * across a checkpoint.
 *
 * Default: an epoll loop over a counting eventfd and a periodic timerfd
 * (20 ms). Every 4 timer ticks, once the counter's last value was read
 * through epoll, a step: reads the signal that the previous step queued to
 * itself through a signalfd, takes one from a semaphore eventfd, reads 8
 * bytes of a sealed memfd at its offset, creates a file in a directory that
 * inotify watches (under watch number 2, number 1 having been removed) and
 * reads the event, bumps a byte of a large sparse memfd, writes the counter.
 * Each of these lines depends on the state the object had; ~2.4 s.
 *
 * "epoll": an epoll set of an eventfd (level-triggered) and a one-shot
 * timerfd 1.5 s ahead, blocked in epoll_wait meanwhile; prints the events.
 *
 * "epoll-closed": an epoll watching an eventfd under an fd number that is
 * then closed (the eventfd living on under another) and taken by another
 * eventfd; runs ~2 s. The watch stays keyed by the old number: deleting it
 * by the new one fails, and the other eventfd can be watched as that old
 * number. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define STEPS 30
#define TICKS_PER_STEP 4
#define TICK_NS 20000000L
#define COUNTER_DATA 0xc0
#define TIMER_DATA 0x71
#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#define BIG_SIZE (1 << 20)

static void die(const char *what) {
  fprintf(stderr, "modern_fds: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void sleep_ms(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

static uint64_t read_u64(int fd) {
  uint64_t value = 0;
  while (read(fd, &value, sizeof value) != sizeof value)
    if (errno != EINTR)
      die("read");
  return value;
}

static void write_u64(int fd, uint64_t value) {
  if (write(fd, &value, sizeof value) != sizeof value)
    die("write");
}

static int periodic_timer(int flags) {
  int fd = timerfd_create(CLOCK_MONOTONIC, flags);
  struct itimerspec every = {{0, TICK_NS}, {0, TICK_NS}};
  if (fd < 0 || timerfd_settime(fd, 0, &every, NULL) != 0)
    die("timerfd");
  return fd;
}

static void watch(int ep, int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
    die("epoll_ctl");
}

struct objects {
  int counter, sem, timer, sig, inotify, sealed, big, ep;
};

static int sealed_memfd(void) {
  int fd = memfd_create("modern sealed", MFD_ALLOW_SEALING);
  char text[STEPS * 8 + 1];
  for (int i = 0; i < STEPS; i++)
    snprintf(text + 8 * i, 9, "<%06d>", i * i * 37 % 1000000);
  if (fd < 0 || write(fd, text, STEPS * 8) != STEPS * 8 ||
      fcntl(fd, F_ADD_SEALS, SEALS) != 0)
    die("sealed memfd");
  /* reopened read-only: the offset and access mode are its own */
  char self[64];
  snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
  int ro = open(self, O_RDONLY);
  if (ro < 0)
    die("reopen memfd");
  close(fd);
  return ro;
}

static int big_memfd(void) {
  int fd = memfd_create("modern big", 0);
  if (fd < 0 || ftruncate(fd, BIG_SIZE) != 0)
    die("big memfd");
  for (int page = 0; page < BIG_SIZE / 4096; page += 3) {
    char line[32];
    int n = snprintf(line, sizeof line, "page %d", page);
    if (pwrite(fd, line, (size_t)n, (off_t)page * 4096) != n)
      die("big memfd");
  }
  return fd;
}

static int watched_dir(void) {
  int fd = inotify_init1(IN_NONBLOCK);
  if (fd < 0 || mkdir("scratch", 0755) != 0 || mkdir("watched", 0755) != 0)
    die("inotify");
  int first = inotify_add_watch(fd, "scratch", IN_CREATE);
  if (inotify_add_watch(fd, "watched", IN_CREATE | IN_DELETE) != 2 ||
      inotify_rm_watch(fd, first) != 0)
    die("inotify watches");
  char buf[4096];
  while (read(fd, buf, sizeof buf) > 0) { /* the IN_IGNORED of watch 1 */
  }
  return fd;
}

static struct objects make_objects(void) {
  struct objects o;
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  if (sigprocmask(SIG_BLOCK, &usr1, NULL) != 0)
    die("sigprocmask");
  o.counter = eventfd(0, 0);
  o.sem = eventfd(STEPS + 5, EFD_SEMAPHORE | EFD_NONBLOCK);
  o.timer = periodic_timer(TFD_NONBLOCK);
  o.sig = signalfd(-1, &usr1, SFD_NONBLOCK);
  if (o.counter < 0 || o.sem < 0 || o.sig < 0)
    die("eventfd/signalfd");
  o.inotify = watched_dir();
  o.sealed = sealed_memfd();
  o.big = big_memfd();
  o.ep = epoll_create1(0);
  if (o.ep < 0)
    die("epoll_create1");
  watch(o.ep, o.counter, EPOLLIN, COUNTER_DATA);
  watch(o.ep, o.timer, EPOLLIN, TIMER_DATA);
  return o;
}

static void take_signal(const struct objects *o, int step) {
  if (step == 0)
    return;
  struct signalfd_siginfo info;
  if (read(o->sig, &info, sizeof info) != sizeof info)
    die("signalfd read");
  printf("  signal %u value %d\n", info.ssi_signo, info.ssi_int);
}

static void take_inotify_event(const struct objects *o, int step) {
  char name[32], buf[4096] __attribute__((aligned(8)));
  snprintf(name, sizeof name, "watched/f%02d", step);
  int fd = open(name, O_CREAT | O_WRONLY, 0644);
  if (fd < 0)
    die("create watched file");
  close(fd);
  ssize_t n = read(o->inotify, buf, sizeof buf);
  if (n < (ssize_t)sizeof(struct inotify_event))
    die("inotify read");
  struct inotify_event *ev = (struct inotify_event *)buf;
  printf("  inotify wd %d mask %x name %s\n", ev->wd, ev->mask, ev->name);
}

static void step(const struct objects *o, int s) {
  printf("step %d\n", s);
  take_signal(o, s);
  union sigval value = {.sival_int = 100 + s};
  if (sigqueue(getpid(), SIGUSR1, value) != 0)
    die("sigqueue");
  printf("  semaphore %" PRIu64 "\n", read_u64(o->sem));
  char bytes[9] = {0};
  if (read(o->sealed, bytes, 8) != 8)
    die("memfd read");
  printf("  sealed %s\n", bytes);
  take_inotify_event(o, s);
  char page[4] = {0};
  off_t at = (off_t)s * 3 * 4096 + 5;
  if (pread(o->big, page, 3, at) != 3 || pwrite(o->big, "#", 1, at) != 1)
    die("big memfd");
  printf("  big %s\n", page);
  fflush(stdout);
  write_u64(o->counter, (uint64_t)s * 1000 + 7);
}

static void report(const struct objects *o) {
  uint64_t left = 0, one;
  while (read(o->sem, &one, sizeof one) == sizeof one)
    left += one;
  struct itimerspec t;
  timerfd_gettime(o->timer, &t);
  uint64_t hash = 0xcbf29ce484222325ull;
  static char all[BIG_SIZE];
  if (pread(o->big, all, BIG_SIZE, 0) != BIG_SIZE)
    die("big memfd");
  for (int i = 0; i < BIG_SIZE; i++)
    hash = (hash ^ (unsigned char)all[i]) * 0x100000001b3ull;
  errno = 0;
  int write_refused = write(o->sealed, "x", 1) < 0 ? errno : 0;
  printf("semaphore left %" PRIu64 "\n", left);
  printf("timer interval %ld ns\n", t.it_interval.tv_nsec);
  printf("sealed seals %x, access %d, write errno %d\n",
         fcntl(o->sealed, F_GET_SEALS), fcntl(o->sealed, F_GETFL) & O_ACCMODE,
         write_refused);
  printf("big memfd hash %016" PRIx64 "\n", hash);
}

static int run_steps(void) {
  struct objects o = make_objects();
  uint64_t ticks = 0;
  int next = 0, awaiting_counter = 0;
  while (next < STEPS || awaiting_counter) {
    struct epoll_event evs[4];
    int n = epoll_wait(o.ep, evs, 4, -1);
    if (n < 0 && errno != EINTR)
      die("epoll_wait");
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u64 == TIMER_DATA) {
        uint64_t t;
        if (read(o.timer, &t, sizeof t) == sizeof t)
          ticks += t;
      } else if (evs[i].data.u64 == COUNTER_DATA) {
        printf("  counter %" PRIu64 "\n", read_u64(o.counter));
        awaiting_counter = 0;
      }
    }
    if (!awaiting_counter && next < STEPS &&
        ticks >= (uint64_t)(next + 1) * TICKS_PER_STEP) {
      step(&o, next++);
      awaiting_counter = 1;
    }
  }
  report(&o);
  printf("ticks at least %d: %s\n", STEPS * TICKS_PER_STEP,
         ticks >= STEPS * TICKS_PER_STEP ? "yes" : "no");
  printf("done\n");
  return 0;
}

/* An eventfd that is ready from the start and a timer that fires once,
 * 1.5 s later, while the process waits in epoll_wait. */
static int run_epoll(void) {
  int ready = eventfd(0, EFD_NONBLOCK);
  int timer = timerfd_create(CLOCK_MONOTONIC, 0);
  struct itimerspec once = {{0, 0}, {1, 500000000L}};
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ready < 0 || timer < 0 || ep < 0 ||
      timerfd_settime(timer, 0, &once, NULL) != 0)
    die("epoll setup");
  watch(ep, ready, EPOLLIN, 0xa11ce);
  watch(ep, timer, EPOLLIN | EPOLLET, 0x7133);
  write_u64(ready, 5);
  printf("armed\n");
  fflush(stdout);
  for (int timer_seen = 0, round = 0; round < 3; round++) {
    struct epoll_event ev;
    int n = epoll_wait(ep, &ev, 1, -1);
    if (n < 0 && errno == EINTR) {
      round--;
      continue;
    }
    if (n != 1)
      die("epoll_wait");
    uint64_t value = read_u64(ev.data.u64 == 0xa11ce ? ready : timer);
    printf("event data %" PRIx64 " events %x value %" PRIu64 "\n", ev.data.u64,
           ev.events, value);
    fflush(stdout);
    if (ev.data.u64 == 0x7133 && !timer_seen++)
      write_u64(ready, 9); /* level-triggered: seen on the next wait */
  }
  printf("done\n");
  return 0;
}

static int run_epoll_closed(void) {
  int ep = epoll_create1(0);
  int first = eventfd(0, 0);
  if (ep < 0 || first < 0)
    die("setup");
  watch(ep, first, EPOLLIN, 1);
  int kept = dup(first);
  close(first);
  int reused = eventfd(0, 0);
  printf("kept as fd %d, fd %d reused: %s\n", kept, first,
         reused == first ? "yes" : "no");
  for (int i = 0; i < 20; i++) {
    printf("tick %d\n", i);
    fflush(stdout);
    sleep_ms(100);
  }
  printf("delete by the kept fd: %s\n",
         epoll_ctl(ep, EPOLL_CTL_DEL, kept, NULL) == 0 ? "deleted"
                                                       : strerror(errno));
  watch(ep, reused, EPOLLIN, 2);
  write_u64(kept, 1);
  struct epoll_event ev[4];
  int n = epoll_wait(ep, ev, 4, 0);
  printf("events %d, data %llu\ndone\n", n,
         n > 0 ? (unsigned long long)ev[0].data.u64 : 0ULL);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "epoll") == 0)
    return run_epoll();
  if (argc > 1 && strcmp(argv[1], "epoll-closed") == 0)
    return run_epoll_closed();
  return run_steps();
}
