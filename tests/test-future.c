/* Futures, wakers and async functions (include/axle/future.h), driven by
 * hand with a counting waker: no runtime is involved unless a test says so.
 *
 * What is checked: ax_drop and ax_poll, the waker vtable helpers, contexts
 * built by the caller, laziness (nothing runs before the first poll), the
 * AX_BEGIN / AX_AWAIT / AX_YIELD / AX_RETURN / AX_END machinery with locals
 * kept in the state struct, on_drop in every state (once), the order of
 * child drop and on_drop, copying a future before its first poll, and
 * ax_yield_now.
 */
#include "helpers.h"

/* ---- ax_drop / ax_poll --------------------------------------------------- */

START_TEST(drop_calls_vtable_drop) {
  th_counts_t c = {0};
  th_leaf_t l;
  ax_future_t *f = th_leaf(&l, &c, -1, 0);
  ax_drop(f);
  ck_assert_int_eq(l.drops, 1);
  ck_assert_int_eq(atomic_load(&c.drops), 1);
  ck_assert_int_eq(l.polls, 0);  /* dropping is not polling */
}
END_TEST

static ax_poll_t ready_poll(ax_future_t *f, ax_cx_t *cx) {
  (void)f;
  (void)cx;
  return AX_READY;
}

START_TEST(drop_without_drop_fn) {
  /* A vtable may leave drop NULL: nothing to release. */
  static const ax_future_vtable_t vt = {ready_poll, NULL, NULL};
  ax_future_t f = {&vt};
  th_cx_t cx;
  th_cx_init(&cx);
  ax_drop(&f);
  ck_assert_int_eq(TH_POLL(&f, &cx), AX_READY);
}
END_TEST

START_TEST(poll_dispatches_to_vtable) {
  th_counts_t c = {0};
  th_leaf_t l;
  th_cx_t cx;
  ax_future_t *f = th_leaf(&l, &c, 2, 0);
  th_cx_init(&cx);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_READY);
  ck_assert_int_eq(l.out, 42);
  ck_assert_int_eq(atomic_load(&c.polls), 3);
  ck_assert_int_eq(atomic_load(&c.readies), 1);
  ax_drop(f);
  ck_assert_int_eq(cx.w.refs, 0);
}
END_TEST

/* ---- wakers and contexts ------------------------------------------------- */

START_TEST(cx_init_and_waker) {
  th_waker_t tw;
  ax_waker_t *w = th_waker_init(&tw);
  ax_cx_t cx;
  ax_cx_init(&cx, w);
  ck_assert_ptr_eq(ax_cx_waker(&cx), w);
  ck_assert_ptr_null(cx.ax__wait);  /* no task behind a caller's context */
}
END_TEST

START_TEST(waker_helpers) {
  th_waker_t tw, other;
  ax_waker_t *w = th_waker_init(&tw), *c1, *c2;
  th_waker_init(&other);

  c1 = ax_waker_clone(w);
  c2 = ax_waker_clone(w);
  ck_assert_ptr_eq(c1, w);
  ck_assert_int_eq(tw.refs, 2);   /* the two clones */
  ck_assert(ax_waker_will_wake(c1, w));
  ck_assert(!ax_waker_will_wake(w, &other.base));

  ax_waker_wake_by_ref(c1);          /* keeps the reference */
  ck_assert_int_eq(tw.wakes, 1);
  ck_assert_int_eq(tw.refs, 2);
  ax_waker_wake(c1);                 /* consumes it */
  ck_assert_int_eq(tw.wakes, 2);
  ck_assert_int_eq(tw.refs, 1);
  ax_waker_drop(c2);                 /* no wake */
  ck_assert_int_eq(tw.wakes, 2);
  ck_assert_int_eq(tw.refs, 0);
}
END_TEST

/* ---- async functions ----------------------------------------------------- */

/* Two leaves awaited in sequence, a yield between them, a local (i) that
 * lives across the awaits in the struct, a trace of where the body got. */
typedef struct {
  ax_async_t co;
  th_leaf_t a, b;
  th_counts_t *c;
  int i;        /* a "local" kept across awaits */
  int trace;    /* steps reached */
  int entries;  /* body entries (polls) */
  int out;
} seq_t;

AX_ASYNC(seq_fn, seq_t, self) {
  self->entries++;
  AX_BEGIN(self);
  self->trace = 1;
  AX_AWAIT(th_leaf(&self->a, self->c, 2, 0));
  self->trace = 2;
  for (self->i = 0; self->i < 3; self->i++) AX_YIELD();
  self->trace = 3;
  AX_AWAIT(th_leaf(&self->b, self->c, 1, 0));
  self->trace = 4;
  self->out = self->a.out + self->b.out + self->i;
  AX_END();
}

