/* seccomp: a sandboxed program (issue 15). With no_new_privs it installs
 * two seccomp filters, one that fails uname() with EACCES and, later, one
 * that fails sysinfo() with ENOTTY; for ~2 s it checks that both still do,
 * then prints what it saw and what /proc/self/status says. A restart that
 * lost a filter would let the calls through. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static int refuse(int nr, int err) {
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof code / sizeof code[0], code};
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static void status_line(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':')
      fputs(line, stdout);
  if (f)
    fclose(f);
}

int main(void) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      refuse(SYS_uname, EACCES) != 0 || refuse(SYS_sysinfo, ENOTTY) != 0)
    return 1;
  int let_through = 0;
  for (int round = 0; round < 40; ++round) {
    struct utsname u;
    struct sysinfo si;
    if (uname(&u) == 0 || errno != EACCES)
      let_through++;
    if (sysinfo(&si) == 0 || errno != ENOTTY)
      let_through++;
    struct timespec t = {0, 50 * 1000 * 1000};
    nanosleep(&t, NULL);
  }
  printf("calls let through: %d\n", let_through);
  status_line("NoNewPrivs");
  status_line("Seccomp");
  status_line("Seccomp_filters");
  return 0;
}
