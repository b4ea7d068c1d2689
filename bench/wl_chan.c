/* Workloads on channels and sync primitives: ping_pong, mpsc_* (Tokio's
 * benches/sync_mpsc.rs), oneshot_roundtrip, mutex_contention,
 * idle_tasks_1m. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ---- ping_pong -------------------------------------------------------------
 * block_on spawns one task that spawns NUM_PINGS tasks; each creates two
 * oneshots, spawns a task that awaits rx1 and sends on tx2, sends on tx1,
 * awaits rx2 and counts down. */

typedef struct {
  ax_async_t co;
  ax_oneshot_rx_t *rx1;
  ax_oneshot_tx_t *tx2;
  ax_oneshot_recv_t recv;
} pong_task_t;

AX_ASYNC(pong_task, pong_task_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_oneshot_recv(&s->recv, s->rx1, NULL));
  if (s->recv.result != 0) bench_fail("pong recv: %s", ax_strerror(s->recv.result));
  ax_drop(&s->recv.base);
  ax_oneshot_receiver_drop(s->rx1);
  s->rx1 = NULL;
  bench_check(ax_oneshot_send(s->tx2, NULL), "pong send");
  s->tx2 = NULL;
  AX_END();
}

typedef struct {
  ax_async_t co;
  bench_latch_t *latch;
  ax_oneshot_rx_t *rx2;
  ax_oneshot_recv_t recv;
} ping_task_t;

AX_ASYNC(ping_task, ping_task_t, s) {
  AX_BEGIN(s);
  {
    ax_oneshot_tx_t *tx1, *tx2;
    pong_task_t p;
    memset(&p, 0, sizeof(p));
    bench_check(ax_oneshot_new(0, NULL, &tx1, &p.rx1), "ax_oneshot_new");
    bench_check(ax_oneshot_new(0, NULL, &tx2, &s->rx2), "ax_oneshot_new");
    p.tx2 = tx2;
    bench_check(AX_SPAWN(pong_task, &p, NULL), "ax_spawn");
    bench_check(ax_oneshot_send(tx1, NULL), "ping send");
  }
  AX_AWAIT(ax_oneshot_recv(&s->recv, s->rx2, NULL));
  if (s->recv.result != 0) bench_fail("ping recv: %s", ax_strerror(s->recv.result));
  ax_drop(&s->recv.base);
  ax_oneshot_receiver_drop(s->rx2);
  s->rx2 = NULL;
  bench_latch_count_down(s->latch);
  AX_END();
}

typedef struct {
  ax_async_t co;
  bench_latch_t *latch;
} ping_spawner_t;

AX_ASYNC(ping_spawner, ping_spawner_t, s) {
  unsigned i;
  AX_BEGIN(s);
  for (i = 0; i < NUM_PINGS; i++) {
    ping_task_t p;
    memset(&p, 0, sizeof(p));
    p.latch = s->latch;
    bench_check(AX_SPAWN(ping_task, &p, NULL), "ax_spawn");
  }
  AX_END();
}

void wl_ping_pong_start(bench_latch_t *l) {
  ping_spawner_t sp;
  sp.latch = l;
  bench_check(AX_SPAWN(ping_spawner, &sp, NULL), "ax_spawn");
}

/* ---- mpsc ------------------------------------------------------------------ */

enum { CHAN_BOUNDED, CHAN_UNBOUNDED };

typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *tx;
  int kind;
  size_t i;
  ax_mpsc_send_t send;
} producer_t;

/* for i in 0..1000 { tx.send(i).await } (unbounded: synchronous send) */
AX_ASYNC(producer_task, producer_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < MPSC_PER_PRODUCER; s->i++) {
    if (s->kind == CHAN_UNBOUNDED) {
      bench_check(ax_mpsc_try_send(s->tx, &s->i), "ax_mpsc_try_send");
    } else {
      AX_AWAIT(ax_mpsc_send(&s->send, s->tx, &s->i));
      if (s->send.result != 0)
        bench_fail("mpsc send: %s", ax_strerror(s->send.result));
      ax_drop(&s->send.base);
    }
  }
  ax_mpsc_sender_drop(s->tx);
  s->tx = NULL;
  AX_END();
}

typedef struct {
  ax_async_t co;
  int kind;
  size_t capacity;
  int contended;
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  size_t i, v;
  ax_mpsc_send_t send;
  ax_mpsc_recv_t recv;
} mpsc_main_t;