START_TEST(async_fn_is_lazy) {
  seq_t s = {0};
  th_counts_t c = {0};
  s.c = &c;
  ax_future_t *f = AX_FUTURE(seq_fn, &s);
  /* Making the future ran nothing: no body entry, no child touched. */
  ck_assert_ptr_eq(f, AX_FUTURE_OF(&s));
  ck_assert_int_eq(s.entries, 0);
  ck_assert_int_eq(s.trace, 0);
  ck_assert_int_eq(atomic_load(&c.polls), 0);
  ax_drop(f);  /* never polled: dropping is fine and polls nothing */
  ck_assert_int_eq(s.entries, 0);
  ck_assert_int_eq(atomic_load(&c.polls), 0);
  ck_assert_int_eq(atomic_load(&c.drops), 0);  /* no child was awaited */
}
END_TEST

START_TEST(async_fn_steps) {
  seq_t s = {0};
  th_counts_t c = {0};
  th_cx_t cx;
  ax_future_t *f;
  int n = 0;

  s.c = &c;
  f = AX_FUTURE(seq_fn, &s);
  th_cx_init(&cx);

  /* a: 2 pending polls then ready. */
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_int_eq(s.trace, 1);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_int_eq(cx.w.wakes, 0);  /* leaves wake nobody */
  /* a ready, then the first yield: pending, and the waker was woken. */
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_int_eq(s.trace, 2);
  ck_assert_int_eq(s.i, 0);
  ck_assert_int_eq(cx.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_int_eq(s.i, 1);
  ck_assert_int_eq(cx.w.wakes, 2);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_int_eq(s.i, 2);
  ck_assert_int_eq(cx.w.wakes, 3);
  /* Loop done; b: 1 pending. */
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_int_eq(s.trace, 3);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_READY);
  ck_assert_int_eq(s.trace, 4);
  ck_assert_int_eq(s.out, 42 + 42 + 3);
  ck_assert_int_eq(s.a.polls, 3);
  ck_assert_int_eq(s.b.polls, 2);
  n = s.entries;
  ck_assert_int_eq(n, 7);

  /* Polling a finished async function is READY again and reruns nothing. */
  ck_assert_int_eq(TH_POLL(f, &cx), AX_READY);
  ck_assert_int_eq(s.trace, 4);
  ck_assert_int_eq(atomic_load(&c.polls), 5);
  ck_assert_ptr_null(s.co.child);

  ax_drop(f);
  /* Completed children are the parent's fields: the async drop does not
   * drop them (they completed; only the child being awaited is dropped). */
  ck_assert_int_eq(atomic_load(&c.drops), 0);
  ck_assert_int_eq(cx.w.refs, 0);
}
END_TEST

/* AX_RETURN finishes early; code after it never runs. */
typedef struct {
  ax_async_t co;
  th_leaf_t a;
  int early;
  int after;
  int out;
} ret_t;

AX_ASYNC(ret_fn, ret_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(th_leaf(&self->a, NULL, 1, 0));
  if (self->early) {
    self->out = 1;
    AX_RETURN();
  }
  self->after = 1;
  self->out = 2;
  AX_END();
}

START_TEST(async_fn_return_early) {
  th_cx_t cx;
  ret_t r;
  th_cx_init(&cx);
  for (int early = 0; early < 2; early++) {
    memset(&r, 0, sizeof(r));
    r.early = early;
    ax_future_t *f = AX_FUTURE(ret_fn, &r);
    ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
    ck_assert_int_eq(TH_POLL(f, &cx), AX_READY);
    ck_assert_int_eq(r.out, early ? 1 : 2);
    ck_assert_int_eq(r.after, !early);
    ck_assert_int_eq(TH_POLL(f, &cx), AX_READY);  /* stays ready */
    ck_assert_int_eq(r.out, early ? 1 : 2);
    ax_drop(f);
  }
}
END_TEST

/* on_drop: runs once, in every state, after the awaited child's drop. */
typedef struct {
  ax_async_t co;
  th_leaf_t child;
  int child_pending;  /* how long the child stays pending */
  int *log;           /* 1 = child dropped, 2 = on_drop ran */
  int *nlog;
  int on_drops;
} dropper_t;

AX_ASYNC(dropper_fn, dropper_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(th_leaf(&self->child, NULL, self->child_pending, 0));
  AX_END();
}

static int *g_log, *g_nlog;

static void dropper_child_drop(ax_future_t *f) {
  th_leaf_drop(f);
  g_log[(*g_nlog)++] = 1;
}

static const ax_future_vtable_t dropper_child_vt = {th_leaf_poll,
                                                    dropper_child_drop, NULL};

