/* axle — tasks: spawn, join handles, abort, yield, panic.
 *
 * A task is a future copied into one allocation together with its header
 * (state word, reference count, queue link, join slot).  ax_spawn() returns
 * at once; the task runs when a worker polls it.  When the task ends
 * (completed, aborted or panicked) the runtime drops its future at once,
 * as Tokio does: its drop handler runs then, and whatever the future still
 * held (a channel sender, say) is released before anyone joins it.  The
 * output fields stay readable through the join handle.
 *
 * Join handles (ax_join_t) are futures too.  The handle is a struct the
 * caller owns (usually a field of its own async state); it holds a reference
 * to the task until ax_join_drop().  Dropping a handle before the task ends
 * detaches the task: it keeps running and frees itself when done.
 */
#ifndef AXLE_TASK_H
#define AXLE_TASK_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ax_runtime_s ax_runtime_t;
typedef struct ax__task_s ax__task_t;

typedef struct ax_join_s {
  ax_future_t base;    /* the future: ax_join_wait(&h) returns &h.base */
  ax__task_t *task;    /* private: counted reference, NULL once dropped */
  int result;          /* read-only once ready: 0 done, AX_ECANCELED,
                          AX_EPANIC, or AX_EJOINED (handle misused) */
  int consumed;        /* private: the result was delivered once */
} ax_join_t;

/* Spawns `fut` (of `size` bytes, never polled yet) on the runtime of the
 * calling thread (a worker, a block_on thread, or a thread inside a runtime
 * callback).  The bytes are copied into the task: the caller's copy may be
 * reused at once.  `join` may be NULL to detach immediately.
 * Returns 0, AX_ENORUNTIME (no runtime on this thread), AX_ESHUTDOWN,
 * AX_EINVAL (fut NULL, or size below sizeof(ax_future_t) or above
 * SIZE_MAX / 2) or AX_ENOMEM.  On error nothing was spawned and `join` is
 * left dropped. */
AX_EXTERN int ax_spawn(ax_future_t *fut, size_t size, ax_join_t *join);
/* Same, on an explicit runtime: callable from any thread, including
 * threads that axle does not know.  rt NULL: AX_ENORUNTIME, as ax_spawn
 * outside a runtime. */
AX_EXTERN int ax_spawn_on(ax_runtime_t *rt, ax_future_t *fut, size_t size,
                          ax_join_t *join);
/* Same with a name (copied: shown in task dumps and panic messages; NULL:
 * none).  AX_ENOMEM also when the copy cannot be made. */
AX_EXTERN int ax_spawn_named(ax_runtime_t *rt, const char *name,
                             ax_future_t *fut, size_t size, ax_join_t *join);

/* ---- Spawn sites ---------------------------------------------------------
 *
 * Every task records where it was spawned: ax_spawn, ax_spawn_on,
 * ax_spawn_named, ax_spawn_fn (and AX_SPAWN, the spawn_blocking calls,
 * the JoinSet's) are macros that pass AX_HERE, "file:line" of the call,
 * one string literal: the task keeps the pointer (no copy, no
 * allocation).  Task dumps (ax_runtime_dump_tasks), watchdog reports and
 * ax_join_spawn_site() show it, as Tokio shows a task's spawn location.
 * The functions themselves stay callable, through a pointer or in
 * parentheses ((ax_spawn)(...)), and then record no site.
 */
#define AX__STR2(x) #x
#define AX__STR(x) AX__STR2(x)
#define AX_HERE __FILE__ ":" AX__STR(__LINE__)
/* What the macros call: site is a string that outlives the task (a
 * literal), or NULL; otherwise as the function the macro is named after.
 * (One entry per macro, not one with flags: ax_spawn's path, measured
 * with callgrind on spawn_many_local, stays what it was plus the site.)
 * ax__spawn_at: on = 0 spawns on the current runtime (rt ignored), on = 1
 * on rt, as the JoinSet's spawns need. */
AX_EXTERN int ax__spawn_here(const char *site, ax_future_t *fut, size_t size,
                             ax_join_t *join);
