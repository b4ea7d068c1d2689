/* Out of memory: every allocation failure reachable from a public call
 * comes back as AX_ENOMEM, and the program that got it can still shut
 * everything down.  DESIGN §9: "An allocation failure is AX_ENOMEM, not an
 * abort."
 *
 * The sweep: a test allocator (failalloc.h, installed with
 * ax_replace_allocator before the first runtime) fails the N-th
 * allocation of a representative program -- runtime creation, spawns
 * (named, plain functions, from outside), joins, sleeps, every channel
 * kind, every lock, spawn_blocking, select, join-all, timeout, shutdown
 * -- for N = 1, 2, ... until a run completes with nothing refused, on
 * both runtime flavours; a second sweep fails every allocation from the
 * N-th on (memory that does not come back).  After every run: no crash,
 * no abort, a result of 0 or AX_ENOMEM, and no block left allocated.
 *
 * libuv's own allocations (its loops' internals, the threadpool) do not
 * go through ax_replace_allocator (include/axle/common.h): the sweep
 * covers axle's.
 */
#include "failalloc.h"
#include "helpers.h"
#include "runtime/inject.h"   /* the overflow list, below the runtime */
#include "sync/chan_list.h"   /* the size of an mpsc block */

#define CURRENT 0
#define MULTI 1

/* ---- the program's pieces ------------------------------------------------- */

/* A child task: sleeps, yields, sends its number on a channel. */
typedef struct {
  ax_async_t co;
  ax_sleep_t nap;
  ax_yield_t y;
  ax_mpsc_tx_t *tx;        /* a sender handle of its own, dropped at end */
  ax_mpsc_send_t send;
  int n;
  int rc;                  /* output: the send's result */
} child_t;

static void child_drop(void *p) {
  child_t *c = p;
  ax_mpsc_sender_drop(c->tx);
  c->tx = NULL;
}

AX_ASYNC(child_fn, child_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_sleep(&s->nap, 1));
  ax_drop(&s->nap.base);
  AX_AWAIT(ax_yield_now(&s->y));
  AX_AWAIT(ax_mpsc_send(&s->send, s->tx, &s->n));
  s->rc = s->send.result;
  ax_drop(&s->send.base);
  child_drop(s);  /* the receiver waits for every sender to go */
  AX_END();
}

static void *plain_fn(void *arg) { return (char *)arg + 1; }

static void *blocking_fn(void *arg) {
  int *n = arg;
  return (void *)(intptr_t)(*n * 2);
}

static void wt_drop_int(void *p) { (void)p; }

/* What an oncecell's init future leaves. */
typedef struct {
  ax_async_t co;
  ax_yield_t y;
  void *value;
} cell_init_t;

static int cell_value = 7;

AX_ASYNC(cell_init_fn, cell_init_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_yield_now(&s->y));
  s->value = &cell_value;
  AX_END();
}

#define N_CHILD 3
#define N_UNBOUNDED 80   /* more than two blocks of 32: the list grows */

typedef struct {
  ax_async_t co;
  int rc;                       /* output: 0 or the first error */
  int k, v, got;
  /* tasks */
  child_t child;
  ax_join_t h[N_CHILD];
  ax_join_t fn_h, blk_h, named_h;
  /* channels */
  ax_mpsc_tx_t *tx, *utx;
  ax_mpsc_rx_t *rx, *urx;
  ax_mpsc_recv_t recv;
  ax_oneshot_tx_t *otx;
  ax_oneshot_rx_t *orx;
  ax_oneshot_recv_t orecv;
  ax_broadcast_tx_t *btx;
  ax_broadcast_rx_t *brx, *brx2;
  ax_broadcast_recv_t brecv;
  ax_watch_tx_t *wtx;
  ax_watch_rx_t *wrx, *wrx2;
  ax_watch_changed_t wch;
  /* locks */
  ax_mutex_t m;
  ax_mutex_guard_t g;
  ax_rwlock_t rw;
  ax_rwlock_guard_t rg;
  ax_semaphore_t sem;
  ax_permit_t p;
  ax_notify_t nt;
  ax_notify_wait_t nf;
  ax_barrier_t bar;
  ax_barrier_wait_t bw;
  ax_oncecell_t cell;
  ax_oncecell_get_t cget;
  cell_init_t cinit;
  /* combinators */
  ax_sleep_t s1, s2;
  ax_select_t sel;
  ax_join_all_t ja;
  ax_yield_t y1, y2;
  ax_timeout_t to;
  ax_sleep_t s3;
} prog_t;

