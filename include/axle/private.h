/* axle — private building blocks of the public structs.
 *
 * Shown only because the caller-owned structs of the other headers embed
 * them (as libuv's uv/unix.h shows the platform fields of its handles): a
 * future is a struct the caller allocates, so its size must be known.
 * Never read or write these fields; their layout may change in any
 * release.  Included by axle/common.h.
 */
#ifndef AXLE_PRIVATE_H
#define AXLE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

/* Atomic fields of public structs.  C++ code only embeds these structs and
 * never touches private fields, so it sees the plain type (same size and
 * alignment for every type used here; src/sync/waitq.c checks it at compile
 * time). */
#ifndef AX__ATOMIC
#  ifdef __cplusplus
#    define AX__ATOMIC(T) T
#  else
#    define AX__ATOMIC(T) _Atomic(T)
#  endif
#endif

/* The link of axle's one intrusive list (src/core/list.h): circular, with
 * a sentinel link as the list head; NULL links mean "not on a list". */
typedef struct ax__link_s {
  struct ax__link_s *next;     /* the following link, or the sentinel */
  struct ax__link_s *prev;     /* the preceding link, or the sentinel */
} ax__link_t;

#endif /* AXLE_PRIVATE_H */