AX_ASYNC(mpsc_main, mpsc_main_t, s) {
  AX_BEGIN(s);
  if (s->kind == CHAN_UNBOUNDED)
    bench_check(ax_mpsc_new_unbounded(sizeof(size_t), NULL, &s->tx, &s->rx),
                "ax_mpsc_unbounded");
  else
    bench_check(ax_mpsc_new(sizeof(size_t), s->capacity, NULL, &s->tx,
                                &s->rx),
                "ax_mpsc_channel");
  if (s->contended) {
    unsigned p;
    for (p = 0; p < MPSC_PRODUCERS; p++) {
      producer_t pr;
      memset(&pr, 0, sizeof(pr));
      pr.tx = ax_mpsc_sender_clone(s->tx);
      pr.kind = s->kind;
      bench_check(AX_SPAWN(producer_task, &pr, NULL), "ax_spawn");
    }
  } else {
    for (s->i = 0; s->i < MPSC_UNCONTENDED; s->i++) {
      if (s->kind == CHAN_UNBOUNDED) {
        bench_check(ax_mpsc_try_send(s->tx, &s->i), "ax_mpsc_try_send");
      } else {
        AX_AWAIT(ax_mpsc_send(&s->send, s->tx, &s->i));
        if (s->send.result != 0)
          bench_fail("mpsc send: %s", ax_strerror(s->send.result));
        ax_drop(&s->send.base);
      }
    }
  }
  /* MPSC_PRODUCERS * MPSC_PER_PRODUCER == MPSC_UNCONTENDED == 5000 */
  for (s->i = 0; s->i < MPSC_UNCONTENDED; s->i++) {
    AX_AWAIT(ax_mpsc_recv(&s->recv, s->rx, &s->v));
    if (s->recv.result != 0)
      bench_fail("mpsc recv: %s", ax_strerror(s->recv.result));
    ax_drop(&s->recv.base);
    bench_black_box(s->v);
  }
  ax_mpsc_receiver_drop(s->rx);
  ax_mpsc_sender_drop(s->tx);
  s->rx = NULL;
  s->tx = NULL;
  AX_END();
}

static void mpsc_run(const bench_opts_t *o, unsigned w, unsigned r,
                     bench_result_t *res, int kind, int contended,
                     size_t capacity) {
  mpsc_main_t init = {0};
  bench_main_t m = {bench_runtime(o, 0), AX_FUTURE(mpsc_main, &init),
                    sizeof init, NULL, NULL, NULL};
  init.kind = kind;
  init.capacity = capacity;
  init.contended = contended;
  bench_measure_main(&m, w, r, res);
  res->ops = MPSC_UNCONTENDED;
  bench_runtime_free(m.rt);
}

void wl_mpsc_contention_bounded(const bench_opts_t *o, unsigned w, unsigned r,
                                bench_result_t *res) {
  mpsc_run(o, w, r, res, CHAN_BOUNDED, 1, 1000000);
  bench_extra(res, "capacity", "%u", 1000000u);
  bench_extra(res, "producers", "%u", MPSC_PRODUCERS);
}

void wl_mpsc_contention_bounded_full(const bench_opts_t *o, unsigned w,
                                     unsigned r, bench_result_t *res) {
  mpsc_run(o, w, r, res, CHAN_BOUNDED, 1, 100);
  bench_extra(res, "capacity", "%u", 100u);
  bench_extra(res, "producers", "%u", MPSC_PRODUCERS);
}

void wl_mpsc_contention_unbounded(const bench_opts_t *o, unsigned w,
                                  unsigned r, bench_result_t *res) {
  mpsc_run(o, w, r, res, CHAN_UNBOUNDED, 1, 0);
  bench_extra(res, "producers", "%u", MPSC_PRODUCERS);
}

void wl_mpsc_uncontended_bounded(const bench_opts_t *o, unsigned w,
                                 unsigned r, bench_result_t *res) {
  mpsc_run(o, w, r, res, CHAN_BOUNDED, 0, 1000000);
  bench_extra(res, "capacity", "%u", 1000000u);
}

void wl_mpsc_uncontended_unbounded(const bench_opts_t *o, unsigned w,
                                   unsigned r, bench_result_t *res) {
  mpsc_run(o, w, r, res, CHAN_UNBOUNDED, 0, 0);
}

/* ---- oneshot_roundtrip -------------------------------------------------------
 * A -> B: "here is where to send your reply" (a sender of the pong
 * channel); B -> A: "here is where to send your next ping" (a sender of
 * the next ping channel).  Every oneshot is created by one task, sent on
 * once and awaited once by the other. */

typedef struct {
  ax_async_t co;
  ax_oneshot_tx_t *to_b;     /* current sender towards B */
  ax_oneshot_rx_t *prx;
  ax_oneshot_tx_t *msg;      /* value buffer */
  unsigned i;
  ax_oneshot_recv_t recv;
} rt_a_t;

