/* select (race; losers dropped at once) and join-all. */
#include <assert.h>
#include <string.h>

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

/* A select or join given more futures than it can keep: they are dropped
 * now (the caller handed them over, and keeping some would leave the rest
 * neither polled nor dropped), and the combinator is ready with
 * AX_EINVAL. */
static void drop_all(ax_future_t *const *futs, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (futs[i] != NULL) ax_drop(futs[i]);
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
      size_t j;
      s->winner = (int)k;
      for (j = 0; j < n; j++) {  /* the losers are cancelled now */
        if (j != k && s->futs[j] != NULL) {
          ax_future_t *loser = s->futs[j];
          s->futs[j] = NULL;
          ax_drop(loser);
        }
      }
      return AX_READY;
    }
  }
  return AX_PENDING;
}

static void select_drop(ax_future_t *f) {
  ax_select_t *s = (ax_select_t *)f;
  size_t j;
  for (j = 0; j < s->n; j++) {
    ax_future_t *c = s->futs[j];
    if (c != NULL && (int)j != s->winner) {
      s->futs[j] = NULL;
      ax_drop(c);
    }
  }
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
  s->winner = n == 0 ? 0 : -1;
  s->biased = biased;
  s->rng = 0;
  return &s->base;
}

ax_future_t *ax_select_n(ax_select_t *s, int biased, size_t n,
                         ax_future_t *const *futs) {
  assert(s != NULL && (futs != NULL || n == 0));
  if (n > AX_SELECT_INLINE) {
    drop_all(futs, n);
    ax_select_array(s, s->inline_, 0, biased);
    s->winner = -1;
    s->result = AX_EINVAL;
    return &s->base;
  }
  memcpy(s->inline_, futs, n * sizeof(*futs));
  return ax_select_array(s, s->inline_, n, biased);
}

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
                               uint8_t *done, size_t n) {
  assert(j != NULL && (futs != NULL || n == 0));
  if (done == NULL && n > AX_SELECT_INLINE) {  /* no room to track them */
    drop_all(futs, n);
    ax_join_all_array(j, futs, NULL, 0);
    j->result = AX_EINVAL;
    return &j->base;
  }
  j->base.vtable = &join_all_vtable;
  j->result = 0;
  j->futs = futs;
  j->n = n;
  j->remaining = n;
  j->done = done != NULL ? done : j->done_inline;
  memset(j->done, 0, n);
  return &j->base;
}

ax_future_t *ax_join_n(ax_join_all_t *j, size_t n, ax_future_t *const *futs) {
  assert(j != NULL && (futs != NULL || n == 0));
  if (n > AX_SELECT_INLINE) {
    drop_all(futs, n);
    ax_join_all_array(j, j->inline_, NULL, 0);
    j->result = AX_EINVAL;
    return &j->base;
  }
  memcpy(j->inline_, futs, n * sizeof(*futs));
  return ax_join_all_array(j, j->inline_, NULL, n);
}
