/* Internal: where a panic lands.
 *
 * ax_panic() (task/panic.c) longjmps to the jump target of the calling
 * thread: a worker's, armed while it polls a task (runtime/worker.c), or a
 * blocking-pool thread's while it runs a job (runtime/blocking.c).  The
 * target is per thread because a panic unwinds the thread it happens on.
 */
#ifndef AX_CORE_JUMP_H
#define AX_CORE_JUMP_H

#include <setjmp.h>

typedef struct ax__jump_s {
  jmp_buf jb;           /* where ax_panic() lands */
  char *msg;            /* the panic message (owned) */
  int armed;            /* 1 while a poll or a job runs under jb */
} ax__jump_t;

/* The calling thread's jump target, or NULL (jump.c). */
ax__jump_t *ax__jump_current(void);
void ax__jump_set(ax__jump_t *j);

#endif