AX_ASYNC(roundtrip_a, rt_a_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < ONESHOT_HANDOFFS / 2; s->i++) {
    {
      ax_oneshot_tx_t *ptx;
      bench_check(ax_oneshot_new(sizeof(ax_oneshot_tx_t *), NULL, &ptx,
                                 &s->prx),
                  "ax_oneshot_new");
      if (ax_oneshot_send(s->to_b, &ptx) != 0) bench_fail("B gone");
      s->to_b = NULL;
    }
    AX_AWAIT(ax_oneshot_recv(&s->recv, s->prx, &s->msg));
    if (s->recv.result != 0) bench_fail("A recv: %s", ax_strerror(s->recv.result));
    ax_drop(&s->recv.base);
    ax_oneshot_receiver_drop(s->prx);
    s->prx = NULL;
    s->to_b = s->msg;
  }
  ax_oneshot_sender_drop(s->to_b);
  s->to_b = NULL;
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_oneshot_rx_t *from_a;   /* current receiver from A */
  ax_oneshot_tx_t *reply;    /* value buffer */
  unsigned i;
  ax_oneshot_recv_t recv;
} rt_b_t;

AX_ASYNC(roundtrip_b, rt_b_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < ONESHOT_HANDOFFS / 2; s->i++) {
    AX_AWAIT(ax_oneshot_recv(&s->recv, s->from_a, &s->reply));
    if (s->recv.result != 0) bench_fail("B recv: %s", ax_strerror(s->recv.result));
    ax_drop(&s->recv.base);
    ax_oneshot_receiver_drop(s->from_a);
    s->from_a = NULL;
    {
      ax_oneshot_tx_t *ntx;
      bench_check(ax_oneshot_new(sizeof(ax_oneshot_tx_t *), NULL, &ntx,
                                 &s->from_a),
                  "ax_oneshot_new");
      if (ax_oneshot_send(s->reply, &ntx) != 0) bench_fail("A gone");
      s->reply = NULL;
    }
  }
  ax_oneshot_receiver_drop(s->from_a);
  s->from_a = NULL;
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_join_t a, b;
} rt_main_t;

AX_ASYNC(roundtrip_main, rt_main_t, s) {
  AX_BEGIN(s);
  {
    rt_a_t a;
    rt_b_t b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    bench_check(ax_oneshot_new(sizeof(ax_oneshot_tx_t *), NULL, &a.to_b,
                               &b.from_a),
                "ax_oneshot_new");
    bench_check(AX_SPAWN(roundtrip_a, &a, &s->a), "ax_spawn");
    bench_check(AX_SPAWN(roundtrip_b, &b, &s->b), "ax_spawn");
  }
  AX_AWAIT(ax_join_wait(&s->a));
  if (s->a.result != 0) bench_fail("A: %s", ax_strerror(s->a.result));
  ax_join_drop(&s->a);
  AX_AWAIT(ax_join_wait(&s->b));
  if (s->b.result != 0) bench_fail("B: %s", ax_strerror(s->b.result));
  ax_join_drop(&s->b);
  AX_END();
}

void wl_oneshot_roundtrip(const bench_opts_t *o, unsigned w, unsigned r,
                          bench_result_t *res) {
  rt_main_t init = {0};
  bench_main_t m = {bench_runtime(o, 0), AX_FUTURE(roundtrip_main, &init),
                    sizeof init, NULL, NULL, NULL};
  uint64_t med;
  bench_measure_main(&m, w, r, res);
  med = bench_median(res->samples, res->nsamples);
  res->ops = ONESHOT_HANDOFFS;
  bench_extra(res, "round_trips", "%u", ONESHOT_HANDOFFS / 2);
  bench_extra(res, "per_round_trip_ns", "%.2f",
              (double)med / (double)(ONESHOT_HANDOFFS / 2));
  bench_runtime_free(m.rt);
}

/* ---- mutex_contention ------------------------------------------------------ */

typedef struct {
  ax_mutex_t m;
  uint64_t value;
} counter_t;

typedef struct {
  ax_async_t co;
  counter_t *c;
  unsigned k;
  ax_mutex_guard_t g;
} locker_t;

AX_ASYNC(locker_task, locker_t, s) {
  AX_BEGIN(s);
  for (s->k = 0; s->k < MUTEX_LOCKS_PER_TASK; s->k++) {
    AX_AWAIT(ax_mutex_lock(&s->g, &s->c->m));
    s->c->value++;
    ax_mutex_unlock(&s->g);
  }
  AX_END();
}