AX_EXTERN int ax__spawn_on_at(const char *site, ax_runtime_t *rt,
                              const char *name, ax_future_t *fut,
                              size_t size, ax_join_t *join);
AX_EXTERN int ax__spawn_at(const char *site, int on, ax_runtime_t *rt,
                           const char *name, ax_future_t *fut, size_t size,
                           ax_join_t *join);
#define ax_spawn(fut, size, join)                                          \
  ax__spawn_here(AX_HERE, (fut), (size), (join))
#define ax_spawn_on(rt, fut, size, join)                                   \
  ax__spawn_on_at(AX_HERE, (rt), NULL, (fut), (size), (join))
#define ax_spawn_named(rt, name, fut, size, join)                          \
  ax__spawn_on_at(AX_HERE, (rt), (name), (fut), (size), (join))

/* Spawns the async function fn over *state (copied), on the current
 * runtime.  The state may be a local in a block of its own:
 *   { work_t job = AX_ZERO(work_t); job.n = 5;
 *     AX_SPAWN(work, &job, &self->handle); } */
#define AX_SPAWN(fn, state, join)                                          \
  ax_spawn(AX_FUTURE(fn, state), sizeof *(state), (join))

/* The simplest case: a plain function that needs no await.  The task calls
 * fn(arg) once; its return value is ax_join_value().  Errors as ax_spawn;
 * fn NULL: AX_EINVAL. */
typedef void *(*ax_task_fn)(void *arg);
AX_EXTERN int ax_spawn_fn(ax_task_fn fn, void *arg, ax_join_t *join);
AX_EXTERN int ax__spawn_fn_at(const char *site, ax_task_fn fn, void *arg,
                              ax_join_t *join);
#define ax_spawn_fn(fn, arg, join) ax__spawn_fn_at(AX_HERE, (fn), (arg), (join))

/* The future that waits for the task: AX_AWAIT(ax_join_wait(&h)).  Once
 * ready, read h.result and the output, then call ax_join_drop(&h).  h:
 * not NULL, asserted (here and in the three accessors and
 * ax_join_is_finished below). */
AX_EXTERN ax_future_t *ax_join_wait(ax_join_t *h);
/* The task's future (its copy inside the task, dropped already: its
 * output fields are intact): AX_JOIN_OUTPUT(&h, type) reads it as the
 * state type the task was spawned with.  Valid from ready until
 * ax_join_drop(); NULL unless the task completed normally. */
AX_EXTERN void *ax_join_output(ax_join_t *h);
#define AX_JOIN_OUTPUT(h, type) ((type *)ax_join_output(h))
/* For tasks from ax_spawn_fn / ax_spawn_blocking: the function's result,
 * which is now the caller's (a second call returns NULL, and a result
 * destructor given to ax_spawn_blocking_with no longer runs on it). */
AX_EXTERN void *ax_join_value(ax_join_t *h);
/* The panic message when result is AX_EPANIC (valid until ax_join_drop),
 * else NULL. */
AX_EXTERN const char *ax_join_panic_message(ax_join_t *h);
/* Non-blocking: 1 when the task has ended (any way), else 0. */
AX_EXTERN int ax_join_is_finished(const ax_join_t *h);
/* Releases the handle (detaches the task if it still runs).  Safe to call
 * twice and on a zeroed handle.  NULL: no-op. */
AX_EXTERN void ax_join_drop(ax_join_t *h);
/* Requests cancellation: the task's future is dropped at its next await
 * (at once if idle); its handle then reports AX_ECANCELED (AX_EPANIC if
 * that drop panicked).  Aborting a
 * finished task does nothing.  Returns 0, AX_EJOINED for a dropped
 * handle, or AX_EINVAL for NULL. */
AX_EXTERN int ax_abort(ax_join_t *h);

/* The task's id: what ax_task_id() returns inside it and what
 * ax_runtime_dump_tasks prints (Tokio's JoinHandle::id); 0 for a dropped
 * or zeroed handle.  h: not NULL, asserted. */
AX_EXTERN uint64_t ax_join_id(const ax_join_t *h);

