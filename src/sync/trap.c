/* Callbacks under a lock, safe from ax_panic (trap.h). */
#include "sync/trap.h"

#include <string.h>

int ax__trap_call(ax__trap_t *t, void (*fn)(void *arg), void *arg) {
  t->outer = ax__jump_current();
  if (t->outer == NULL || !t->outer->armed) {
    fn(arg);  /* a panic here aborts the process: no lock to give back */
    return 0;
  }
  t->jump.msg = NULL;
  t->jump.armed = 1;
  ax__jump_set(&t->jump);
  /* Only *t is read after the jump back, and it lives in the caller's
   * frame, not in this one: nothing here needs to be volatile. */
  if (setjmp(t->jump.jb) != 0) {
    ax__jump_set(t->outer);
    return 1;
  }
  fn(arg);
  ax__jump_set(t->outer);
  return 0;
}

void ax__trap_rethrow(ax__trap_t *t) {
  t->outer->msg = t->jump.msg;
  longjmp(t->outer->jb, 1);
}

typedef struct {
  void (*fn)(void *dst, const void *src);  /* the channel's clone */
  void *dst;                               /* the receiver's buffer */
  const void *src;                         /* the channel's value */
} clone_call_t;

static void clone_call(void *arg) {
  clone_call_t *c = (clone_call_t *)arg;
  c->fn(c->dst, c->src);
}

int ax__trap_clone(ax__trap_t *t, void (*clone)(void *dst, const void *src),
                   void *dst, const void *src, size_t size) {
  clone_call_t c;
  if (clone == NULL) {
    if (size > 0) memcpy(dst, src, size);
    return 0;
  }
  c.fn = clone;
  c.dst = dst;
  c.src = src;
  return ax__trap_call(t, clone_call, &c);
}
