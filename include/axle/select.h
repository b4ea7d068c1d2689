/* axle — combinators: select (race, the losers are dropped) and join (wait
 * for all).  The child futures are the caller's: select/join keep pointers
 * to them, so they must stay in place (typically fields of the same async
 * state struct).
 *
 *   AX_AWAIT(ax_select(&f->race, fetch, ax_sleep(&f->timer, 100)));
 *   if (ax_select_winner(&f->race) == 0) ...   // fetch won; timer dropped
 */
#ifndef AXLE_SELECT_H
#define AXLE_SELECT_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AX_SELECT_INLINE 8   /* futures kept inline; more need an array */

typedef struct ax_select_s {
  ax_future_t base;                        /* private */
  ax_future_t *inline_[AX_SELECT_INLINE];  /* private */
  ax_future_t **futs;                      /* private: the children */
  size_t n;                                /* private */
  int winner;                              /* read-only: index, -1 before
                                              (and after AX_EINVAL) */
  int biased;                              /* private */
  uint32_t rng;                            /* private: random start state */
  int result;                              /* read-only once ready: 0, or
                                              AX_EINVAL (see ax_select_n) */
} ax_select_t;

/* Races futs[0..n) (the array must outlive the select; n >= 1).  The first
 * to be ready wins; every other one is dropped at once.  Polling starts at
 * a random branch so none starves; biased = 1 always starts at 0.
 * Preconditions (asserted): s != NULL; futs != NULL when n > 0. */
AX_EXTERN ax_future_t *ax_select_array(ax_select_t *s, ax_future_t **futs,
                                       size_t n, int biased);
/* Up to AX_SELECT_INLINE futures given inline (copied into s).  More than
 * that is refused without a wait: this call drops every future it was
 * given (unpolled: none is leaked or left waiting), and the select is
 * ready at its first poll with result AX_EINVAL and winner -1.  The
 * ax_select() macros refuse more than 8 at compile time. */
AX_EXTERN ax_future_t *ax_select_n(ax_select_t *s, int biased, size_t n,
                                   ax_future_t *const *futs);
#define AX__NFUT0(...) (sizeof((ax_future_t *[]){__VA_ARGS__}) / sizeof(ax_future_t *))
/* The count, with a compile error (negative array size) past
 * AX_SELECT_INLINE futures: use ax_select_array / ax_join_all_array. */
#define AX__NFUT(...)                                                      \
  ((void)sizeof(char[AX__NFUT0(__VA_ARGS__) <= AX_SELECT_INLINE ? 1 : -1]), \
   AX__NFUT0(__VA_ARGS__))
#define ax_select(s, ...)                                                  \
  ax_select_n((s), 0, AX__NFUT(__VA_ARGS__), (ax_future_t *[]){__VA_ARGS__})
#define ax_select_biased(s, ...)                                           \
  ax_select_n((s), 1, AX__NFUT(__VA_ARGS__), (ax_future_t *[]){__VA_ARGS__})
static inline int ax_select_winner(const ax_select_t *s) { return s->winner; }

/* Waits for every future in futs[0..n) (polled concurrently in this task). */
typedef struct ax_join_all_s {
  ax_future_t base;                        /* private */
  ax_future_t *inline_[AX_SELECT_INLINE];  /* private */
  ax_future_t **futs;                      /* private */
  size_t n;                                /* private */
  size_t remaining;                        /* read-only */
  uint8_t done_inline[AX_SELECT_INLINE];   /* private */
  uint8_t *done;                           /* private */
  int result;                              /* read-only once ready: 0, or
                                              AX_EINVAL (see below) */
} ax_join_all_t;
/* `done` must point to n bytes the caller keeps (NULL when n <= 8: j
 * keeps them).  A NULL `done` with n > 8 is refused as ax_select_n
 * refuses too many futures: every future dropped by this call, and j
 * ready at its first poll with result AX_EINVAL.  Preconditions (asserted):
 * j != NULL; futs != NULL when n > 0. */
AX_EXTERN ax_future_t *ax_join_all_array(ax_join_all_t *j, ax_future_t **futs,
                                         uint8_t *done, size_t n);
/* Up to AX_SELECT_INLINE futures given inline; more: AX_EINVAL, as
 * ax_select_n. */
AX_EXTERN ax_future_t *ax_join_n(ax_join_all_t *j, size_t n,
                                 ax_future_t *const *futs);
#define ax_join_all(j, ...)                                                \
  ax_join_n((j), AX__NFUT(__VA_ARGS__), (ax_future_t *[]){__VA_ARGS__})

#ifdef __cplusplus
}
#endif
#endif /* AXLE_SELECT_H */