/* Where the task was spawned: "file:line" (AX_HERE of the spawn call), or
 * NULL for a dropped handle or a task spawned without a site.  The string
 * is static: it stays valid after the handle is dropped.  h: not NULL,
 * asserted. */
AX_EXTERN const char *ax_join_spawn_site(const ax_join_t *h);

/* ---- Abort handles ------------------------------------------------------
 *
 * An abort handle (Tokio's AbortHandle) aborts a task, asks whether it
 * has ended and tells its id, without any claim on its output: a
 * supervisor can hold one while another task awaits the join handle.  It
 * holds a counted reference to the task (its memory, not its output), so
 * it stays valid after the task ended and after the join handle was
 * dropped, until ax_abort_handle_drop().  Any number may exist; each is
 * usable from any thread.  A zeroed struct is an empty handle.
 */
typedef struct ax_abort_handle_s {
  ax__task_t *task;    /* private: counted reference, NULL when empty */
} ax_abort_handle_t;

/* A new abort handle for h's task in *out (empty on error): 0,
 * AX_EJOINED for a dropped handle, AX_EINVAL for NULL. */
AX_EXTERN int ax_join_abort_handle(const ax_join_t *h, ax_abort_handle_t *out);
/* Another handle to the same task: 0, AX_EJOINED (a is empty), AX_EINVAL. */
AX_EXTERN int ax_abort_handle_clone(const ax_abort_handle_t *a,
                                    ax_abort_handle_t *out);
/* As ax_abort(): 0, AX_EJOINED (empty handle), AX_EINVAL (NULL). */
AX_EXTERN int ax_abort_handle_abort(const ax_abort_handle_t *a);
/* 1 once the task has ended (any way), else 0.  a: not NULL, asserted. */
AX_EXTERN int ax_abort_handle_is_finished(const ax_abort_handle_t *a);
/* The task's id, 0 when empty.  a: not NULL, asserted. */
AX_EXTERN uint64_t ax_abort_handle_id(const ax_abort_handle_t *a);
/* Releases the reference; the task is not affected.  Safe twice; NULL:
 * no-op. */
AX_EXTERN void ax_abort_handle_drop(ax_abort_handle_t *a);

/* ---- JoinSet --------------------------------------------------------------
 *
 * A group of tasks, joined in the order they end (Tokio's JoinSet):
 *
 *   ax_join_set_t set = AX_ZERO(ax_join_set_t);     // or ax_join_set_init
 *   ax_join_set_spawn(&set, AX_FUTURE(work, &w), sizeof w, NULL);
 *   ...
 *   for (;;) {                       // in an async function: fields of self
 *     AX_AWAIT(ax_join_set_next(&self->next, &self->set, &self->done));
 *     if (self->next.result == AX_EEMPTY) break;
 *     ... self->done is the ended task's join handle: its result
 *     ... (0, AX_ECANCELED, AX_EPANIC), AX_JOIN_OUTPUT, panic message, id
 *     ax_join_drop(&self->done);
 *   }
 *   ax_join_set_drop(&self->set);    // aborts what is left (also in a drop)
 *
 * Tasks run on the runtime they were spawned on (any flavour, and the
 * set may be used from any task); a task that ended waits in the set
 * until joined.  Dropping the set aborts every task still in it and
 * detaches them; ax_join_set_detach_all() only detaches.  One task uses a
 * set at a time (Tokio's &mut JoinSet): the calls below are not safe from
 * two threads at once on one set.  The set owns its tasks' handles; a
 * handle delivered by ax_join_set_next / ax_join_set_try_next is the
 * caller's (drop it with ax_join_drop).  Memory: one block per set (at
 * its first spawn) and one per task, besides the task.
 *
 * Tokio <-> axle: join_next() -> ax_join_set_next (None is result
 * AX_EEMPTY; Some(res) is the handle: res.is_err() is handle.result != 0);
 * try_join_next -> ax_join_set_try_next (also says which None: empty or
 * nothing ended yet); spawn returns an AbortHandle -> the optional abort
 * out-parameter; join_next_with_id -> ax_join_id(&done); shutdown() ->
 * ax_join_set_abort_all, then join until AX_EEMPTY; join_all: loop. */
