/* memory_kinds: holds one kind of memory state while it works ~2 s, then
 * prints what it finds of it (issue 15).
 *
 * Usage: memory_kinds MODE, MODE one of:
 *   holes     PROT_NONE pages scattered in a mapping (some written before
 *             being closed) and guard regions (MADV_GUARD_INSTALL); at the
 *             end each page must still fault, or hold its data.
 *   deleted   a file mapped shared and another mapped private, both
 *             deleted; the shared one also kept open, written both ways.
 *   memfd     a memfd mapped shared (its fd closed) and one mapped shared
 *             and private with its fd kept, written both ways.
 *   sealed    a memfd mapped shared and writable, then sealed against
 *             writes to come (F_SEAL_FUTURE_WRITE): the mapping stays
 *             writable, a write() or a new writable mapping is refused.
 *   advice    ranges with each madvise flag, one mlock'ed, THP disabled:
 *             prints the flags smaps shows. WIPEONFORK memory is written;
 *             whether it is zero at the end goes to the file "wiped".
 *   sparse    512 MiB mapped, one page in 64 MiB written.
 *   zeroed    96 MiB of written zeros (as calloc'ed or reset tables are),
 *             a few pages of data among them, some zeroed again.
 *   lockall   mlockall(MCL_FUTURE | MCL_ONFAULT): prints the flags of a
 *             mapping made before and of one made at the end.
 * Files are made in the cwd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif

#define PAGE 4096
#define ROUNDS 40

static sigjmp_buf probe_jump;
static void on_fault(int sig) { siglongjmp(probe_jump, sig); }

/* 1 if reading `p` faults. */
static int faults(volatile const char *p) {
  if (sigsetjmp(probe_jump, 1) != 0)
    return 1;
  (void)*p;
  return 0;
}

static uint64_t hash(const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < len; ++i)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static void nap(void) {
  struct timespec t = {0, 50 * 1000 * 1000};
  nanosleep(&t, NULL);
}

static void scribble(uint64_t *w, size_t words, int round) {
  for (size_t i = (size_t)round % 5; i < words; i += 5)
    w[i] = w[i] * 31 + (uint64_t)round;
}

static int holes(void) {
  enum { pages = 48 };
  char *m = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *g = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED || g == MAP_FAILED)
    return 1;
  memset(m, 0x5a, pages * PAGE);
  memset(g, 0xa5, pages * PAGE);
  for (int i = 0; i < pages; i += 3) /* written, then closed */
    if (mprotect(m + i * PAGE, PAGE, PROT_NONE) != 0)
      return 1;
  int guards = madvise(g + 4 * PAGE, 2 * PAGE, MADV_GUARD_INSTALL) == 0 &&
               madvise(g + 30 * PAGE, PAGE, MADV_GUARD_INSTALL) == 0;
  for (int round = 0; round < ROUNDS; ++round) {
    for (int i = 1; i < pages; i += 3)
      m[i * PAGE + round] = (char)round;
    g[round * PAGE / 2 + 10 * PAGE] ^= (char)round;
    nap();
  }
  int closed_ok = 1, guard_ok = 1;
  for (int i = 0; i < pages; ++i) {
    int closed = i % 3 == 0;
    if (faults(m + i * PAGE) != closed)
      closed_ok = 0;
    int guard = i == 4 || i == 5 || i == 30;
    if (guards && faults(g + i * PAGE) != guard)
      guard_ok = 0;
  }
  for (int i = 0; i < pages; i += 3)
    mprotect(m + i * PAGE, PAGE, PROT_READ);
  if (guards)
    madvise(g, pages * PAGE, MADV_GUARD_REMOVE);
  printf("closed pages %s, data %016llx\n", closed_ok ? "fault" : "WRONG",
         (unsigned long long)hash(m, pages * PAGE));
  printf("guard regions %s\n",
         guards ? (guard_ok ? "fault" : "WRONG") : "unsupported");
  return 0;
}

static uint64_t *map_new_file(const char *name, size_t len, int flags,
                              int *keep_fd) {
  int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, (off_t)len) != 0)
    return NULL;
  uint64_t *w = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);
  if (w == MAP_FAILED)
    return NULL;
  for (size_t i = 0; i < len / 8; i += 3)
    w[i] = i * 7;
  if (keep_fd)
    *keep_fd = fd;
  else
    close(fd);
  return w;
}

