/* Internal: what the channel files (chan_*.c) share. */
#ifndef AX_SYNC_CHAN_H
#define AX_SYNC_CHAN_H

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "axle/channel.h"
#include "axle/leaf.h"
#include "core/alloc.h"

/* Offset of a value area after a header of `hdr` bytes: values keep the
 * alignment of max_align_t, so a drop/clone callback may cast them. */
#define AX__VALUE_OFFSET(hdr)                                               \
  (((hdr) + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1))

/* Copies a value out to a receiver: with the channel's clone, or memcpy. */
static inline void ax__chan_clone(ax_elem_clone_fn clone, void *dst,
                                  const void *src, size_t size) {
  if (clone != NULL)
    clone(dst, src);
  else if (size > 0)
    memcpy(dst, src, size);
}

/* memcpy that accepts NULL pointers when size is 0 (zero-size channels
 * carry pure signals and may be given NULL buffers), with the common small
 * sizes inlined: a libc call costs as much as the rest of a send. */
static inline void ax__chan_copy(void *dst, const void *src, size_t size) {
  switch (size) {
  case 0:
    return;
  case 4:
    memcpy(dst, src, 4);
    return;
  case 8:
    memcpy(dst, src, 8);
    return;
  case 16:
    memcpy(dst, src, 16);
    return;
  default:
    memcpy(dst, src, size);
  }
}

#endif