typedef struct ax__join_set_shared_s ax__join_set_shared_t;
typedef struct ax_join_set_s {
  ax__join_set_shared_t *ax__shared;  /* private: NULL until a spawn */
} ax_join_set_t;

/* An empty set (a zeroed one is empty too).  s: not NULL, asserted. */
AX_EXTERN void ax_join_set_init(ax_join_set_t *s);
/* Spawns fut (as ax_spawn / ax_spawn_on: copied, never polled yet) into
 * the set.  abort (may be NULL) gets an abort handle for the task (empty
 * on error).  Returns ax_spawn's codes; AX_EINVAL for a NULL set.
 * Macros: they record the spawn site (see "Spawn sites"). */
AX_EXTERN int ax__join_set_spawn_at(const char *site, ax_join_set_t *s,
                                    int on, ax_runtime_t *rt,
                                    ax_future_t *fut, size_t size,
                                    ax_abort_handle_t *abort);
#define ax_join_set_spawn(s, fut, size, abort)                             \
  ax__join_set_spawn_at(AX_HERE, (s), 0, NULL, (fut), (size), (abort))
#define ax_join_set_spawn_on(s, rt, fut, size, abort)                      \
  ax__join_set_spawn_at(AX_HERE, (s), 1, (rt), (fut), (size), (abort))
/* Tasks in the set: spawned and not joined yet (ended ones included).
 * s: not NULL, asserted. */
AX_EXTERN size_t ax_join_set_len(const ax_join_set_t *s);
AX_EXTERN int ax_join_set_is_empty(const ax_join_set_t *s);

/* The future that waits for the next task of the set to end:
 * AX_AWAIT(ax_join_set_next(&n, &set, &out)).  Once ready, n.result is 0
 * (*out is that task's join handle, ended, now the caller's), AX_EEMPTY
 * (the set has no task: *out stays a dropped handle) or AX_EINVAL (set
 * or out NULL).  Tasks come in the order they ended.  It takes a unit of
 * cooperative budget per task joined.  Dropping it before it is ready
 * loses nothing.  n: not NULL, asserted. */
typedef struct ax_join_next_s {
  ax_future_t base;      /* the future */
  ax_join_set_t *set;    /* private */
  ax_join_t *out;        /* private: where the handle goes */
  int result;            /* read-only once ready */
} ax_join_next_t;
AX_EXTERN ax_future_t *ax_join_set_next(ax_join_next_t *n, ax_join_set_t *s,
                                        ax_join_t *out);
/* Without waiting: 0 (*out: an ended task's handle, the caller's),
 * AX_EAGAIN (no task has ended yet), AX_EEMPTY (no task), AX_EINVAL. */
AX_EXTERN int ax_join_set_try_next(ax_join_set_t *s, ax_join_t *out);
/* Aborts every task in the set (they stay in it: join them to see each
 * end, AX_ECANCELED or how it ended first).  s: not NULL, asserted. */
AX_EXTERN void ax_join_set_abort_all(ax_join_set_t *s);
/* Removes every task from the set without aborting it (they run on,
 * detached).  s: not NULL, asserted. */
AX_EXTERN void ax_join_set_detach_all(ax_join_set_t *s);
/* Aborts and detaches every task, and frees the set: it is empty again
 * (usable anew).  NULL: no-op. */
AX_EXTERN void ax_join_set_drop(ax_join_set_t *s);