static uint64_t fd_hash(int fd, size_t len) {
  char *buf = malloc(len);
  ssize_t n = pread(fd, buf, len, 0);
  uint64_t h = n == (ssize_t)len ? hash(buf, len) : 0;
  free(buf);
  return h;
}

static int deleted(void) {
  size_t len = 8 * PAGE;
  int fd = -1;
  uint64_t *shared = map_new_file("shared.bin", len, MAP_SHARED, &fd);
  uint64_t *private = map_new_file("private.bin", len, MAP_PRIVATE, NULL);
  if (!shared || !private || unlink("shared.bin") || unlink("private.bin"))
    return 1;
  for (int round = 0; round < ROUNDS; ++round) {
    scribble(shared, len / 8, round);
    scribble(private, len / 8, round + 1);
    uint64_t v = (uint64_t)round;
    if (pwrite(fd, &v, sizeof v, PAGE + 8 * round) != sizeof v)
      return 1;
    nap();
  }
  printf("shared mapping %016llx, its file %016llx\n",
         (unsigned long long)hash(shared, len),
         (unsigned long long)fd_hash(fd, len));
  printf("private mapping %016llx\n", (unsigned long long)hash(private, len));
  return 0;
}

static int memfd(void) {
  size_t len = 6 * PAGE;
  int closed = memfd_create("cpr-closed", 0);
  int kept = memfd_create("cpr-kept", MFD_ALLOW_SEALING);
  if (closed < 0 || kept < 0 || ftruncate(closed, (off_t)len) ||
      ftruncate(kept, (off_t)len))
    return 1;
  uint64_t *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, closed, 0);
  uint64_t *b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, kept, 0);
  uint64_t *c = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, kept, 0);
  if (a == MAP_FAILED || b == MAP_FAILED || c == MAP_FAILED)
    return 1;
  close(closed);
  fcntl(kept, F_ADD_SEALS, F_SEAL_SHRINK);
  for (int round = 0; round < ROUNDS; ++round) {
    scribble(a, len / 8, round);
    scribble(b, len / 8, round + 2);
    scribble(c, len / 8, round + 3);
    uint64_t v = (uint64_t)round;
    if (pwrite(kept, &v, sizeof v, 2 * PAGE + 8 * round) != sizeof v)
      return 1;
    nap();
  }
  printf("closed memfd %016llx\n", (unsigned long long)hash(a, len));
  printf("kept memfd %016llx, its fd %016llx, seals %d\n",
         (unsigned long long)hash(b, len),
         (unsigned long long)fd_hash(kept, len), fcntl(kept, F_GET_SEALS));
  printf("private copy %016llx\n", (unsigned long long)hash(c, len));
  return 0;
}

