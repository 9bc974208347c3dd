/* Driver of Examples 3-2 and 3-4: reads cdFile, /CDROM/data, line by line
   and prints each line, 50 ms apart. catchCKPT (3-2) notes where it was,
   closes the file and unmounts /CDROM; catchRESTART (3-4) waits for the data
   again, reopens the file and seeks back.

   Once catchCKPT has closed fpCD the program must not touch it until
   catchRESTART has reopened it: two handlers of its own, registered after
   the guide's ones (they run first in, first out), say when the file is
   closed and open again, and the reading loop waits meanwhile. A handler
   also must not close the FILE under an fgets() in progress, so SIGCKPT and
   SIGRESTART are blocked while a line is read and printed. */
#include <ckpt.h>
#include <unistd.h>

#include "example_3_2.c"
#include "example_3_4.c"

char *cdFile = "/CDROM/data";
FILE *fpCD;

static volatile sig_atomic_t cd_closed;

static void note_cd_closed(void) { cd_closed = 1; }
static void note_cd_open(void) { cd_closed = 0; }

int main(void) {
  if ((fpCD = fopen(cdFile, "r")) == NULL) {
    perror(cdFile);
    return 1;
  }
  /* The samples' handlers are old-style "int f()": called as void f(void). */
  if (atcheckpoint((void (*)(void))catchCKPT) == -1 ||
      atcheckpoint(note_cd_closed) == -1 ||
      atrestart((void (*)(void))catchRESTART) == -1 ||
      atrestart(note_cd_open) == -1) {
    perror("Cannot setup checkpoint and restart handling");
    return 1;
  }
  sigset_t events;
  sigemptyset(&events);
  sigaddset(&events, SIGCKPT);
  sigaddset(&events, SIGRESTART);
  char line[256];
  for (;;) {
    while (cd_closed)
      usleep(10000);
    sigprocmask(SIG_BLOCK, &events, NULL);
    if (cd_closed) { /* caught between the check and the block */
      sigprocmask(SIG_UNBLOCK, &events, NULL);
      continue;
    }
    char *got = fgets(line, sizeof line, fpCD);
    if (got) {
      fputs(line, stdout);
      fflush(stdout);
    }
    sigprocmask(SIG_UNBLOCK, &events, NULL);
    if (!got)
      break;
    usleep(50000);
  }
  return 0;
}