/* ---- Local tasks: pinned to one thread ---------------------------------
 *
 * Tokio's LocalSet and spawn_local.  A local set is a group of tasks that
 * run only inside the poll of the future that drives it, so on the thread
 * that polls that future, and never move: code that must stay on one
 * thread (thread-local state, a GUI toolkit's objects, a library that is
 * not thread safe) runs as local tasks.  The driver must itself stay on
 * one thread: the block_on future (on a multi-thread runtime, the thread
 * that called ax_block_on), any task of a current-thread runtime (the
 * desktop's pumped runtime too), or a local task of another set.  A task
 * on a multi-thread runtime's worker may be polled by another worker next
 * time, so there run_until refuses (AX_EINVAL), where Tokio's !Send
 * RunUntil does not compile.
 *
 *   ax_local_set_t set = AX_ZERO(ax_local_set_t);
 *   ax_local_set_spawn(&set, AX_FUTURE(gui_task, &g), sizeof g, &self->h);
 *   AX_AWAIT(ax_local_set_run_until(&self->run, &self->set,
 *                                   AX_FUTURE(main_work, &self->work)));
 *   ...
 *   ax_local_set_drop(&self->set);   // cancels the local tasks left, here
 *
 * Inside the set's poll (in `inner` and in the local tasks),
 * ax_spawn_local() spawns into the set.  Outside any set, on a
 * current-thread runtime's thread (the desktop's pumped runtime too),
 * ax_spawn_local is ax_spawn: all its tasks run on that thread anyway.
 * Anywhere else it fails with AX_ENORUNTIME (Tokio panics).
 *
 * Local tasks are tasks of the runtime of the thread that spawned them:
 * they have join handles (awaitable from any task), abort handles, ids,
 * spawn sites, and appear in task dumps.  Woken or aborted from any
 * thread, they wait in the set's queue until its next poll.  The set's
 * drop cancels the tasks left (their drops run on the dropping thread,
 * the set's); a runtime's shutdown cancels them like any task, on the
 * freeing thread.  A local task sees no task-local value of the future
 * that drives the set (it is a task of its own).  Each local task costs
 * AX__LOCAL_PREFIX bytes more than an ordinary one (its set and link).
 *
 * Tokio <-> axle: LocalSet::new -> AX_ZERO / ax_local_set_init;
 * local.spawn_local(f) -> ax_local_set_spawn; task::spawn_local(f) inside
 * the set -> ax_spawn_local; local.run_until(f).await ->
 * ax_local_set_run_until; local.block_on(&rt, f) -> ax_block_on(rt,
 * ax_local_set_run_until(...)); awaiting the LocalSet itself (until all
 * its tasks end) -> run_until over a join of their handles; drop(local)
 * -> ax_local_set_drop. */
typedef struct ax__local_shared_s ax__local_shared_t;
typedef struct ax_local_set_s {
  ax__local_shared_t *ax__shared;  /* private: NULL until first used */
} ax_local_set_t;

/* An empty set (a zeroed one is too).  s: not NULL, asserted. */
AX_EXTERN void ax_local_set_init(ax_local_set_t *s);
/* Spawns fut (copied, never polled yet) into the set, on the calling
 * thread's runtime; it first runs at the set's next poll.  Returns 0,
 * AX_ENORUNTIME (no runtime on this thread), AX_ESHUTDOWN, AX_EINVAL (s
 * or fut NULL, size out of range) or AX_ENOMEM; on error `join` (may be
 * NULL) is left dropped.  Macro: records the spawn site. */
AX_EXTERN int ax__local_set_spawn_at(const char *site, ax_local_set_t *s,
                                     ax_future_t *fut, size_t size,
                                     ax_join_t *join);
#define ax_local_set_spawn(s, fut, size, join)                             \
  ax__local_set_spawn_at(AX_HERE, (s), (fut), (size), (join))
/* Spawns into the set whose poll is running (see above).  Errors as
 * ax_local_set_spawn. */
AX_EXTERN int ax__spawn_local_at(const char *site, ax_future_t *fut,
                                 size_t size, ax_join_t *join);
#define ax_spawn_local(fut, size, join)                                    \
  ax__spawn_local_at(AX_HERE, (fut), (size), (join))

/* The future that drives the set: polls inner, then up to 61 of the
 * set's queued tasks, each poll; ready when inner is (the set's tasks not
 * done then wait for its next drive).  It owns inner from its first poll
 * and drops it with itself.  result once ready: 0, AX_ENORUNTIME (polled
 * outside a runtime's task or block_on: local tasks need a worker),
 * AX_ENOMEM, AX_EINVAL (s or inner NULL, or polled by a task of a
 * multi-thread runtime's worker, outside any set: see above; inner is
 * not polled then).  r: not NULL, asserted. */