#define TRY(expr)                                                          \
  do {                                                                     \
    if ((s->rc = (expr)) != 0) goto out;                                   \
  } while (0)

static void prog_drop(void *p) {
  prog_t *s = p;
  int k;
  for (k = 0; k < N_CHILD; k++) ax_join_drop(&s->h[k]);
  ax_join_drop(&s->fn_h);
  ax_join_drop(&s->blk_h);
  ax_join_drop(&s->named_h);
  ax_mpsc_sender_drop(s->tx);
  ax_mpsc_receiver_drop(s->rx);
  ax_mpsc_sender_drop(s->utx);
  ax_mpsc_receiver_drop(s->urx);
  ax_oneshot_sender_drop(s->otx);
  ax_oneshot_receiver_drop(s->orx);
  ax_broadcast_sender_drop(s->btx);
  ax_broadcast_receiver_drop(s->brx);
  ax_broadcast_receiver_drop(s->brx2);
  ax_watch_sender_drop(s->wtx);
  ax_watch_receiver_drop(s->wrx);
  ax_watch_receiver_drop(s->wrx2);
  s->tx = s->utx = NULL;
  s->rx = s->urx = NULL;
  s->otx = NULL;
  s->orx = NULL;
  s->btx = NULL;
  s->brx = s->brx2 = NULL;
  s->wtx = NULL;
  s->wrx = s->wrx2 = NULL;
}

