/* Checkpoints itself with ckpt_create() half way through a count to 10.
 * argv[1]: the statefile; argv[2]: "cont" (CKPT_CHECKPOINT_CONT: the
 * original goes on), "compress" (the same, with CKPT_ARG_COMPRESS at level
 * 3), "since" (the same, with CKPT_ARG_SINCE: since a checkpoint it made
 * silently at 2, into argv[1].base) or "kill" (CKPT_CHECKPOINT_KILL: only a
 * restarted copy goes on). ckpt_create returns 0 in the original,
 * CKPT_RESTARTED in the restarted copy. */
#include <ckpt.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3)
    return 2;
  char base[4096];
  snprintf(base, sizeof base, "%s.base", argv[1]);
  int since = strcmp(argv[2], "since") == 0;
  for (int i = 0; i < 10; ++i) {
    printf("%d\n", i);
    fflush(stdout);
    if (i == 2 && since) {
      cpr_flags = CKPT_CHECKPOINT_CONT;
      if (ckpt_create(base, getpid(), P_PID, NULL, 0) < 0) {
        printf("ckpt_create failed: %s\n", ckpt_errmsg());
        return 1;
      }
    }
    if (i == 4) {
      int compress = strcmp(argv[2], "compress") == 0, level = 3;
      cpr_flags = strcmp(argv[2], "kill") != 0 ? CKPT_CHECKPOINT_CONT
                                               : CKPT_CHECKPOINT_KILL;
      struct ckpt_args zstd = {CKPT_ARG_COMPRESS, &level};
      struct ckpt_args earlier = {CKPT_ARG_SINCE, base};
      struct ckpt_args *args[] = {since ? &earlier : &zstd};
      int rc = ckpt_create(argv[1], getpid(), P_PID,
                           compress || since ? args : NULL,
                           compress || since ? 1 : 0);
      cpr_flags = 0;
      if (rc < 0) {
        printf("ckpt_create failed: %s\n", ckpt_errmsg());
        return 1;
      }
      printf("ckpt_create returned %s\n",
             rc == CKPT_RESTARTED ? "CKPT_RESTARTED" : "0");
      fflush(stdout);
    }
    usleep(100 * 1000);
  }
  return 0;
}
