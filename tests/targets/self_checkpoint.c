/* Checkpoints itself with ckpt_create() half way through a count to 10.
 * argv[1]: the statefile; argv[2]: "cont" (CKPT_CHECKPOINT_CONT: the
 * original goes on), "compress" (the same, with CKPT_ARG_COMPRESS at level
 * 3) or "kill" (CKPT_CHECKPOINT_KILL: only a restarted copy goes on). ckpt_create returns 0 in the original, CKPT_RESTARTED in the
 * restarted copy. */
#include <ckpt.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3)
    return 2;
  for (int i = 0; i < 10; ++i) {
    printf("%d\n", i);
    fflush(stdout);
    if (i == 4) {
      int compress = strcmp(argv[2], "compress") == 0, level = 3;
      cpr_flags = strcmp(argv[2], "kill") != 0 ? CKPT_CHECKPOINT_CONT
                                               : CKPT_CHECKPOINT_KILL;
      struct ckpt_args zstd = {CKPT_ARG_COMPRESS, &level};
      struct ckpt_args *args[] = {&zstd};
      int rc = ckpt_create(argv[1], getpid(), P_PID, compress ? args : NULL,
                           compress ? 1 : 0);
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