AX_ASYNC_DROP(dropper_on_drop, dropper_t, d) {
  d->on_drops++;
  d->log[(*d->nlog)++] = 2;
}

/* Same body, but the child uses the logging vtable. */
AX_ASYNC(dropper_log_fn, dropper_t, self) {
  AX_BEGIN(self);
  th_leaf(&self->child, NULL, self->child_pending, 0);
  self->child.base.vtable = &dropper_child_vt;
  AX_AWAIT(&self->child.base);
  AX_END();
}

START_TEST(on_drop_in_every_state) {
  th_cx_t cx;
  int log[8], nlog;
  dropper_t d;
  th_cx_init(&cx);
  g_log = log;
  g_nlog = &nlog;

  /* 0: never polled; 1: pending on its child; 2: completed. */
  for (int state = 0; state < 3; state++) {
    memset(&d, 0, sizeof(d));
    nlog = 0;
    d.log = log;
    d.nlog = &nlog;
    d.child_pending = state == 1 ? -1 : 0;
    ax_future_t *f = AX_FUTURE_DROP(dropper_log_fn, dropper_on_drop, &d);
    if (state >= 1)
      ck_assert_int_eq(TH_POLL(f, &cx), state == 1 ? AX_PENDING : AX_READY);
    ax_drop(f);
    ck_assert_int_eq(d.on_drops, 1);
    if (state == 1) {
      /* The awaited child is dropped first, then on_drop. */
      ck_assert_int_eq(nlog, 2);
      ck_assert_int_eq(log[0], 1);
      ck_assert_int_eq(log[1], 2);
      ck_assert_int_eq(d.child.drops, 1);
    } else {
      ck_assert_int_eq(nlog, 1);
      ck_assert_int_eq(log[0], 2);
      ck_assert_int_eq(d.child.drops, 0);
    }
    /* axle's own futures tolerate a second drop: nothing runs twice. */
    ax_drop(f);
    ck_assert_int_eq(d.on_drops, 1);
    ck_assert_int_eq(d.child.drops, state == 1 ? 1 : 0);
  }
  ck_assert_int_eq(cx.w.refs, 0);
}
END_TEST

START_TEST(plain_async_drop) {
  /* AX_FUTURE (no on_drop): dropping a pending one drops its child. */
  th_cx_t cx;
  dropper_t d = {0};
  d.child_pending = -1;
  th_cx_init(&cx);
  ax_future_t *f = AX_FUTURE(dropper_fn, &d);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_int_eq(d.child.polls, 2);
  ax_drop(f);
  ck_assert_int_eq(d.child.drops, 1);
  ck_assert_int_eq(d.on_drops, 0);
}
END_TEST

/* Nested async functions: the child state lives inline in the parent. */
typedef struct {
  ax_async_t co;
  th_leaf_t leaf;
  int depth;
  int out;
} inner_t;

AX_ASYNC(inner_fn, inner_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(th_leaf(&self->leaf, NULL, 1, 1));
  self->out = self->leaf.out + self->depth;
  AX_END();
}

typedef struct {
  ax_async_t co;
  inner_t in[3];
  int k;
  int out;
} outer_t;

AX_ASYNC(outer_fn, outer_t, self) {
  AX_BEGIN(self);
  for (self->k = 0; self->k < 3; self->k++) {
    memset(&self->in[self->k], 0, sizeof(self->in[self->k]));
    self->in[self->k].depth = self->k;
    AX_AWAIT(AX_FUTURE(inner_fn, &self->in[self->k]));
    self->out += self->in[self->k].out;
  }
  AX_END();
}

START_TEST(nested_async_fns) {
  th_cx_t cx;
  outer_t o = {0};
  int polls = 0;
  th_cx_init(&cx);
  ax_future_t *f = AX_FUTURE(outer_fn, &o);
  while (TH_POLL(f, &cx) == AX_PENDING) {
    polls++;
    ck_assert_int_lt(polls, 100);
  }
  /* Each inner leaf is pending once and wakes itself: 3 wakes, 3 pendings. */
  ck_assert_int_eq(polls, 3);
  ck_assert_int_eq(cx.w.wakes, 3);
  ck_assert_int_eq(o.out, (42 + 0) + (42 + 1) + (42 + 2));
  ax_drop(f);
}
END_TEST

/* An async function declared with AX_ASYNC_DECL ahead of its definition
 * (below the test that spawns it): AX_FUTURE type-checks against it. */
typedef struct {
  ax_async_t co;
  ax_yield_t y;
  int out;
} decl_t;

AX_ASYNC_DECL(decl_fn, decl_t);

