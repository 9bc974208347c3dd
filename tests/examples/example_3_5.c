/*
 * IRIX CPR guide, Example 3-5 "Sample Usage of ckpt_create() Function", as
 * printed (no fix needed).
 */
#include <ckpt.h>
static int
do_checkpoint(ckpt_id_t id, u_long type, char *pathname)
{
   int rc;
   printf("Checkpointing id %d (type %s) to directory %s\n",
        id, ckpt_type_str(CKPT_REAL_TYPE(type)), pathname);
   if ((rc = ckpt_create(pathname, id, type, 0, 0)) != 0) {
        printf("Failed to checkpoint process %lld\n", id);
        return (rc);
   }
   return (0);
}