AX_ASYNC(prog_fn, prog_t, s) {
  AX_BEGIN(s);
  /* Tasks, each sending on a bounded channel of its own sender. */
  TRY(ax_mpsc_new(sizeof(int), 2, NULL, &s->tx, &s->rx));
  for (s->k = 0; s->k < N_CHILD; s->k++) {
    memset(&s->child, 0, sizeof(s->child));
    s->child.n = s->k;
    s->child.tx = ax_mpsc_sender_clone(s->tx);
    s->rc = ax_spawn(AX_FUTURE_DROP(child_fn, child_drop, &s->child),
                     sizeof(s->child), &s->h[s->k]);
    if (s->rc != 0) {
      ax_mpsc_sender_drop(s->child.tx);  /* nothing was spawned */
      goto out;
    }
  }
  ax_mpsc_sender_drop(s->tx);
  s->tx = NULL;
  for (s->got = 0;;) {
    AX_AWAIT(ax_mpsc_recv(&s->recv, s->rx, &s->v));
    ax_drop(&s->recv.base);
    if (s->recv.result != 0) break;
    s->got++;
  }
  for (s->k = 0; s->k < N_CHILD; s->k++) {
    AX_AWAIT(ax_join_wait(&s->h[s->k]));
    TRY(s->h[s->k].result);
    TRY(((child_t *)ax_join_output(&s->h[s->k]))->rc);
    ax_join_drop(&s->h[s->k]);
  }
  ax_assert(s->got == N_CHILD);
  TRY(ax_spawn_fn(plain_fn, &cell_value, &s->fn_h));
  AX_AWAIT(ax_join_wait(&s->fn_h));
  TRY(s->fn_h.result);
  ax_join_drop(&s->fn_h);
  TRY(ax_spawn_named(ax_runtime_current(), "oom-named",
                     AX_FUTURE(cell_init_fn, &s->cinit), sizeof(s->cinit),
                     &s->named_h));
  AX_AWAIT(ax_join_wait(&s->named_h));
  TRY(s->named_h.result);
  ax_join_drop(&s->named_h);

  /* Unbounded mpsc, grown past its first blocks, then drained. */
  TRY(ax_mpsc_new_unbounded(sizeof(int), NULL, &s->utx, &s->urx));
  for (s->k = 0; s->k < N_UNBOUNDED; s->k++)
    TRY(ax_mpsc_try_send(s->utx, &s->k));
  for (s->k = 0; s->k < N_UNBOUNDED; s->k++) {
    TRY(ax_mpsc_try_recv(s->urx, &s->v));
    ax_assert(s->v == s->k);
  }

  /* oneshot */
  TRY(ax_oneshot_new(sizeof(int), NULL, &s->otx, &s->orx));
  s->v = 5;
  s->rc = ax_oneshot_send(s->otx, &s->v);
  s->otx = NULL;  /* consumed either way */
  TRY(s->rc);
  AX_AWAIT(ax_oneshot_recv(&s->orecv, s->orx, &s->v));
  ax_drop(&s->orecv.base);
  TRY(s->orecv.result);

  /* broadcast */
  TRY(ax_broadcast_new(sizeof(int), 4, NULL, NULL, &s->btx, &s->brx));
  TRY(ax_broadcast_subscribe(s->btx, &s->brx2));
  TRY(ax_broadcast_send(s->btx, &s->k));
  AX_AWAIT(ax_broadcast_recv(&s->brecv, s->brx, &s->v));
  ax_drop(&s->brecv.base);
  TRY(s->brecv.result);
  AX_AWAIT(ax_broadcast_recv(&s->brecv, s->brx2, &s->v));
  ax_drop(&s->brecv.base);
  TRY(s->brecv.result);

  /* watch */
  s->v = 1;
  TRY(ax_watch_new(sizeof(int), &s->v, NULL, wt_drop_int, &s->wtx, &s->wrx));
  TRY(ax_watch_receiver_clone(s->wrx, &s->wrx2));
  s->v = 2;
  TRY(ax_watch_send(s->wtx, &s->v));
  AX_AWAIT(ax_watch_changed(&s->wch, s->wrx2));
  ax_drop(&s->wch.base);
  TRY(s->wch.result);
  ax_watch_borrow(s->wrx2, &s->v);

  /* locks: none allocates, but each is part of the program */
  TRY(ax_mutex_init(&s->m));
  AX_AWAIT(ax_mutex_lock(&s->g, &s->m));
  ax_mutex_unlock(&s->g);
  ax_drop(&s->g.base);
  ax_mutex_destroy(&s->m);
  TRY(ax_rwlock_init(&s->rw, 0));
  AX_AWAIT(ax_rwlock_write(&s->rg, &s->rw));
  ax_rwlock_unlock(&s->rg);
  ax_drop(&s->rg.base);
  ax_rwlock_destroy(&s->rw);
  TRY(ax_semaphore_init(&s->sem, 2));
  AX_AWAIT(ax_semaphore_acquire(&s->p, &s->sem, 2));
  ax_drop(&s->p.base);
  ax_semaphore_destroy(&s->sem);
  TRY(ax_notify_init(&s->nt));
  ax_notify_one(&s->nt);
  AX_AWAIT(ax_notify_wait(&s->nf, &s->nt));
  ax_drop(&s->nf.base);
  ax_notify_destroy(&s->nt);
  TRY(ax_barrier_init(&s->bar, 1));
  AX_AWAIT(ax_barrier_wait(&s->bw, &s->bar));
  ax_drop(&s->bw.base);
  ax_barrier_destroy(&s->bar);
  TRY(ax_oncecell_init(&s->cell, NULL));
  memset(&s->cinit, 0, sizeof(s->cinit));
  AX_AWAIT(ax_oncecell_get_or_init(&s->cget, &s->cell,
                                   AX_FUTURE(cell_init_fn, &s->cinit),
                                   &s->cinit.value));
  ax_drop(&s->cget.base);
  ax_oncecell_destroy(&s->cell);

  /* spawn_blocking from a worker */
  s->v = 21;
  TRY(ax_spawn_blocking(blocking_fn, &s->v, &s->blk_h));
  AX_AWAIT(ax_join_wait(&s->blk_h));
  TRY(s->blk_h.result);
  ax_assert(ax_join_value(&s->blk_h) == (void *)(intptr_t)42);
  ax_join_drop(&s->blk_h);

  /* select, join-all, timeout */
  AX_AWAIT(ax_select(&s->sel, ax_sleep(&s->s1, 1), ax_sleep(&s->s2, 10000)));
  ax_drop(&s->sel.base);
  ax_drop(&s->s1.base);
  AX_AWAIT(ax_join_all(&s->ja, ax_yield_now(&s->y1), ax_yield_now(&s->y2)));
  ax_drop(&s->ja.base);
  AX_AWAIT(ax_timeout(&s->to, ax_sleep(&s->s3, 10000), 1));
  ax_drop(&s->to.base);
  ax_assert(s->to.result == AX_ETIMEDOUT);
  s->rc = 0;
out:
  prog_drop(s);
  AX_END();
}

