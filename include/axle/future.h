/* axle — futures and async functions.
 *
 * A future is any struct whose FIRST member is an ax_future_t.  Nothing
 * happens until somebody polls it: creating a future only fills in a
 * struct, it registers nothing, allocates nothing and costs no stack.
 * Every axle future struct begins with `ax_future_t base`, and its
 * constructor (ax_sleep, ax_mutex_lock, ...) returns &f->base; an async
 * function's state begins with `ax_async_t co`, and AX_FUTURE_OF(&state)
 * is its future.  (Writing a leaf future of your own, with poll and drop
 * functions and wakers, is <axle/leaf.h>.)
 *
 * Ownership and the one rule for cleanup:
 *   - Whoever polls a future owns it and drops it exactly once, whether it
 *     completed or not: ax_drop() is cancellation and destruction in one.
 *     axle's own futures are safe to drop in every state (never polled,
 *     pending, ready, dropped already).
 *   - A future's drop releases what it holds; what it reports (its
 *     `result` field, an async function's output fields) stays readable
 *     after the drop.  So cleanup is written once, in the drop handler
 *     (AX_FUTURE_DROP), and runs on completion and on cancellation alike.
 *   - The owners: a spawned task's future is dropped by the runtime when
 *     the task completes, is aborted, or panics; AX_AWAIT does not drop
 *     the child it awaited (its output is yours to read): the child is a
 *     field of your state, dropped by your drop handler; the future given
 *     to ax_block_on stays the caller's (drop it after reading its output).
 *
 * Moving: a future may be copied (memcpy) until it is first polled; after
 * that it must stay where it is until it is dropped (like Rust's Pin).
 * ax_spawn() copies the future into the task, so spawn it unpolled.
 */
#ifndef AXLE_FUTURE_H
#define AXLE_FUTURE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { AX_PENDING = 0, AX_READY = 1 } ax_poll_t;

typedef struct ax_future_s ax_future_t;
typedef struct ax_future_vtable_s ax_future_vtable_t;  /* <axle/leaf.h> */
typedef struct ax_cx_s ax_cx_t;        /* a poll's context (<axle/leaf.h>) */
typedef struct ax_waker_s ax_waker_t;  /* (<axle/leaf.h>) */

struct ax_future_s {
  const ax_future_vtable_t *vtable;  /* private: poll, drop, name */
};

/* Drops (cancels and destroys) a future: calls its vtable's drop if it has
 * one.  NULL, or a struct whose vtable is NULL (zeroed, never prepared):
 * no-op. */
AX_EXTERN void ax_drop(ax_future_t *f);
/* ---- Async functions --------------------------------------------------
 *
 * An async function is a resumable poll function over a state struct
 * whose first member is an `ax_async_t co`.  Locals that live across an
 * await are fields of that struct; child futures are stored inline in it.
 *
 *   typedef struct {
 *     ax_async_t co;          // first member, named co
 *     ax_sleep_t delay;       // child future, stored inline
 *     int out;                // output
 *   } answer_t;
 *
 *   AX_ASYNC(answer, answer_t, self) {
 *     AX_BEGIN(self);
 *     AX_AWAIT(ax_sleep(&self->delay, 100));
 *     self->out = 42;
 *     AX_END();
 *   }
 *
 *   answer_t a = AX_ZERO(answer_t);
 *   ax_block_on(rt, AX_FUTURE(answer, &a));
 *
 * Rules (as for protothreads), with what catches each:
 *   - `ax_async_t co` is the first member: AX_ASYNC checks it at compile
 *     time (a static assertion naming the rule).
 *   - AX_AWAIT takes an ax_future_t *, the value of a future constructor
 *     (ax_sleep(&self->nap, 10), not &self->nap): anything else is a
 *     compile error naming the rule; so is a misspelt constructor.
 *   - AX_FUTURE(fn, &state) takes the state type fn was defined over: a
 *     state of another type is a compile error.
 *   - No AX_AWAIT or AX_YIELD inside a `switch` statement of the body (its
 *     resume label would belong to that switch): the function panics when
 *     it resumes there, saying so.  Await in an `if` or a loop instead.
 *   - At most one AX_AWAIT / AX_YIELD per source line (a compile error:
 *     duplicate case value).
 *   - Locals declared in the body do not survive an await: keep them in a
 *     block `{ ... }` that holds no await (C++ refuses to compile a jump
 *     past their initialisation, which is the same rule enforced).
 * Inside the body, `cx` is the poll context (pass it to nothing but axle).
 * Compile with -Werror=incompatible-pointer-types and
 * -Werror=implicit-function-declaration (docs/guide.md lists the flags).
 */
