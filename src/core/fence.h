/* Internal: a full (sequentially consistent) fence.
 *
 * The park/notify handshake needs a StoreLoad barrier on both sides.
 * ThreadSanitizer does not model atomic_thread_fence (gcc warns with
 * -Wtsan), so under TSan the fence becomes a seq_cst read-modify-write of
 * one shared word, which TSan sees as synchronisation between the sides.
 */
#ifndef AX_CORE_FENCE_H
#define AX_CORE_FENCE_H

#include <stdatomic.h>

#if defined(__SANITIZE_THREAD__)
#  define AX__TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define AX__TSAN 1
#  endif
#endif

#ifdef AX__TSAN
extern _Atomic int ax__fence_word;
#  define ax__fence() ((void)atomic_fetch_add(&ax__fence_word, 0))
#else
#  define ax__fence() atomic_thread_fence(memory_order_seq_cst)
#endif

#endif
