/*
 * <ckpt.h>: the checkpoint and restart programming interface of the IRIX
 * CPR guide, chapter 3, for Linux. Link with -lcpr (pkg-config cpr).
 *
 *   ckpt_create()   checkpoint a process or a set of processes
 *   ckpt_restart()  resume them from a statefile
 *   ckpt_stat()     what a statefile holds, one ckpt_stat_t per process
 *   ckpt_remove()   delete a statefile
 *   ckpt_setup()    a no-op, as in IRIX
 *   atcheckpoint(), atrestart()  callbacks run on SIGCKPT and SIGRESTART
 *
 * See ckpt_create(3), atcheckpoint(3) and cpr(1).
 */
#ifndef CPR_CKPT_H
#define CPR_CKPT_H

/* The guide's samples use these without including them. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h> /* P_PID and P_PGID (idtype_t) */
#include <time.h>

/* Strict ISO C modes (-std=c11) hide these; the values are Linux's. */
#if !defined(__USE_XOPEN) && !defined(__USE_XOPEN2K8)
#define P_PID 1
#define P_PGID 2
#endif
#define CKPT_PATH_MAX 4096

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Checkpoint and restart signals. Linux has none: two real-time signals
 * that glibc does not reserve (SIGRTMAX-2 and SIGRTMAX-1 on Linux). cpr
 * sends them only to a process that catches them, so their default action
 * is in effect "ignore". Catch them with atcheckpoint() and atrestart(),
 * not directly.
 */
#define SIGCKPT 62
#define SIGRESTART 63

/* Seconds ckpt_create() waits for SIGCKPT handlers to return. */
#define CKPT_DEFAULT_TIMEOUT 60

/* What a checkpoint ID names. P_PID and P_PGID come from <sys/wait.h>. */
typedef int64_t ckpt_id_t;
typedef uint64_t ckpt_type_t;
#define P_SID 20 /* a session: ID is its session ID */
#define P_ASH 21 /* an array session: ID is the audit session ID */
#define P_HID 22 /* a process and all its descendants */
#define P_SGP 23 /* processes sharing one address space */
#define P_JID 24 /* a job: ID is the cgroup (v2) id, as name_to_handle_at */
#define CKPT_PROCESS P_PID
#define CKPT_PGROUP P_PGID
#define CKPT_SESSION P_SID
#define CKPT_ARSESSION P_ASH
#define CKPT_HIERARCHY P_HID
#define CKPT_SGROUP P_SGP
#define CKPT_JOB P_JID

/* Control bits a caller may add to the type (CKPT_REAL_TYPE drops them).
 * CKPT_TYPE_INPLACE: checkpoint from the calling process itself instead of
 * a child; the caller is then never part of the set, and cpr's ptrace, CPU
 * pinning and signal handling happen in it (the cpr command uses it). */
#define CKPT_TYPE_INPLACE (1UL << 28)
#define CKPT_TYPE_MASK 0x0FFFFFFFUL
#define CKPT_REAL_TYPE(t) ((t)&CKPT_TYPE_MASK)

/* cpr_flags: OR them in before ckpt_create() or ckpt_restart(); the
 * variable is process-wide, so clear what the next call must not see. */
extern int cpr_flags;
#define CKPT_OPENFILE_DISTRIBUTE 0x1 /* save open files beside themselves */
#define CKPT_RESTART_INTERACTIVE                                               \
  0x2                               /* restart under the caller's job control */
#define CKPT_CHECKPOINT_UPGRADE 0x4 /* save executables and libraries too */
#define CKPT_CHECKPOINT_CONT 0x8    /* the processes go on (WILL CONT) */
#define CKPT_CHECKPOINT_KILL 0x10   /* the processes are killed (WILL KILL) */

/* ckpt_args: the POSIX draft's extension arguments. These are cpr's. */
struct ckpt_args {
  unsigned long ckpt_type; /* one of CKPT_ARG_... */
  void *ckpt_data;         /* as the type says */
};
#define CKPT_ARG_FORCE                                                         \
  0x100 /* create: overwrite a statefile; restart: map programs changed    \
           since the checkpoint as they are now (NULL) */
