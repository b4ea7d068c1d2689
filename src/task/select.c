/* select (race; losers dropped at once), join-all, and by_ref. */
#include <assert.h>
#include <string.h>

#include "axle/leaf.h"
#include "axle/select.h"
#include "core/tls.h"

/* Per-thread xorshift for select's random start: no shared state. */
static AX__TLS uint32_t tls_rng;

static uint32_t next_rand(void) {
  uint32_t x = tls_rng;
  if (x == 0) x = (uint32_t)(uintptr_t)&tls_rng ^ (uint32_t)uv_hrtime() ^ 1u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  tls_rng = x;
  return x;
}

/* Drops every future of futs[0..n) still there (never the winner's). */
static void drop_rest(ax_future_t **futs, size_t n, int keep) {
  size_t j;
  for (j = 0; j < n; j++) {
    ax_future_t *c = futs[j];
    if (c != NULL && (int)j != keep) {
      futs[j] = NULL;
      ax_drop(c);
    }
  }
}

static ax_poll_t select_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_select_t *s = (ax_select_t *)f;
  size_t i, start, n = s->n;
  if (s->winner >= 0 || s->result != 0) return AX_READY;
  start = s->biased ? 0 : next_rand() % n;
  for (i = 0; i < n; i++) {
    size_t k = (start + i) % n;
    if (s->futs[k] == NULL) continue;
    if (ax_poll(s->futs[k], cx) == AX_READY) {
      s->winner = (int)k;
      drop_rest(s->futs, n, s->winner);  /* the losers are cancelled now */
      return AX_READY;
    }
  }
  return AX_PENDING;
}

static void select_drop(ax_future_t *f) {
  ax_select_t *s = (ax_select_t *)f;
  drop_rest(s->futs, s->n, s->winner);
}

static const ax_future_vtable_t select_vtable = {select_poll, select_drop,
                                                 "ax_select"};

ax_future_t *ax_select_array(ax_select_t *s, ax_future_t **futs, size_t n,
                             int biased) {
  assert(s != NULL && (futs != NULL || n == 0));
  s->base.vtable = &select_vtable;
  s->result = 0;
  s->futs = futs;
  s->n = n;
  s->winner = -1;
  s->result = n == 0 ? AX_EINVAL : 0;
  s->biased = biased;
  return &s->base;
}

ax_future_t *ax_select_n(ax_select_t *s, ax_future_t *const *futs, size_t n,
                         int biased) {
  size_t i;
  assert(s != NULL && (futs != NULL || n == 0));
  if (n > AX_SELECT_INLINE) {
    /* Nothing to keep the rest in: refuse, and release all of them. */
    for (i = 0; i < n; i++) ax_drop(futs[i]);
    ax_select_array(s, s->inline_, 0, biased);
    return &s->base;
  }
  memcpy(s->inline_, futs, n * sizeof(*futs));
  return ax_select_array(s, s->inline_, n, biased);
}

/* ---- join_all ----------------------------------------------------------- */

static ax_poll_t join_all_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_join_all_t *j = (ax_join_all_t *)f;
  size_t i;
  for (i = 0; i < j->n && j->remaining > 0; i++) {
    if (j->done[i]) continue;
    if (ax_poll(j->futs[i], cx) == AX_READY) {
      j->done[i] = 1;
      j->remaining--;
    }
  }
  return j->remaining == 0 ? AX_READY : AX_PENDING;
}

static void join_all_drop(ax_future_t *f) {
  ax_join_all_t *j = (ax_join_all_t *)f;
  size_t i;
  for (i = 0; i < j->n; i++) {
    if (!j->done[i]) {
      j->done[i] = 1;
      ax_drop(j->futs[i]);
    }
  }
  j->remaining = 0;
}

static const ax_future_vtable_t join_all_vtable = {
    join_all_poll, join_all_drop, "ax_join_all"};

ax_future_t *ax_join_all_array(ax_join_all_t *j, ax_future_t **futs,
                               size_t n, uint8_t *done) {
  assert(j != NULL && (futs != NULL || n == 0));
  j->base.vtable = &join_all_vtable;
  j->futs = futs;
  j->result = 0;
  if (done == NULL && n > AX_SELECT_INLINE) {
    /* No room to track them: refuse, and release all of them. */
    size_t i;
    for (i = 0; i < n; i++) ax_drop(futs[i]);
    n = 0;
    j->result = AX_EINVAL;
  }
  j->n = n;
  j->remaining = n;
  j->done = done != NULL ? done : j->done_inline;
  memset(j->done, 0, n);
  return &j->base;
}

ax_future_t *ax_join_all_n(ax_join_all_t *j, ax_future_t *const *futs,
                           size_t n) {
  assert(j != NULL && (futs != NULL || n == 0));
  if (n > AX_SELECT_INLINE) {
    size_t i;
    for (i = 0; i < n; i++) ax_drop(futs[i]);
    ax_join_all_array(j, j->inline_, 0, NULL);
    j->result = AX_EINVAL;
    return &j->base;
  }
  memcpy(j->inline_, futs, n * sizeof(*futs));
  return ax_join_all_array(j, j->inline_, n, NULL);
}

/* ---- by_ref ------------------------------------------------------------- */

static ax_poll_t by_ref_poll(ax_future_t *f, ax_cx_t *cx) {
  return ax_poll(((ax_by_ref_t *)f)->inner, cx);
}

static const ax_future_vtable_t by_ref_vtable = {by_ref_poll, NULL,
                                                 "ax_by_ref"};

ax_future_t *ax_by_ref(ax_by_ref_t *r, ax_future_t *inner) {
  r->base.vtable = &by_ref_vtable;
  r->inner = inner;
  return &r->base;
}