static void locker_drop(void *self) {
  locker_t *s = self;
  ax_drop(&s->g.base);   /* releases the lock if held (cancellation) */
}

typedef struct {
  ax_async_t co;
  counter_t *c;
  ax_join_t h[MUTEX_TASKS];
  unsigned i;
  ax_mutex_guard_t g;
} mutex_main_t;

AX_ASYNC(mutex_main, mutex_main_t, s) {
  AX_BEGIN(s);
  bench_check(ax_mutex_init(&s->c->m), "ax_mutex_init");
  s->c->value = 0;
  for (s->i = 0; s->i < MUTEX_TASKS; s->i++) {
    locker_t l;
    memset(&l, 0, sizeof(l));
    l.c = s->c;
    bench_check(ax_spawn(AX_FUTURE_DROP(locker_task, locker_drop, &l),
                         sizeof(l), &s->h[s->i]),
                "ax_spawn");
  }
  for (s->i = 0; s->i < MUTEX_TASKS; s->i++) {
    AX_AWAIT(ax_join_wait(&s->h[s->i]));
    if (s->h[s->i].result != 0)
      bench_fail("locker: %s", ax_strerror(s->h[s->i].result));
    ax_join_drop(&s->h[s->i]);
  }
  AX_AWAIT(ax_mutex_lock(&s->g, &s->c->m));
  if (s->c->value != (uint64_t)MUTEX_TASKS * MUTEX_LOCKS_PER_TASK)
    bench_fail("mutex_contention: value %llu",
               (unsigned long long)s->c->value);
  ax_mutex_unlock(&s->g);
  ax_mutex_destroy(&s->c->m);
  AX_END();
}

void wl_mutex_contention(const bench_opts_t *o, unsigned w, unsigned r,
                         bench_result_t *res) {
  counter_t counter;   /* Tokio: Arc<Mutex<u64>> allocated per iteration */
  mutex_main_t init = {0};
  bench_main_t m = {bench_runtime(o, 0), AX_FUTURE(mutex_main, &init),
                    sizeof init, NULL, NULL, NULL};
  init.c = &counter;
  bench_measure_main(&m, w, r, res);
  res->ops = (size_t)MUTEX_TASKS * MUTEX_LOCKS_PER_TASK;
  bench_extra(res, "tasks", "%u", MUTEX_TASKS);
  bench_extra(res, "locks_per_task", "%u", MUTEX_LOCKS_PER_TASK);
  bench_runtime_free(m.rt);
}

/* ---- idle_tasks_1m -------------------------------------------------------------
 * A driver task allocates and touches its bookkeeping (senders, handles),
 * reads VmRSS, spawns IDLE_TASKS tasks each `STARTED += 1; rx.await` on its
 * own oneshot, waits (1 ms sleeps) until all are parked, reads VmRSS;
 * the timed part sends on every sender and awaits every handle. */

static _Atomic size_t idle_started;

typedef struct {
  ax_async_t co;
  ax_oneshot_rx_t *rx;
  ax_oneshot_recv_t recv;
} idle_task_t;

AX_ASYNC(idle_task, idle_task_t, s) {
  AX_BEGIN(s);
  atomic_fetch_add_explicit(&idle_started, 1, memory_order_release);
  AX_AWAIT(ax_oneshot_recv(&s->recv, s->rx, NULL));
  ax_drop(&s->recv.base);
  ax_oneshot_receiver_drop(s->rx);
  s->rx = NULL;
  AX_END();
}

static void idle_task_drop(void *self) {
  idle_task_t *s = self;
  if (s->rx != NULL) ax_oneshot_receiver_drop(s->rx);
  s->rx = NULL;
}

typedef struct {
  uint64_t spawn_ns, wake_join_ns, rss0, rss1;
} idle_out_t;

typedef struct {
  ax_async_t co;
  idle_out_t *out;
  ax_oneshot_tx_t **senders;
  ax_join_t *handles;
  uint64_t t0;
  size_t i;
  ax_sleep_t sleep;
} idle_driver_t;