/* From a thread outside the runtime. */
typedef struct {
  ax_future_t base;
  int out;
} ready_t;

static ax_poll_t ready_poll(ax_future_t *f, ax_cx_t *cx) {
  (void)cx;
  ((ready_t *)f)->out = 1;
  return AX_READY;
}
static const ax_future_vtable_t ready_vt = {ready_poll, NULL, "ready"};

/* The whole program: 0 or the first error; everything it created is gone
 * when it returns. */
static int run_program(int multi) {
  ax_builder_t b;
  ax_runtime_t *rt;
  prog_t *s;
  ax_join_t h, bh;
  ready_t r = {{&ready_vt}, 0};
  th_waker_t tw;
  ax_cx_t cx;
  int rc, v = 4;

  ax_cx_init(&cx, th_waker_init(&tw));
  ax_builder_init(&b, multi ? AX_MULTI_THREAD : AX_CURRENT_THREAD);
  b.worker_threads = 2;
  b.thread_name = "oom";
  if ((rc = ax_runtime_new(&b, &rt)) != 0) return rc;
  /* Spawns from this thread: the injection queue, the pool's post. */
  memset(&h, 0, sizeof(h));
  memset(&bh, 0, sizeof(bh));
  if ((rc = ax_spawn_on(rt, &r.base, sizeof(r), &h)) == 0 &&
      (rc = ax_spawn_blocking_on(rt, blocking_fn, &v, &bh)) == 0) {
    s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    rc = ax_block_on(rt, AX_FUTURE_DROP(prog_fn, prog_drop, s));
    if (rc == 0) rc = s->rc;
    ax_drop(AX_FUTURE_OF(s));
    free(s);
    /* A current-thread runtime ran them during block_on. */
    if (rc == 0 && ax_block_on(rt, ax_join_wait(&h)) == 0) rc = h.result;
    if (rc == 0 && ax_block_on(rt, ax_join_wait(&bh)) == 0) rc = bh.result;
  }
  ax_join_drop(&h);
  ax_join_drop(&bh);
  ck_assert_int_eq(ax_runtime_free(rt), 0);
  return rc;
}

/* ---- the sweeps ------------------------------------------------------------ */

/* _i: bit 0 multi-thread, bit 1 memory that does not come back. */
START_TEST(oom_sweep) {
  int multi = _i & 1, rest = (_i & 2) != 0;
  long base = fa_live(), n, failures = 0;
  int rc;
  /* A clean run first: the program works, and a baseline for the size. */
  fa_reset();
  TH_ASSERT_OK(run_program(multi));
  ck_assert_int_eq(fa_live(), base);
  for (n = 1;; n++) {
    long refused = fa_failed();
    fa_fail_nth(n, rest);
    rc = run_program(multi);
    fa_reset();
    ck_assert_msg(fa_live() == base, "N = %ld: %ld blocks left (%s)", n,
                  fa_live() - base, ax_err_name(rc));
    if (fa_failed() == refused) {   /* nothing refused: the sweep is over */
      TH_ASSERT_OK(rc);
      break;
    }
    failures++;
    ck_assert_msg(rc == 0 || rc == AX_ENOMEM, "N = %ld: %s (%d)", n,
                  ax_err_name(rc), rc);
  }
  ck_assert_int_gt(failures, 20);  /* it did reach the program's parts */
}
END_TEST

