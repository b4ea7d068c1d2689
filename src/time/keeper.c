/* The timer keeper (keeper.h): fires the due timers of wheels whose home
 * is stuck.
 *
 * Its sleep and the wheels' notes meet in `target`, the clock ns it sleeps
 * until (NEVER: until signalled), 0 while it looks at the wheels.  A note
 * stores the wheel's `watch` (seq_cst, under the wheel's lock), then
 * loads `target` (seq_cst); the keeper stores 0, then loads every
 * `watch` (seq_cst, under its own lock).  So either the keeper sees the
 * new watch, or the note sees a target it can compare with: one that is
 * late enough, or one it must move (under the keeper's lock) and signal.
 */
#include "core/alloc.h"
#include "time/keeper.h"

#define NEVER UINT64_MAX

struct ax__keeper_s {
  uv_mutex_t lock;             /* guards stop, the sleep, target's moves */
  uv_cond_t cond;              /* signalled by notes and by stop */
  _Atomic uint64_t target;     /* when the keeper wakes, 0 while looking */
  int stop;                    /* the thread must end */
  _Atomic uint64_t rescued;    /* entries fired here */
  uv_thread_t thread;
  unsigned n;                  /* wheels[] entries */
  ax__wheel_t *wheels[];       /* the wheels it watches */
};

static uint64_t add_sat(uint64_t a, uint64_t b) {
  return b > NEVER - a ? NEVER : a + b;
}

/* Rescues every wheel whose home is late (without the lock). */
static void look(ax__keeper_t *k) {
  uint64_t now = uv_hrtime();
  size_t fired;
  unsigned i;
  for (i = 0; i < k->n; i++) {
    if (add_sat(ax__wheel_watch_ns(k->wheels[i]), AX__KEEPER_GRACE_NS) > now)
      continue;
    fired = ax__wheel_rescue(k->wheels[i]);
    if (fired != 0)
      atomic_fetch_add_explicit(&k->rescued, fired, memory_order_relaxed);
  }
}

/* With the lock: when to look next (the watches are read after `target`
 * was set to 0, see the top of the file). */
static uint64_t next_look(ax__keeper_t *k) {
  uint64_t t = NEVER;
  unsigned i;
  for (i = 0; i < k->n; i++) {
    uint64_t w = add_sat(ax__wheel_watch_ns(k->wheels[i]), AX__KEEPER_GRACE_NS);
    if (w < t) t = w;
  }
  return t;
}

static void keeper_main(void *arg) {
  ax__keeper_t *k = arg;
  uv_mutex_lock(&k->lock);
  while (!k->stop) {
    uint64_t t, now;
    atomic_store(&k->target, 0);
    uv_mutex_unlock(&k->lock);
    look(k);
    uv_mutex_lock(&k->lock);
    if (k->stop) break;
    t = next_look(k);
    atomic_store(&k->target, t);
    if (t == NEVER) {
      uv_cond_wait(&k->cond, &k->lock);
      continue;
    }
    now = uv_hrtime();
    /* A timeout or a signal (an earlier deadline, or stop): look either
     * way.  A wait longer than a second is made in slices, as libuv adds
     * the timeout to its clock unchecked. */
    if (t > now)
      (void)uv_cond_timedwait(&k->cond, &k->lock,
                              t - now < 1000000000u ? t - now : 1000000000u);
  }
  uv_mutex_unlock(&k->lock);
}

int ax__keeper_start(ax__wheel_t *const *wheels, unsigned n,
                     ax__keeper_t **out) {
  ax__keeper_t *k;
  unsigned i;
  int rc;
  *out = NULL;
  k = ax__malloc(sizeof(*k) + n * sizeof(k->wheels[0]));
  if (k == NULL) return AX_ENOMEM;
  if ((rc = uv_mutex_init(&k->lock)) != 0) goto err_mutex;
  if ((rc = uv_cond_init(&k->cond)) != 0) goto err_cond;
  atomic_init(&k->target, 0);
  atomic_init(&k->rescued, 0);
  k->stop = 0;
  k->n = n;
  for (i = 0; i < n; i++) {
    k->wheels[i] = wheels[i];
    ax__wheel_set_keeper(wheels[i], k);
  }
  if ((rc = uv_thread_create(&k->thread, keeper_main, k)) != 0) goto err_thread;
  *out = k;
  return 0;
err_thread:
  for (i = 0; i < n; i++) ax__wheel_set_keeper(wheels[i], NULL);
  uv_cond_destroy(&k->cond);
err_cond:
  uv_mutex_destroy(&k->lock);
err_mutex:
  ax__free(k);
  return rc;
}

void ax__keeper_stop(ax__keeper_t *k) {
  unsigned i;
  if (k == NULL) return;
  uv_mutex_lock(&k->lock);
  k->stop = 1;
  uv_cond_signal(&k->cond);
  uv_mutex_unlock(&k->lock);
  uv_thread_join(&k->thread);
  for (i = 0; i < k->n; i++) ax__wheel_set_keeper(k->wheels[i], NULL);
  uv_cond_destroy(&k->cond);
  uv_mutex_destroy(&k->lock);
  ax__free(k);
}

void ax__keeper_note(ax__keeper_t *k, uint64_t due) {
  uint64_t at = add_sat(due, AX__KEEPER_GRACE_NS), t;
  t = atomic_load(&k->target);
  if (t != 0 && at >= t) return;   /* it wakes early enough */
  uv_mutex_lock(&k->lock);
  /* 0: it is looking, and reads the watches after we unlock. */
  t = atomic_load_explicit(&k->target, memory_order_relaxed);
  if (t != 0 && at < t) {
    atomic_store_explicit(&k->target, at, memory_order_relaxed);
    uv_cond_signal(&k->cond);
  }
  uv_mutex_unlock(&k->lock);
}

uint64_t ax__keeper_rescued(ax__keeper_t *k) {
  return atomic_load_explicit(&k->rescued, memory_order_relaxed);
}
