/* Internal: what the local I/O files share (pipe.c, stdio.c, signal.c,
 * process.c; defined in process.c). */
#ifndef AX_IO_PROC_H
#define AX_IO_PROC_H

#include "core/context.h"

/* Runs fn(arg) on home's thread and returns once it has run.  On that
 * thread it runs at once.  Elsewhere it is posted and the caller waits:
 * only block_on's thread of a multi-thread runtime, whose home is a worker,
 * ever does (a worker's home is itself), and no home waits for that
 * thread, so the wait cannot deadlock.  Callers pass their own
 * ax__ctx_current()->home, never another object's home (two workers
 * waiting for each other would deadlock).  0, or an error when the wait
 * could not be set up (fn did not run). */
int ax__home_call(ax__ctx_t *home, void (*fn)(void *arg), void *arg);

/* POSIX: makes SIGPIPE ignored if it has its default action (once per
 * process; see <axle/process.h>).  Nothing elsewhere. */
void ax__ignore_sigpipe(void);

#endif