/* ---- the paths a sweep may not reach every time -------------------------- */

/* The injection queue cannot grow: tasks wait on its overflow list, in
 * order, behind the ring's; once memory is back a push takes them into
 * the ring again.  Popped tasks have their link cleared (it shares its
 * place with panic_msg). */
START_TEST(inject_overflow_list) {
  enum { N = 1000 };
  ax__task_t *t = calloc(N, sizeof(*t)), *v[64];
  ax__inject_t q;
  size_t got = 0, n, k;
  long base = fa_live();
  ck_assert_ptr_nonnull(t);
  ax__inject_init(&q);
  for (k = 0; k < N; k++) {
    ax__task_t *one = &t[k];
    if (k == 0) fa_fail_size(256 * sizeof(void *));  /* no ring at all */
    if (k == 100) fa_reset();                         /* back, then... */
    if (k == 101) fa_fail_size(512 * sizeof(void *));  /* no growth */
    if (k == 600) fa_reset();
    ax__inject_push(&q, &one, 1);
    ck_assert_uint_eq(ax__inject_len(&q), k + 1 - got);
    if (k == 400) {   /* pops take the ring first, then the list */
      n = ax__inject_pop_n(&q, v, 64);
      for (size_t i = 0; i < n; i++, got++) ck_assert_ptr_eq(v[i], &t[got]);
    }
  }
  fa_reset();
  ck_assert_int_gt(fa_failed(), 0);
  while ((n = ax__inject_pop_n(&q, v, 64)) != 0)
    for (size_t i = 0; i < n; i++, got++) {
      ck_assert_ptr_eq(v[i], &t[got]);
      ck_assert_ptr_null(v[i]->panic_msg);
    }
  ck_assert_uint_eq(got, N);
  ck_assert_uint_eq(ax__inject_len(&q), 0);
  ax__inject_free(&q);
  ck_assert_int_eq(fa_live(), base);
  free(t);
}
END_TEST

/* The same through a runtime: spawns from outside while no ring can be
 * allocated all run, once each. */
typedef struct {
  ax_future_t base;
  _Atomic int *ran;
  th_latch_t *all;
} mark_t;

static ax_poll_t mark_poll(ax_future_t *f, ax_cx_t *cx) {
  mark_t *m = (mark_t *)f;
  (void)cx;
  atomic_fetch_add(m->ran, 1);
  th_latch_down(m->all);
  return AX_READY;
}
static const ax_future_vtable_t mark_vt = {mark_poll, NULL, "mark"};

START_TEST(inject_overflow_runtime) {
  enum { N = 600 };   /* more than the first ring's 256 slots */
  static _Atomic int ran[N];
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  long base = fa_live();
  th_latch_t all;
  th_latchwait_t lw;
  int k;
  th_latch_init(&all, N);
  fa_fail_size(256 * sizeof(void *));
  for (k = 0; k < N; k++) {
    mark_t m = {{&mark_vt}, &ran[k], &all};
    atomic_store(&ran[k], 0);
    TH_ASSERT_OK(ax_spawn_on(rt, &m.base, sizeof(m), NULL));
  }
  fa_reset();
  TH_ASSERT_OK(ax_block_on(rt, th_latch_wait(&lw, &all)));
  ax_drop(&lw.base);
  TH_ASSERT_OK(ax_runtime_free(rt));
  for (k = 0; k < N; k++) {
    int r = atomic_load(&ran[k]);
    ck_assert_int_eq(r, 1);
  }
  th_latch_destroy(&all);
  ck_assert_int_le(fa_live(), base);
}
END_TEST