typedef struct ax_local_run_s {
  ax_future_t base;       /* the future */
  ax_local_set_t *set;    /* private */
  ax_future_t *inner;     /* private */
  int inner_done;         /* private */
  int result;             /* read-only once ready */
} ax_local_run_t;
AX_EXTERN ax_future_t *ax_local_set_run_until(ax_local_run_t *r,
                                              ax_local_set_t *s,
                                              ax_future_t *inner);
/* Cancels every task left in the set (their drops run now, on this
 * thread) and frees it; it is empty again.  Call it on the set's thread,
 * never from inside its poll.  NULL: no-op. */
AX_EXTERN void ax_local_set_drop(ax_local_set_t *s);

/* ---- Task-local values -------------------------------------------------
 *
 * Tokio's task_local!: a value scoped to one task's execution, visible in
 * every future the task polls below the scope (a request id for log
 * lines), and in their drops.  A key is a static ax_task_local_t, its
 * address its identity:
 *
 *   static const ax_task_local_t REQUEST_ID = AX_TASK_LOCAL_INIT("request_id");
 *   ...
 *   AX_AWAIT(ax_task_local_scope(&self->scope, &REQUEST_ID, &self->id,
 *                                AX_FUTURE(handle, &self->handler)));
 *   ... and anywhere below, in the same task:
 *   int *id = AX_TASK_LOCAL_GET(&REQUEST_ID, int);   // NULL: not in scope
 *
 * The scope holds a pointer to the caller's value (never copied or
 * freed: it must live as long as the scope future, e.g. a field of the
 * same state), and owns `inner` from its first poll: its drop drops inner
 * (inside the scope, so inner's drop still sees the value).  Scopes nest;
 * the innermost one of a key wins.  Inherited by nothing unless asked: a
 * task spawned inside a scope does not see it (it is polled on its own);
 * to hand it over, wrap the spawned future in a scope of its own with the
 * value (AX_TASK_LOCAL_GET, then ax_task_local_scope).  The scope lives
 * on the polling thread only while a poll below it runs: no per-task
 * memory, no cost for tasks that use none.
 *
 * Tokio <-> axle: KEY.scope(v, fut) -> ax_task_local_scope;
 * KEY.try_get / try_with -> ax_task_local_get (NULL outside); KEY.get()
 * (panics outside) -> ax_task_local_get and check; sync_scope ->
 * ax_task_local_sync_scope; TaskLocalFuture::take_value ->
 * ax_task_local_scope_take.  Values are pointers: copy what you read if
 * it must outlive the scope. */
typedef struct ax_task_local_s {
  const char *name;    /* for people reading a debugger: any string */
} ax_task_local_t;
#define AX_TASK_LOCAL_INIT(name) {name}

typedef struct ax__tl_frame_s {
  const ax_task_local_t *key;        /* private */
  void *value;                       /* private */
  struct ax__tl_frame_s *prev;       /* private: the scope around it */
} ax__tl_frame_t;

typedef struct ax_task_local_scope_s {
  ax_future_t base;          /* the future */
  ax__tl_frame_t ax__frame;  /* private: (key, value) while polled */
  ax_future_t *ax__inner;    /* private: the wrapped future */
  int ax__flags;             /* private */
} ax_task_local_scope_t;

/* Prepares f: polls inner with key bound to value.  Ready when inner is
 * (read inner's output in inner).  f, key, inner: not NULL, asserted;
 * value may be NULL (then ax_task_local_is_set tells it apart). */
AX_EXTERN ax_future_t *ax_task_local_scope(ax_task_local_scope_t *f,
                                           const ax_task_local_t *key,
                                           void *value, ax_future_t *inner);
/* Takes the value out of f: returns it (NULL if taken already); inner's
 * later polls and its drop run without it.  f: not NULL, asserted. */
AX_EXTERN void *ax_task_local_scope_take(ax_task_local_scope_t *f);
/* The value of key in the innermost scope around the calling code, or
 * NULL when there is none.  key: not NULL, asserted (and below). */
