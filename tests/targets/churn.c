/* churn: a target whose memory changes all the time (issue 19), for a
 * checkpoint taken while it runs on (WILL CONT).
 *
 * Usage: churn mib [noclone | shared]
 *
 * Prints "ready", then rewrites its `mib` MiB page by page, generation after
 * generation: before a page gets generation g it must hold g - 1. A
 * statefile whose pages were not all taken at one moment (some from before,
 * some from after the process was let go) breaks that, which the restarted
 * process then finds. When a file "stop" appears in its cwd it checks every
 * page against where it is in its round and prints "ok", or the first page
 * found wrong. Its output is the same however long it ran. "noclone": a
 * seccomp filter kills it should it ever call fork, vfork, clone or
 * clone3. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { page_words = 4096 / sizeof(uint64_t) };

static uint64_t *memory;
static size_t pages;

static uint64_t mark(uint64_t gen, size_t page) { return gen << 32 | page; }

static int stop_asked(void) { return access("stop", F_OK) == 0; }

static void corrupt(size_t page, uint64_t found, uint64_t wanted) {
  printf("corrupt: page %zu holds generation %llu, expected %llu\n", page,
         (unsigned long long)(found >> 32), (unsigned long long)(wanted >> 32));
  exit(3);
}

/* Pages before `next` hold generation gen, the others gen - 1. */
static void check_all(uint64_t gen, size_t next) {
  for (size_t p = 0; p < pages; p++) {
    uint64_t wanted = mark(p < next ? gen : gen - 1, p);
    for (size_t w = 0; w < page_words; w += page_words / 4)
      if (memory[p * page_words + w] != wanted)
        corrupt(p, memory[p * page_words + w], wanted);
  }
}

static void forbid_clone(void) {
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 4, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fork, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_vfork, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
  };
  struct sock_fprog prog = {sizeof code / sizeof code[0], code};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
    exit(2);
}

/* "shared": a page of MAP_SHARED memory too, copied while the process is
 * frozen where the private pages come from its snapshot. */
static uint64_t *shared_page;

static void map_shared_page(void) {
  shared_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared_page == MAP_FAILED)
    exit(2);
  for (size_t w = 0; w < page_words; w++)
    shared_page[w] = mark(7, w);
}

static void check_shared_page(void) {
  for (size_t w = 0; shared_page && w < page_words; w++)
    if (shared_page[w] != mark(7, w)) {
      printf("corrupt: the shared page, word %zu\n", w);
      exit(3);
    }
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3)
    return 2;
  if (argc == 3 && strcmp(argv[2], "noclone") == 0)
    forbid_clone();
  if (argc == 3 && strcmp(argv[2], "shared") == 0)
    map_shared_page();
  pages = (size_t)atoi(argv[1]) << 8;
  memory = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED)
    return 2;
  for (size_t p = 0; p < pages; p++)
    for (size_t w = 0; w < page_words; w += page_words / 4)
      memory[p * page_words + w] = mark(0, p);
  printf("ready\n");
  fflush(stdout);
  for (uint64_t gen = 1;; gen++) {
    for (size_t p = 0; p < pages; p++) {
      if (p % 4096 == 0 && stop_asked()) {
        check_all(gen, p);
        check_shared_page();
        printf("ok\n");
        return 0;
      }
      uint64_t *at = memory + p * page_words;
      for (size_t w = 0; w < page_words; w += page_words / 4) {
        if (at[w] != mark(gen - 1, p))
          corrupt(p, at[w], mark(gen - 1, p));
        at[w] = mark(gen, p);
      }
    }
    usleep(1000);
  }
}