#define CKPT_ARG_OUTSIDE_PIPES 0x101 /* create: carry pipes to outside (NULL)  \
                                      */
#define CKPT_ARG_TIMEOUT 0x102  /* create: unsigned int * seconds for handlers \
                                 */
#define CKPT_ARG_FORK_ANY 0x103 /* restart: FORK ANY (NULL) */
#define CKPT_ARG_STATEFILE                                                     \
  0x104 /* restart: const char *, another statefile                            \
           restarted with `path`, all or none */
#define CKPT_ARG_IDS                                                           \
  0x105 /* create: const char *, an ID list as cpr -p                          \
           takes it ("12:SID,40", a cgroup path:JID);                          \
           replaces id and type */
#define CKPT_ARG_ALL_IPC                                                       \
  0x106 /* create: also the owner's System V IPC objects                       \
           no process uses (NULL) */
#define CKPT_ARG_OUTSIDE_SOCKETS                                               \
  0x107 /* create: connect unix sockets to outside again by                    \
           address at restart (NULL) */
#define CKPT_ARG_COMPRESS                                                      \
  0x108 /* create: compress the memory with zstd; int * level,                 \
           1 to 19, or NULL for 1 */
#define CKPT_ARG_SINCE                                                         \
  0x109 /* create: const char *, an earlier statefile of the                   \
           set: an incremental checkpoint */

/* Errors: errno as the guide's message says (ESRCH "No such process",
 * EEXIST "File exists", ...); ECKPT for "Checkpoint error". */
#define ECKPT ENOTRECOVERABLE

/* ckpt_create() returns this in the copy of a process that checkpointed
 * itself, when that copy is restarted (the original gets 0). */
#define CKPT_RESTARTED 1

typedef long long ckpt_rev_t;

/* One per process of a statefile; free each with free(). */
#define CKPT_PSARGSZ 80
typedef struct ckpt_stat {
  struct ckpt_stat *cs_next;    /* the next process, or NULL */
  ckpt_rev_t cs_revision;       /* statefile format revision */
  ckpt_id_t cs_id;              /* the ID checkpointed (first of a list) */
  ckpt_type_t cs_type;          /* its type, P_PID ... */
  pid_t cs_pid, cs_ppid;        /* the process and its parent */
  pid_t cs_pgrp, cs_sid;        /* process group and session */
  uid_t cs_uid;                 /* real uid */
  gid_t cs_gid;                 /* real gid */
  struct stat cs_stat;          /* the statefile's; st_mtime: when made */
  int cs_nfiles;                /* open file descriptors */
  int cs_nthreads;              /* threads */
  char cs_comm[16];             /* process name */
  char cs_psargs[CKPT_PSARGSZ]; /* command line, cut to fit */
  char cs_cdir[CKPT_PATH_MAX];  /* working directory */
} ckpt_stat_t;

int ckpt_setup(struct ckpt_args *args[], size_t nargs);
int ckpt_create(const char *path, ckpt_id_t id, unsigned long type,
                struct ckpt_args *args[], size_t nargs);
ckpt_id_t ckpt_restart(const char *path, struct ckpt_args *args[],
                       size_t nargs);
int ckpt_stat(const char *path, ckpt_stat_t **sp);
int ckpt_remove(const char *path);

/* "PID", "GID", "SID", "ASH", "HID", "SGP", "JID"; "UNKNOWN" else. */
char *ckpt_type_str(ckpt_type_t type);
/* "CPR revision N" */
char *rev_to_str(ckpt_rev_t rev);
/* The one-line message of the last failure of a ckpt_ call in this thread
 * (also written on stderr, as IRIX did), or "". */
const char *ckpt_errmsg(void);

/* Run `func` on SIGCKPT (atcheckpoint) or SIGRESTART (atrestart), after the
 * ones registered before it. At least 32 each; -1 (errno ENOMEM) past the
 * limit, or EINVAL for NULL. */
int atcheckpoint(void (*func)(void));
int atrestart(void (*func)(void));

#ifdef __cplusplus
}
#endif
#endif /* CPR_CKPT_H */
