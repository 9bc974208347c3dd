/*
 * IRIX CPR guide, Example 3-7 "Sample Usage of ckpt_stat() Function", as
 * printed, with only these fixes:
 *   - the missing opening brace of ckpt_info() added;
 *   - the missing closing braces of the while loop and of ckpt_info()
 *     added.
 */
#include <ckpt.h>
static int
ckpt_info(char *path)
{
   ckpt_stat_t *sp, *sp_next;
   int rc;
    if ((rc = ckpt_stat(path, &sp)) != 0) {
       printf("Cannot get information on CPR file %s\n", path);
        return (rc);
    }
   printf("\nInformation About Statefile %s (%s):\n",
       path, rev_to_str(sp->cs_revision));
    while (sp) {
       printf(" Process:\t\t%s\n", sp->cs_psargs);
        printf(" PID,PPID:\t\t%d,%d\n", sp->cs_pid, sp->cs_ppid);
        printf(" PGRP,SID:\t\t%d,%d\n", sp->cs_pgrp, sp->cs_sid);
        printf(" Working at dir:\t%s\n", sp->cs_cdir);
       printf(" Num of Openfiles:\t%d\n", sp->cs_nfiles);
        printf(" Checkpointed @\t%s\n", ctime(&sp->cs_stat.st_mtime));
        sp_next = sp->cs_next;
       free(sp);
        sp = sp_next;
   }
   return (0);
}