AX_ASYNC(idle_driver, idle_driver_t, s) {
  AX_BEGIN(s);
  s->senders = malloc(IDLE_TASKS * sizeof(*s->senders));
  s->handles = malloc(IDLE_TASKS * sizeof(*s->handles));
  if (s->senders == NULL || s->handles == NULL) bench_fail("out of memory");
  memset(s->senders, 0, IDLE_TASKS * sizeof(*s->senders));   /* touch */
  memset(s->handles, 0, IDLE_TASKS * sizeof(*s->handles));
  atomic_store(&idle_started, 0);
  s->out->rss0 = bench_proc_status_bytes("VmRSS");
  s->t0 = bench_now_ns();
  for (s->i = 0; s->i < IDLE_TASKS; s->i++) {
    idle_task_t t;
    memset(&t, 0, sizeof(t));
    bench_check(ax_oneshot_new(0, NULL, &s->senders[s->i], &t.rx),
                "ax_oneshot_new");
    bench_check(ax_spawn(AX_FUTURE_DROP(idle_task, idle_task_drop, &t),
                         sizeof(t), &s->handles[s->i]),
                "ax_spawn");
  }
  while (atomic_load_explicit(&idle_started, memory_order_acquire) <
         IDLE_TASKS) {
    AX_AWAIT(ax_sleep(&s->sleep, 1));
    ax_drop(&s->sleep.base);
  }
  s->out->spawn_ns = bench_now_ns() - s->t0;
  s->out->rss1 = bench_proc_status_bytes("VmRSS");
  s->t0 = bench_now_ns();
  for (s->i = 0; s->i < IDLE_TASKS; s->i++) {
    bench_check(ax_oneshot_send(s->senders[s->i], NULL), "ax_oneshot_send");
    s->senders[s->i] = NULL;
  }
  for (s->i = 0; s->i < IDLE_TASKS; s->i++) {
    AX_AWAIT(ax_join_wait(&s->handles[s->i]));
    if (s->handles[s->i].result != 0)
      bench_fail("idle task: %s", ax_strerror(s->handles[s->i].result));
    ax_join_drop(&s->handles[s->i]);
  }
  s->out->wake_join_ns = bench_now_ns() - s->t0;
  free(s->senders);
  free(s->handles);
  s->senders = NULL;
  s->handles = NULL;
  AX_END();
}

typedef struct {
  ax_async_t co;
  idle_out_t *out;
  ax_join_t h;
} idle_main_t;

AX_ASYNC(idle_main, idle_main_t, s) {
  AX_BEGIN(s);
  {
    idle_driver_t d;
    memset(&d, 0, sizeof(d));
    d.out = s->out;
    bench_check(AX_SPAWN(idle_driver, &d, &s->h), "ax_spawn");
  }
  AX_AWAIT(ax_join_wait(&s->h));
  if (s->h.result != 0) bench_fail("driver: %s", ax_strerror(s->h.result));
  ax_join_drop(&s->h);
  AX_END();
}

/* What the iterations measured besides the sample. */
typedef struct {
  uint64_t *spawn_ns;
  double *rss_per_task;
  size_t n;
} idle_log_t;

/* The driver timed the wake-and-join part itself: that is the sample. */
static uint64_t idle_after(void *state, uint64_t ns, void *arg) {
  const idle_out_t *out = ((idle_main_t *)state)->out;
  idle_log_t *c = arg;
  (void)ns;
  c->spawn_ns[c->n] = out->spawn_ns;
  c->rss_per_task[c->n] =
      (double)(out->rss1 > out->rss0 ? out->rss1 - out->rss0 : 0) /
      (double)IDLE_TASKS;
  c->n++;
  return out->wake_join_ns;
}

void wl_idle_tasks_1m(const bench_opts_t *o, unsigned w, unsigned r,
                      bench_result_t *res) {
  idle_out_t out;
  idle_log_t c;
  idle_main_t init = {0};
  bench_main_t m = {bench_runtime(o, 0), AX_FUTURE(idle_main, &init),
                    sizeof init, NULL, idle_after, &c};
  init.out = &out;
  c.n = 0;
  c.spawn_ns = malloc((w + r + 1) * sizeof(uint64_t));
  c.rss_per_task = malloc((w + r + 1) * sizeof(double));
  if (c.spawn_ns == NULL || c.rss_per_task == NULL) bench_fail("out of memory");
  bench_measure_main(&m, w, r, res);
  res->ops = IDLE_TASKS;
  bench_extra(res, "metric", "\"wake_and_join_ns\"");
  /* Only a fresh process's first iteration gives a meaningful delta. */
  bench_extra(res, "rss_bytes_per_task", "%.1f",
              w == 0 && c.n > 0 ? c.rss_per_task[0] : -1.0);
  bench_extra(res, "spawn_until_all_parked_median_ns", "%llu",
              (unsigned long long)bench_median(c.spawn_ns, c.n));
  bench_extra(res, "peak_rss_bytes", "%llu",
              (unsigned long long)bench_proc_status_bytes("VmHWM"));
  bench_runtime_free(m.rt);
  free(c.spawn_ns);
  free(c.rss_per_task);
}
