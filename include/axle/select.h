/* axle — combinators: select (race, the losers are dropped), join (wait
 * for all), and by_ref (race a future without giving it up).  The child
 * futures are the caller's: select/join keep pointers to them, so they
 * must stay in place (typically fields of the same async state struct).
 *
 *   AX_AWAIT(ax_select(&f->race, fetch, ax_sleep(&f->timer, 100)));
 *   if (f->race.winner == 0) ...   // fetch won; the timer was dropped
 */
#ifndef AXLE_SELECT_H
#define AXLE_SELECT_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AX_SELECT_INLINE 8   /* futures kept inline; more need an array */

typedef struct ax_select_s {
  ax_future_t base;                        /* the future */
  ax_future_t *inline_[AX_SELECT_INLINE];  /* private */
  ax_future_t **futs;                      /* private: the children */
  size_t n;                                /* private */
  int winner;                              /* read-only: index, -1 before
                                              (and after AX_EINVAL) */
  int result;                              /* read-only once ready: 0, or
                                              AX_EINVAL (bad n: nobody
                                              won, every future dropped) */
  int biased;                              /* private */
} ax_select_t;

/* Races futs[0..n) (the array must outlive the select; n >= 1).  The first
 * to be ready wins; every other one is dropped at once.  Polling starts at
 * a random branch so none starves; biased = 1 always starts at 0.
 * Preconditions (asserted): s != NULL; futs != NULL when n > 0. */
AX_EXTERN ax_future_t *ax_select_array(ax_select_t *s, ax_future_t **futs,
                                       size_t n, int biased);
/* The same for up to AX_SELECT_INLINE futures, copied into s (the array
 * may be a temporary).  More than that is refused without a wait: this
 * call drops every future it was given (unpolled: none is leaked or left
 * waiting), and the select is ready at its first poll with result
 * AX_EINVAL and winner -1.  The ax_select() macros refuse more than
 * AX_SELECT_INLINE at compile time. */
AX_EXTERN ax_future_t *ax_select_n(ax_select_t *s, ax_future_t *const *futs,
                                   size_t n, int biased);

/* Waits for every future in futs[0..n) (polled concurrently in this task). */
typedef struct ax_join_all_s {
  ax_future_t base;                        /* the future */
  ax_future_t *inline_[AX_SELECT_INLINE];  /* private */
  ax_future_t **futs;                      /* private */
  size_t n;                                /* private */
  size_t remaining;                        /* read-only */
  int result;                              /* read-only once ready: 0 or
                                              AX_EINVAL (as select's) */
  uint8_t done_inline[AX_SELECT_INLINE];   /* private */
  uint8_t *done;                           /* private */
} ax_join_all_t;
/* `done` must point to n bytes the caller keeps (NULL when
 * n <= AX_SELECT_INLINE: j keeps them).  A NULL `done` with more is
 * refused as ax_select_n refuses too many futures: every future dropped by
 * this call, and j ready at its first poll with result AX_EINVAL.
 * Preconditions (asserted): j != NULL; futs != NULL when n > 0. */
AX_EXTERN ax_future_t *ax_join_all_array(ax_join_all_t *j, ax_future_t **futs,
                                         size_t n, uint8_t *done);
/* Up to AX_SELECT_INLINE futures, copied into j; more: AX_EINVAL, as
 * ax_select_n. */
AX_EXTERN ax_future_t *ax_join_all_n(ax_join_all_t *j,
                                     ax_future_t *const *futs, size_t n);

/* The variadic forms, with a compile error past AX_SELECT_INLINE futures
 * (use ax_select_array / ax_join_all_array then):
 *   ax_select(&s, f1, f2, ...)   ax_select_biased(&s, ...)   ax_join_all(&j, ...) */
#ifdef __cplusplus
}
/* C++: no compound literals; a temporary array lives to the end of the
 * full expression, which is all ax_select_n needs. */
struct ax__futs { ax_future_t *v[AX_SELECT_INLINE]; };
template <class... T>
char (&ax__count_futs(T...))[sizeof...(T)];
#  define AX__NFUT0(...) sizeof(ax__count_futs(__VA_ARGS__))
#  define AX__FUTS(...) (ax__futs{{__VA_ARGS__}}.v)
extern "C" {
#else
#  define AX__NFUT0(...)                                                   \
  (sizeof((ax_future_t *[]){__VA_ARGS__}) / sizeof(ax_future_t *))
#  define AX__FUTS(...) ((ax_future_t *[]){__VA_ARGS__})
#endif
#define AX__NFUT(...)                                                      \
  ((void)sizeof(char[AX__NFUT0(__VA_ARGS__) <= AX_SELECT_INLINE ? 1 : -1]), \
   AX__NFUT0(__VA_ARGS__))
#define ax_select(s, ...)                                                  \
  ax_select_n((s), AX__FUTS(__VA_ARGS__), AX__NFUT(__VA_ARGS__), 0)
#define ax_select_biased(s, ...)                                           \
  ax_select_n((s), AX__FUTS(__VA_ARGS__), AX__NFUT(__VA_ARGS__), 1)
#define ax_join_all(j, ...)                                                \
  ax_join_all_n((j), AX__FUTS(__VA_ARGS__), AX__NFUT(__VA_ARGS__))

/* ---- by_ref: race a future without giving it up -------------------------
 *
 * Tokio's `&mut fut` in a select loop.  ax_by_ref(&r, inner) is a future
 * that polls inner, and whose drop does NOT drop inner: as a select loser
 * it is dropped and inner stays as it was (still registered, its deadline
 * kept), to be raced again next time round.  inner stays the caller's: drop
 * it when done with it.
 *
 *   for (;;) {    // one overall deadline across many receives
 *     AX_AWAIT(ax_select(&s->race, ax_by_ref(&s->r, &s->deadline.base),
 *                        ax_mpsc_recv(&s->recv, s->rx, &s->msg)));
 *     if (s->race.winner == 0) break;   // the deadline passed
 *     ...
 *   }
 *   ax_drop(&s->deadline.base);
 */
typedef struct ax_by_ref_s {
  ax_future_t base;        /* the future */
  ax_future_t *inner;      /* private: borrowed, never dropped here */
} ax_by_ref_t;
AX_EXTERN ax_future_t *ax_by_ref(ax_by_ref_t *r, ax_future_t *inner);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_SELECT_H */
