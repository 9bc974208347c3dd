/*
 * IRIX CPR guide, Example 3-8 "Sample Usage of ckpt_remove() Function", as
 * printed, with only this fix:
 *   - the missing "return (0);" at the end of do_remove() added.
 */
#include <ckpt.h>
static int
do_remove(char *path)
{
   int rc = 0;
   if ((rc = ckpt_remove(path)) != 0) {
      printf("Remove checkpoint statefile %s failed\n", path);
      return (rc);
   }
   return (0);
}