START_TEST(async_decl) {
  th_cx_t cx;
  decl_t d = {0};
  th_cx_init(&cx);
  ax_future_t *f = AX_FUTURE(decl_fn, &d);
  ck_assert_ptr_eq(f, AX_FUTURE_OF(&d));
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_int_eq(cx.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_READY);
  ck_assert_int_eq(d.out, 7);
  ax_drop(f);
}
END_TEST

AX_ASYNC(decl_fn, decl_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_yield_now(&self->y));
  self->out = 7;
  AX_END();
}

START_TEST(copy_before_first_poll) {
  /* A future may be memcpy'd until its first poll; the copy works alone. */
  th_cx_t cx;
  seq_t orig, copy;
  th_counts_t c = {0};
  memset(&orig, 0, sizeof(orig));
  orig.c = &c;
  AX_FUTURE(seq_fn, &orig);
  memcpy(&copy, &orig, sizeof(copy));
  memset(&orig, 0xA5, sizeof(orig));  /* the original is gone */
  th_cx_init(&cx);
  int polls = 0;
  while (TH_POLL(AX_FUTURE_OF(&copy), &cx) == AX_PENDING)
    ck_assert_int_lt(++polls, 50);
  ck_assert_int_eq(copy.out, 42 + 42 + 3);
  ax_drop(AX_FUTURE_OF(&copy));
}
END_TEST

START_TEST(yield_now_future) {
  th_cx_t cx;
  ax_yield_t y;
  th_cx_init(&cx);
  ax_future_t *f = ax_yield_now(&y);
  ck_assert_int_eq(cx.w.wakes, 0);  /* lazy */
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_int_eq(cx.w.wakes, 1);  /* asked to be polled again */
  ck_assert_int_eq(TH_POLL(f, &cx), AX_READY);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_READY);
  ck_assert_int_eq(cx.w.wakes, 1);
  ax_drop(f);
  /* Re-arming with ax_yield_now yields again. */
  f = ax_yield_now(&y);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_int_eq(cx.w.wakes, 2);
  ck_assert_int_eq(cx.w.refs, 0);  /* no clone kept */
}
END_TEST

/* Polled by a runtime too: an async fn as the block_on future and as a
 * task, with ax_task_id/ax_runtime_current visible from the body. */
typedef struct {
  ax_async_t co;
  ax_yield_t y;
  uint64_t id;
  ax_runtime_t *rt;
  int out;
} where_t;

AX_ASYNC(where_fn, where_t, self) {
  AX_BEGIN(self);
  self->id = ax_task_id();
  self->rt = ax_runtime_current();
  AX_AWAIT(ax_yield_now(&self->y));
  self->out = 1;
  AX_END();
}

START_TEST(custom_executor_has_no_task) {
  /* Polled by hand on a plain thread: no task, no runtime. */
  th_cx_t cx;
  where_t w = {0};
  th_cx_init(&cx);
  ck_assert_int_eq(TH_POLL(AX_FUTURE(where_fn, &w), &cx), AX_PENDING);
  ck_assert_uint_eq(w.id, 0);
  ck_assert_ptr_null(w.rt);
  ck_assert_int_eq(TH_POLL(AX_FUTURE_OF(&w), &cx), AX_READY);
  ax_drop(AX_FUTURE_OF(&w));
}
END_TEST

START_TEST(block_on_async_fn) {
  where_t w = {0};
  ax_runtime_t *rt = th_start(_i, 2, AX_FUTURE(where_fn, &w));
  ck_assert_int_eq(w.out, 1);
  ck_assert_uint_ne(w.id, 0);
  ck_assert_ptr_eq(w.rt, rt);
  th_finish(rt, AX_FUTURE_OF(&w));
}
END_TEST

Suite *ax_future_suite(void) {
  return AX_SUITE("future",
                  AX_CASE("future", 0),
                  AX_ONCE(drop_calls_vtable_drop),
                  AX_ONCE(drop_without_drop_fn),
                  AX_ONCE(poll_dispatches_to_vtable),
                  AX_CASE("waker", 0),
                  AX_ONCE(cx_init_and_waker),
                  AX_ONCE(waker_helpers),
                  AX_CASE("async", 0),
                  AX_ONCE(async_fn_is_lazy),
                  AX_ONCE(async_fn_steps),
                  AX_ONCE(async_fn_return_early),
                  AX_ONCE(on_drop_in_every_state),
                  AX_ONCE(plain_async_drop),
                  AX_ONCE(nested_async_fns),
                  AX_ONCE(async_decl),
                  AX_ONCE(copy_before_first_poll),
                  AX_ONCE(yield_now_future),
                  AX_ONCE(custom_executor_has_no_task),
                  AX_FLAVOURS(block_on_async_fn));
}