typedef ax_poll_t (*ax_async_fn)(void *self, ax_cx_t *cx);
typedef void (*ax_async_drop_fn)(void *self);

typedef struct ax_async_s {
  ax_future_t base;            /* the future (AX_FUTURE_OF) */
  ax_async_fn fn;              /* private: the body */
  ax_async_drop_fn on_drop;    /* private: user destructor, or NULL */
  ax_future_t *child;          /* private: the future being awaited now */
  int line;                    /* private: resume point (0 start, -1 done) */
} ax_async_t;

/* Prepares co for fn and returns it as a future.  Call before the first
 * poll (AX_FUTURE does).  on_drop runs when the future is dropped, in any
 * state, after the awaited child (if any) has been dropped.  co and fn:
 * not NULL, asserted; on_drop may be NULL. */
AX_EXTERN ax_future_t *ax_async_init(ax_async_t *co, ax_async_fn fn,
                                     ax_async_drop_fn on_drop);
/* 1 once the async function has returned (AX_END / AX_RETURN), so that a
 * drop handler can tell completion from cancellation. */
static inline int ax_async_is_done(const ax_async_t *co) {
  return co->line == -1;
}

#ifdef __cplusplus
#  define AX__STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#  define AX__STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* What the compile-time checks below select for a wrong argument: values
 * of these types cannot go where a pointer goes, so the compiler's error
 * names the rule.  (Defined in the library, never read: an unselected
 * branch is not evaluated.) */
struct AX_AWAIT_takes_an_ax_future_t_pointer_from_a_constructor_like_ax_sleep {
  char unused;
};
struct AX_FUTURE_got_a_state_of_another_type_than_the_async_function_was_defined_over {
  char unused;
};
AX_EXTERN extern const struct
    AX_AWAIT_takes_an_ax_future_t_pointer_from_a_constructor_like_ax_sleep
        ax__not_a_future;
AX_EXTERN extern const struct
    AX_FUTURE_got_a_state_of_another_type_than_the_async_function_was_defined_over
        ax__wrong_state;

#ifdef __cplusplus
#  define AX__AS_FUTURE(expr) (expr)   /* C++'s own type check suffices */
#  define AX__STATE_OF(fn, ptr) static_cast<fn##__state_t *>(ptr)
#else
#  define AX__AS_FUTURE(expr)                                              \
  _Generic((expr), ax_future_t *: (expr), default: ax__not_a_future)
