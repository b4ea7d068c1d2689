/* axle — common definitions: export macro, version, error codes.
 *
 * Every function that can fail returns 0 or a negative error code, as libuv
 * does.  libuv's own codes (UV_ENOMEM, UV_ECANCELED, ...) pass through
 * unchanged; axle's own codes live in a separate range starting at -30000 so
 * they can never collide with an errno value.  ax_strerror() and
 * ax_err_name() describe both kinds.
 *
 * NULL arguments.  A pointer argument may be NULL only where its
 * declaration says so.  Passed one anyway, axle never crashes where it can
 * report, and the declarations say which of these applies:
 *   - a function that returns an error code returns AX_EINVAL and does
 *     nothing ("NULL: AX_EINVAL");
 *   - a function that releases or ends something (..._drop, ..._free,
 *     ..._destroy, ..._release, ..._close, ..._unlock, ..._forget,
 *     ax_runtime_shutdown_background) does nothing, as free(NULL) does
 *     ("NULL: no-op");
 *   - a function that prepares a future with a result field, given a NULL
 *     handle, object or buffer, prepares one that is ready at its first
 *     poll with result AX_EINVAL (the struct being prepared itself must not
 *     be NULL) ("NULL handle: result AX_EINVAL");
 *   - every other function (returning a pointer, a count, a flag or
 *     nothing) has the pointer as a precondition, checked by assert() in
 *     builds without NDEBUG ("not NULL, asserted").
 * Buffers of channel values may be NULL when the element size is 0.  The
 * inline helpers of future.h (ax_poll, the ax_waker_* calls, ax_cx_init)
 * and the read-only accessors of time.h and task.h that are static inline
 * check nothing: they are single loads on the hot path.
 */
#ifndef AXLE_COMMON_H
#define AXLE_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "private.h"

#if defined(_WIN32) && defined(AXLE_SHARED_BUILD)
#  define AX_EXTERN __declspec(dllexport)
#elif defined(_WIN32) && defined(AXLE_SHARED)
#  define AX_EXTERN __declspec(dllimport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define AX_EXTERN __attribute__((visibility("default")))
#else
#  define AX_EXTERN
#endif

#define AX_VERSION_MAJOR 0
#define AX_VERSION_MINOR 1
#define AX_VERSION_PATCH 0
#define AX_VERSION_STRING "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/* axle's own error codes.  Codes shared with libuv are aliases of libuv's. */
#define AX_ECANCELED  UV_ECANCELED  /* task aborted, or runtime shut down */
#define AX_ETIMEDOUT  UV_ETIMEDOUT  /* ax_timeout() elapsed */
#define AX_EINVAL     UV_EINVAL     /* bad argument */
#define AX_ENOMEM     UV_ENOMEM     /* allocation failed */
#define AX_EBUSY      UV_EBUSY      /* resource in use */
#define AX_EAGAIN     UV_EAGAIN     /* try again later (would block) */

#define AX__ERR_MAP(XX)                                                      \
  XX(EPANIC,    -30001, "task panicked")                                     \
  XX(EJOINED,   -30002, "join handle already consumed or detached")          \
  XX(ESHUTDOWN, -30003, "runtime is shut down")                              \
  XX(ENORUNTIME,-30004, "no runtime on this thread")                         \
  XX(ECLOSED,   -30005, "channel or primitive closed")                       \
  XX(EFULL,     -30006, "channel full")                                      \
  XX(EEMPTY,    -30007, "channel empty")                                     \
  XX(ELAGGED,   -30008, "receiver lagged behind")                            \
  XX(EPOOLSIZE, -30009, "blocking pool already started with another size")   \
  XX(ENESTED,   -30010, "block_on called from inside a runtime")             \
  XX(ENOTREADY, -30011, "value not ready yet")                               \
  XX(EALREADY,  -30012, "value already set")                                 \

enum {
#define AX__ERR_ENUM(name, val, msg) AX_##name = (val),
  AX__ERR_MAP(AX__ERR_ENUM)
#undef AX__ERR_ENUM
  AX__ERR_DUMMY = 0
};

/* Human-readable message / symbolic name for any code returned by axle
 * (its own or libuv's).  The strings are static: never free them.  A code
 * neither axle nor libuv knows gets "unknown error" / "UNKNOWN". */
AX_EXTERN const char *ax_strerror(int err);
AX_EXTERN const char *ax_err_name(int err);

/* Memory: axle allocates through these; replace them before creating the
 * first runtime (like uv_replace_allocator).  Returns 0, AX_EBUSY when a
 * runtime already exists, or AX_EINVAL when one of them is NULL.
 *
 * Out of memory: every allocation of axle's that a call needs comes back
 * from that call as AX_ENOMEM (or as AX_ENOMEM in the result of the future
 * that needed it), with nothing half done.  Where nothing can report it,
 * axle needs no memory: a wake from another thread queues its task on the
 * injection queue, which, when its ring cannot grow, links the task into
 * an overflow list instead; a blocking-pool post that cannot start extra
 * pool work drains the queue with the one it has.
 *
 * libuv's own allocations (inside its loops, handles and threadpool) do
 * not go through these, and axle never calls uv_replace_allocator: libuv
 * requires it before any other libuv call, axle cannot know whether the
 * application (or another library) has used libuv already, and memory
 * allocated under one allocator would then be freed with another (libuv
 * frees its threadpool's thread array at exit).  An application that wants
 * libuv's allocations routed through the same functions calls
 * uv_replace_allocator itself, first thing in main().  libuv's failures
 * surface as its own codes where libuv reports them (uv_loop_init's
 * UV_ENOMEM becomes ax_runtime_new's); a few of its internal allocations
 * abort the process when they fail (growing a loop's watcher array), which
 * axle cannot change. */
typedef void *(*ax_malloc_fn)(size_t size);
typedef void *(*ax_realloc_fn)(void *ptr, size_t size);
typedef void *(*ax_calloc_fn)(size_t count, size_t size);
typedef void (*ax_free_fn)(void *ptr);
AX_EXTERN int ax_replace_allocator(ax_malloc_fn, ax_realloc_fn, ax_calloc_fn,
                                   ax_free_fn);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_COMMON_H */
