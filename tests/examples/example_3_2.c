/*
 * IRIX CPR guide, Example 3-2 "Routine to Handle Checkpoint", as printed,
 * with only these fixes:
 *   - "extern FILE fpCD;" written "extern FILE *fpCD;" (ftell() and fclose()
 *     take a FILE *);
 *   - "exit(0);" removed: the text says the handler closes the file,
 *     unmounts the CD-ROM and returns, and the Note after it says a handler
 *     "should return directly to its calling routine".
 */
#include <sys/types.h>
#include <sys/mount.h>
#include <stdio.h>
extern char *cdFile;
extern FILE *fpCD;
long cdOffset;

catchCKPT()
{
    cdOffset = ftell(fpCD);
    fclose(fpCD);
    umount("/CDROM");
}