/* An mpsc whose next block cannot be allocated: the sends that needed it
 * fail with AX_ENOMEM and give their claims back, from many threads at
 * once; the receiver gets exactly the values that were sent, each
 * sender's in order, and the channel works again once memory is back. */
#define MPSC_THREADS 4
#define MPSC_SENDS 200

typedef struct {
  ax_mpsc_tx_t *tx;
  int id;
  int sent;                 /* sends that returned 0 */
  int failed;               /* sends that returned AX_ENOMEM */
  int other;                /* anything else */
} sender_t;

static void sender_main(void *arg) {
  sender_t *s = arg;
  for (int k = 0; k < MPSC_SENDS; k++) {
    int v = s->id << 16 | s->sent, rc = ax_mpsc_try_send(s->tx, &v);
    if (rc == 0) s->sent++;
    else if (rc == AX_ENOMEM) s->failed++;
    else s->other++;
  }
}

START_TEST(mpsc_block_oom) {
  const size_t blk = AX__BLK_HDR + AX__BLK_CAP * sizeof(int);
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  sender_t sd[MPSC_THREADS];
  uv_thread_t th[MPSC_THREADS];
  int next[MPSC_THREADS] = {0}, total = 0, v, k;
  long base = fa_live();
  if (_i) {
    TH_ASSERT_OK(ax_mpsc_new(sizeof(int), 1000, NULL, &tx, &rx));
  } else {
    TH_ASSERT_OK(ax_mpsc_new_unbounded(sizeof(int), NULL, &tx, &rx));
  }
  fa_fail_size(blk);   /* only the first block exists */
  for (k = 0; k < MPSC_THREADS; k++) {
    sd[k] = (sender_t){ax_mpsc_sender_clone(tx), k, 0, 0, 0};
    ck_assert_int_eq(uv_thread_create(&th[k], sender_main, &sd[k]), 0);
  }
  for (k = 0; k < MPSC_THREADS; k++) uv_thread_join(&th[k]);
  for (k = 0; k < MPSC_THREADS; k++) {
    ck_assert_int_eq(sd[k].other, 0);
    ck_assert_int_eq(sd[k].sent + sd[k].failed, MPSC_SENDS);
    total += sd[k].sent;
  }
  ck_assert_int_le(total, AX__BLK_CAP);
  ck_assert_int_gt(total, 0);
  for (k = 0; k < total; k++) {
    int id;
    TH_ASSERT_OK(ax_mpsc_try_recv(rx, &v));
    id = v >> 16;
    ck_assert_int_eq(v & 0xffff, next[id]++);  /* in order, none lost */
  }
  TH_ASSERT_ERR(ax_mpsc_try_recv(rx, &v), AX_EEMPTY);
  for (k = 0; k < MPSC_THREADS; k++) ck_assert_int_eq(next[k], sd[k].sent);
  /* Memory is back: the same channel grows again. */
  fa_reset();
  for (k = 0; k < 3 * AX__BLK_CAP; k++) TH_ASSERT_OK(ax_mpsc_try_send(tx, &k));
  for (k = 0; k < 3 * AX__BLK_CAP; k++) {
    TH_ASSERT_OK(ax_mpsc_try_recv(rx, &v));
    ck_assert_int_eq(v, k);
  }
  for (k = 0; k < MPSC_THREADS; k++) ax_mpsc_sender_drop(sd[k].tx);
  ax_mpsc_sender_drop(tx);
  TH_ASSERT_ERR(ax_mpsc_try_recv(rx, &v), AX_ECLOSED);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(fa_live(), base);
}
END_TEST

Suite *ax_oom_suite(void) {
  fa_install_for("oom");
  return AX_SUITE("oom",
                  AX_CASE("sweep", 120),
                  AX_LOOP(oom_sweep, 0, 4),
                  AX_CASE("paths", 0),
                  AX_ONCE(inject_overflow_list),
                  AX_FLAVOURS(inject_overflow_runtime),
                  AX_FLAVOURS(mpsc_block_oom));
}
