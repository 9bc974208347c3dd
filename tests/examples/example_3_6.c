/*
 * IRIX CPR guide, Example 3-6 "Sample Usage of ckpt_restart() Function", as
 * printed, with only these fixes:
 *   - the missing "return (0);" at the end of do_restart() added;
 *   - the "</pre>" after the closing brace removed.
 */
#include <ckpt.h>
static int
do_restart(char *path)
{
    printf("Restarting processes from directory %s\n", path);
    if (ckpt_restart(path, 0, 0) < 0) {
        printf("Restart %s failed\n", path);
        return (-1);
    }
    return (0);
}