static int sealed(void) {
  size_t len = 4 * PAGE;
  int fd = memfd_create("cpr-sealed", MFD_ALLOW_SEALING);
  if (fd < 0 || ftruncate(fd, (off_t)len))
    return 1;
  uint64_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED || fcntl(fd, F_ADD_SEALS,
                               F_SEAL_FUTURE_WRITE | F_SEAL_SHRINK |
                                   F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return 1;
  for (int round = 0; round < ROUNDS; ++round) {
    scribble(m, len / 8, round);
    nap();
  }
  uint64_t v = 1;
  int write_refused = pwrite(fd, &v, sizeof v, 0) < 0 && errno == EPERM;
  void *again = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  printf("sealed memfd %016llx, its fd %016llx, seals %#x\n",
         (unsigned long long)hash(m, len), (unsigned long long)fd_hash(fd, len),
         fcntl(fd, F_GET_SEALS));
  printf("write %s, new writable mapping %s\n",
         write_refused ? "refused" : "ALLOWED",
         again == MAP_FAILED ? "refused" : "ALLOWED");
  return 0;
}

/* The VmFlags of the mapping that holds `p`. */
static void print_flags(const char *what, const void *p) {
  FILE *f = fopen("/proc/self/smaps", "r");
  char line[512];
  int in = 0;
  while (f && fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
      in = (unsigned long)p >= lo && (unsigned long)p < hi;
    else if (in && strncmp(line, "VmFlags:", 8) == 0)
      printf("%s:%s", what, line + 8);
  }
  if (f)
    fclose(f);
}

static int advice(void) {
  static const struct {
    const char *name;
    int advice;
  } kinds[] = {{"dontfork", MADV_DONTFORK},
               {"dontdump", MADV_DONTDUMP},
               {"wipeonfork", MADV_WIPEONFORK},
               {"hugepage", MADV_HUGEPAGE},
               {"nohugepage", MADV_NOHUGEPAGE},
               {"mergeable", MADV_MERGEABLE},
               {"locked", -1}};
  enum { count = sizeof kinds / sizeof kinds[0] };
  char *at[count];
  if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
    return 1;
  for (int i = 0; i < count; ++i) {
    at[i] = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (at[i] == MAP_FAILED)
      return 1;
    int done = kinds[i].advice < 0 ? mlock(at[i], 4 * PAGE)
                                   : madvise(at[i], 4 * PAGE, kinds[i].advice);
    if (done != 0)
      printf("%s: refused\n", kinds[i].name);
    memset(at[i], i + 1, 4 * PAGE);
  }
  for (int round = 0; round < ROUNDS; ++round) {
    for (int i = 0; i < count; ++i)
      if (kinds[i].advice != MADV_WIPEONFORK)
        at[i][round * 97] += 1;
    nap();
  }
  printf("thp disabled: %d\n", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
  for (int i = 0; i < count; ++i)
    print_flags(kinds[i].name, at[i]);
  char *wipe = at[2];
  int zero = 1;
  for (int i = 0; i < 4 * PAGE; ++i)
    zero &= wipe[i] == 0;
  FILE *w = fopen("wiped", "w");
  if (w) {
    fprintf(w, "%s\n", zero ? "zero" : "kept");
    fclose(w);
  }
  return 0;
}

static int sparse(void) {
  size_t len = 512ul << 20, step = 64ul << 20;
  char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED)
    return 1;
  for (int round = 0; round < ROUNDS; ++round) {
    for (size_t at = 0; at < len; at += step)
      m[at + (size_t)round] = (char)(round + 1);
    nap();
  }
  uint64_t h = 0;
  for (size_t at = 0; at < len; at += step)
    h = h * 31 + hash(m + at, PAGE);
  printf("sparse %016llx\n", (unsigned long long)h);
  return 0;
}

static int zeroed(void) {
  /* Data only every 16 MiB: some of cpr's 8 MiB chunks are all zeros. */
  size_t len = 96ul << 20, step = 16ul << 20;
  char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
  if (m == MAP_FAILED)
    return 1;
  memset(m, 0, len); /* every page present, and zero */
  for (int round = 0; round < ROUNDS; ++round) {
    for (size_t at = 0; at < len; at += step)
      m[at + (size_t)round * PAGE] = (char)(round + 1);
    if (round % 2)
      memset(m + (size_t)(round - 1) * PAGE, 0, PAGE); /* zero again */
    nap();
  }
  printf("zeroed %016llx\n", (unsigned long long)hash(m, len));
  return 0;
}

static int lockall(void) {
  if (mlockall(MCL_FUTURE | MCL_ONFAULT) != 0)
    return 1;
  char *before = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (before == MAP_FAILED)
    return 1;
  for (int round = 0; round < ROUNDS; ++round) {
    before[round * 97] += 1;
    nap();
  }
  char *after = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (after == MAP_FAILED)
    return 1;
  print_flags("before", before);
  print_flags("after", after);
  return 0;
}

int main(int argc, char **argv) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_fault;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  const char *mode = argc > 1 ? argv[1] : "";
  int rc = strcmp(mode, "holes") == 0     ? holes()
           : strcmp(mode, "deleted") == 0 ? deleted()
           : strcmp(mode, "memfd") == 0   ? memfd()
           : strcmp(mode, "sealed") == 0  ? sealed()
           : strcmp(mode, "advice") == 0  ? advice()
           : strcmp(mode, "sparse") == 0  ? sparse()
           : strcmp(mode, "lockall") == 0 ? lockall()
           : strcmp(mode, "zeroed") == 0  ? zeroed()
                                          : 2;
  fflush(stdout);
  return rc;
}
