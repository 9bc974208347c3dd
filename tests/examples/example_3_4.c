/*
 * IRIX CPR guide, Example 3-4 "Routine to Handle Restart", as printed, with
 * only this fix:
 *   - "extern FILE fpCD;" written "extern FILE *fpCD;" (fopen() returns a
 *     FILE *, fseek() takes one).
 */
#include <unistd.h>
#include <stdio.h>

extern char *cdFile;
extern FILE *fpCD;
extern long cdOffset;

catchRESTART()
{
    while (access("/CDROM/data", R_OK) == -1) {
        perror("please insert CDROM");
        sleep(60);
    }
    if ((fpCD = fopen(cdFile, "r")) == NULL)
        perror("cannot open cdFile"), exit(1);
    if (fseek(fpCD, cdOffset, SEEK_SET))
        perror("cannot seek to cdOffset"), exit(1);
    /*
    * etc. */
}