#  define AX__STATE_OF(fn, ptr)                                            \
  _Generic((ptr), fn##__state_t *: (ptr), default: ax__wrong_state)
#endif

/* The future of async function fn over state struct *ptr. */
#define AX_FUTURE(fn, ptr) ax_async_init(&AX__STATE_OF(fn, ptr)->co, (fn), NULL)
/* ... with a drop handler (defined with AX_ASYNC_DROP). */
#define AX_FUTURE_DROP(fn, drop, ptr)                                      \
  ax_async_init(&AX__STATE_OF(fn, ptr)->co, (fn), (drop))
/* The future of an async function's state, once prepared: for ax_drop,
 * select, or anything else that takes an ax_future_t *. */
#define AX_FUTURE_OF(ptr) (&(ptr)->co.base)

/* A zeroed value of a struct type, in C and C++ alike (C's {0} draws
 * missing-initializer warnings from C++ compilers):
 *   answer_t a = AX_ZERO(answer_t); */
#ifdef __cplusplus
#  define AX_ZERO(type) (type())
#else
#  define AX_ZERO(type) ((type){0})
#endif

/* Defines the async function `name` over `type`: inside, the state is
 * `var` (a type *) and the poll context is `cx`.  Checks at compile time
 * that `type` begins with its ax_async_t co. */
#define AX_ASYNC(name, type, var)                                          \
  AX_ASYNC_DECL(name, type);                                               \
  static ax_poll_t name##__body(type *var, ax_cx_t *cx);                   \
  static ax_poll_t name(void *ax__self, ax_cx_t *cx) {                     \
    return name##__body((type *)ax__self, cx);                             \
  }                                                                        \
  static ax_poll_t name##__body(type *var, ax_cx_t *cx)
/* Declares it ahead of its definition (to spawn it from code above). */
#define AX_ASYNC_DECL(name, type)                                          \
  typedef type name##__state_t;                                            \
  AX__STATIC_ASSERT(offsetof(type, co) == 0,                               \
                    "an async function's state must begin with its "       \
                    "ax_async_t, named co");                               \
  static ax_poll_t name(void *ax__self, ax_cx_t *cx)
/* Defines a drop handler `name` for states of `type` (for
 * AX_FUTURE_DROP): inside, the state is `var`. */
#define AX_ASYNC_DROP(name, type, var)                                     \
  static void name##__body(type *var);                                     \
  static void name(void *ax__self) { name##__body((type *)ax__self); }     \
  static void name##__body(type *var)

/* Internal helpers of the macros below. */
AX_EXTERN ax_poll_t ax__await(ax_async_t *co, ax_cx_t *cx, const char *file,
                              int line);
AX_EXTERN void ax__yield(ax_async_t *co, ax_cx_t *cx, const char *file,
                         int line);
#if !defined(__cplusplus)
#  define AX__NORETURN _Noreturn      /* C only: C++ has no _Noreturn */
#elif defined(__GNUC__)
#  define AX__NORETURN __attribute__((noreturn))
#elif defined(_MSC_VER)
#  define AX__NORETURN __declspec(noreturn)
#else
#  define AX__NORETURN
#endif
AX_EXTERN AX__NORETURN void ax__resume_lost(ax_async_t *co, const char *file);

#define AX_BEGIN(var)                                                      \
  ax_async_t *const ax__co = &(var)->co;                                   \
  (void)cx; /* an async function need not await */                         \
  switch (ax__co->line) {                                                  \
  default: /* a resume label the switch cannot see */                      \
    ax__resume_lost(ax__co, __FILE__);                                     \
  case -1:                                                                 \
    return AX_READY;                                                       \
  case 0:

/* Polls `expr` (an ax_future_t *) until it is ready, suspending the async
 * function meanwhile.  The future is stored in the state so that dropping
 * the async function drops it. */
#define AX_AWAIT(expr)                                                     \
  do {                                                                     \
    ax__co->child = AX__AS_FUTURE(expr);                                   \
    ax__co->line = __LINE__;                                               \
    /* fall through */                                                     \
  case __LINE__:                                                           \
    if (ax__await(ax__co, cx, __FILE__, __LINE__) == AX_PENDING)           \
      return AX_PENDING;                                                   \
  } while (0)

/* Gives the worker to other tasks once (Tokio's yield_now().await). */
#define AX_YIELD()                                                         \
  do {                                                                     \
    ax__co->line = __LINE__;                                               \
    ax__yield(ax__co, cx, __FILE__, __LINE__);                             \
    return AX_PENDING;                                                     \
  case __LINE__:;                                                          \
  } while (0)

/* Finishes the async function early (its output must be set). */
#define AX_RETURN()                                                        \
  do {                                                                     \
    ax__co->line = -1;                                                     \
    return AX_READY;                                                       \
  } while (0)

/* The end of the body: the function is done. */
#define AX_END()                                                           \
  }                                                                        \
  ax__co->line = -1;                                                       \
  return AX_READY

#ifdef __cplusplus
}
#endif
#endif /* AXLE_FUTURE_H */