AX_EXTERN void *ax_task_local_get(const ax_task_local_t *key);
#define AX_TASK_LOCAL_GET(key, type) ((type *)ax_task_local_get(key))
/* 1 when the calling code is inside a scope of key, else 0. */
AX_EXTERN int ax_task_local_is_set(const ax_task_local_t *key);
/* Calls fn(arg) with key bound to value (Tokio's sync_scope). */
AX_EXTERN void ax_task_local_sync_scope(const ax_task_local_t *key,
                                        void *value, void (*fn)(void *arg),
                                        void *arg);

/* ---- Panics -----------------------------------------------------------
 *
 * ax_panic() inside a task unwinds to the poll boundary (longjmp): the
 * task's future is dropped (its drop runs, so release resources there, not
 * after the call), the formatted message goes to the join handle, and the
 * worker goes on.  A panic inside the future's drop (when the task
 * completes, is aborted, or is cancelled by the runtime's shutdown) is the
 * task's panic too: the handle reports AX_EPANIC, the rest of that drop
 * does not run.  In a spawn_blocking job it is the job's panic.  Memory and locks acquired in the same poll before the
 * panic and not reachable from the future are NOT released.  Outside a
 * task it prints the message and aborts the process.  fmt: not NULL,
 * asserted.  When the message cannot be allocated, the handle's panic
 * message is NULL (the result is still AX_EPANIC).
 */
#if defined(__GNUC__)
#  define AX__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#  define AX__PRINTF(a, b)
#endif
AX_EXTERN AX__NORETURN void ax_panic(const char *fmt, ...) AX__PRINTF(1, 2);
AX_EXTERN AX__NORETURN void ax__panic_at(const char *file, int line,
                                      const char *fmt, ...) AX__PRINTF(3, 4);
#define ax_assert(cond)                                                    \
  ((cond) ? (void)0                                                        \
          : ax__panic_at(__FILE__, __LINE__, "assertion failed: %s", #cond))

/* Called for a panic nobody will join (handle dropped or never taken):
 * msg is the message, name the task's name or NULL. */
typedef void (*ax_panic_hook_fn)(const char *msg, const char *name,
                                 void *arg);

/* ---- Yield --------------------------------------------------------------
 * AX_YIELD() inside an async function; ax_yield_now() is the same as a
 * future, for select/join composition.  y: not NULL, asserted. */
typedef struct ax_yield_s {
  ax_future_t base;  /* the future */
  int yielded;       /* private */
} ax_yield_t;
AX_EXTERN ax_future_t *ax_yield_now(ax_yield_t *y);

/* ---- Cooperative budget ----------------------------------------------
 * Each poll of a task may complete at most 128 operations that did not
 * have to wait, then it yields (Tokio's coop; <axle/leaf.h> has the
 * details).  ax_consume_budget() is a future that takes one unit (a cheap
 * yield point in a CPU-bound loop: it yields only when the budget is
 * spent), and ax_unconstrained() polls `inner` with no budget at all (it
 * owns `inner` from its first poll, and drops it with itself, as
 * ax_timeout does; use it sparingly: it can starve the worker, which is
 * what the budget is for).  Every pointer argument below: not NULL,
 * asserted. */

typedef struct ax_consume_budget_s {
  ax_future_t base;  /* the future */
} ax_consume_budget_t;
AX_EXTERN ax_future_t *ax_consume_budget(ax_consume_budget_t *f);

typedef struct ax_unconstrained_s {
  ax_future_t base;    /* the future */
  ax_future_t *inner;  /* private: the wrapped future (caller's memory) */
} ax_unconstrained_t;
AX_EXTERN ax_future_t *ax_unconstrained(ax_unconstrained_t *f,
                                        ax_future_t *inner);

/* Information about the current task (for logs): its id (unique per
 * runtime, starting at 1) or 0 outside a task.  Inside also means: in the
 * task's future's drop (however the task ended), and in a spawn_blocking
 * job (its task's id, as ax_join_id of its handle). */
AX_EXTERN uint64_t ax_task_id(void);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_TASK_H */
