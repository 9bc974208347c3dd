/*
 * IRIX CPR guide, Example 3-1 "Checkpoint and Restart Event Handling", as
 * printed, with only these fixes:
 *   - the missing opening brace of main() added;
 *   - "| |" (twice) written "||";
 *   - the pseudo-line "processing ..." became a call "processing();",
 *     declared "extern void processing(void);" with the other externs.
 */
#include <stdlib.h>
#include <ckpt.h>
extern void ckptSocket(void);
extern void ckptXserver(void);
extern void restartSocket(void);
extern void restartXserver(void);
extern void processing(void);
main(int argc, char *argv[])
{
    int err = 0;
    if ((atcheckpoint(ckptSocket) == -1) ||
        (atcheckpoint(ckptXserver) == -1) ||
        (atrestart(restartSocket) == -1) ||
        (atrestart(restartXserver) == -1))
            perror("Cannot setup checkpoint and restart handling");
       processing();
    exit(0);
}
