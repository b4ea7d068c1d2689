/* Child processes (uv_process_t on a home), and what the local I/O files
 * share (io/proc.h): running a call on the home, ignoring SIGPIPE.
 *
 * A child's state shared with other threads (exit status, the waiting
 * wait, signals queued for the home) is under `lock`; libuv calls on its
 * handle happen on the home only.  Memory: the owner's reference
 * (ax_child_close) and the handle's (its close callback), plus one per
 * kill handed to the home.
 *
 * Reaping.  libuv reaps a child only while its uv_process_t is open (it
 * waitpid()s the pids of its open handles on SIGCHLD).  So a handle whose
 * owner closes it while the child runs stays open, unreferenced (it keeps
 * no loop running), until the exit callback closes it: the child is
 * reaped and no zombie is left.  When the loop itself closes first
 * (runtime shutdown) the handle must close, and libuv forgets the pid: it
 * goes on a process-wide orphan list (POSIX), which every later exit and
 * spawn sweeps with waitpid(pid, WNOHANG), as Tokio's orphan queue does.
 * libuv's own waitpid calls name their pids, so neither side takes the
 * other's children. */
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#  include <errno.h>
#  include <signal.h>
#  include <sys/wait.h>
#endif

#include "axle/process.h"
#include "core/alloc.h"
#include "core/list.h"
#include "core/spin.h"
#include "io/proc.h"
#include "io/uvstream.h"

/* ---- io/proc.h ------------------------------------------------------------ */

typedef struct home_call_s {
  ax__op_t op;
  void (*fn)(void *arg);
  void *arg;
  uv_sem_t done;
} home_call_t;

static void home_call_op(ax__op_t *op) {
  home_call_t *c = ax__container_of(op, home_call_t, op);
  c->fn(c->arg);
  uv_sem_post(&c->done);
}

int ax__home_call(ax__ctx_t *home, void (*fn)(void *arg), void *arg) {
  home_call_t c;
  int rc;
  if (ax__ctx_current() == home) {
    fn(arg);
    return 0;
  }
  if ((rc = uv_sem_init(&c.done, 0)) != 0) return rc;
  c.op.fn = home_call_op;
  c.fn = fn;
  c.arg = arg;
  home->post(home, &c.op);
  uv_sem_wait(&c.done);
  uv_sem_destroy(&c.done);
  return 0;
}

#ifndef _WIN32
static uv_once_t sigpipe_once = UV_ONCE_INIT;

static void sigpipe_ignore_once(void) {
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) != 0 || sa.sa_handler != SIG_DFL) return;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  (void)sigaction(SIGPIPE, &sa, NULL);
}

void ax__ignore_sigpipe(void) { uv_once(&sigpipe_once, sigpipe_ignore_once); }
#else
void ax__ignore_sigpipe(void) {}
#endif

/* ---- orphans (POSIX) ------------------------------------------------------ */

#ifndef _WIN32
static uv_once_t orphan_once = UV_ONCE_INIT;
static uv_mutex_t orphan_lock;
static int *orphan_pids;       /* (orphan_lock) children nobody reaps */
static size_t orphan_n, orphan_cap;

static void orphan_init(void) {
  if (uv_mutex_init(&orphan_lock) != 0) abort();
}

/* Reaps the orphans that have ended. */
static void orphans_reap(void) {
  size_t i;
  uv_once(&orphan_once, orphan_init);
  uv_mutex_lock(&orphan_lock);
  for (i = 0; i < orphan_n;) {
    int st, r;
    do
      r = waitpid(orphan_pids[i], &st, WNOHANG);
    while (r == -1 && errno == EINTR);
    if (r == 0) {
      i++;                                  /* still running */
    } else {
      orphan_pids[i] = orphan_pids[--orphan_n];  /* reaped, or not ours */
    }
  }
  if (orphan_n == 0) {
    ax__free(orphan_pids);
    orphan_pids = NULL;
    orphan_cap = 0;
  }
  uv_mutex_unlock(&orphan_lock);
}

static void orphan_add(int pid) {
  uv_once(&orphan_once, orphan_init);
  uv_mutex_lock(&orphan_lock);
  if (orphan_n == orphan_cap) {
    size_t cap = orphan_cap ? orphan_cap * 2 : 8;
    int *p = ax__realloc(orphan_pids, cap * sizeof(*p));
    if (p != NULL) {
      orphan_pids = p;
      orphan_cap = cap;
    }
  }
  if (orphan_n < orphan_cap) orphan_pids[orphan_n++] = pid;
  /* else out of memory: it stays a zombie until this process ends */
  uv_mutex_unlock(&orphan_lock);
  orphans_reap();
}
#else
static void orphans_reap(void) {}
static void orphan_add(int pid) { (void)pid; }
#endif

/* ---- the child ---------------------------------------------------------------- */

enum { F_START, F_WAIT, F_DONE };

struct ax_child_s {
  ax__ctx_t *home;              /* the loop the handle lives on */
  ax__homed_t homed;            /* in home->homed while the handle is open */
  _Atomic int refs;             /* owner + handle + kills queued */
  _Atomic int dead;             /* the home's loop closed it */
  ax__spin_t lock;              /* guards the fields marked (lock) */
  int exited;                   /* (lock) the exit callback ran */
  ax_exit_status_t status;      /* (lock) its status */
  const ax_child_wait_t *waiter;/* (lock) the wait registered in `waker` */
  ax_waker_slot_t waker;        /* the waiting wait's */
  uint64_t kills;               /* (lock) signals queued for the home */
  int kill_posted;              /* (lock) kill_op is queued */
  int kill_on_drop;             /* the command said so */
  int closed;                   /* home: the owner closed it */
  int pid;
  int spawn_err;                /* ax_command_spawn's result (home) */
  ax_stream_t *pipes[3];        /* the owner's: piped stdio not taken */
  ax__op_t close_op, kill_op;
  uv_process_t h;               /* home */
};

static void child_release(ax_child_t *c) {
  if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
    return;
  ax_waker_slot_drop(&c->waker);
  ax__free(c);
}

static void child_closed(uv_handle_t *h) { child_release(h->data); }

/* Home: closes the handle (libuv stops reaping the pid). */
static void child_close_handle(ax_child_t *c) {
  if (uv_is_closing((uv_handle_t *)&c->h)) return;
  if (ax__list_linked(&c->homed.link)) ax__list_remove(&c->homed.link);
  uv_close((uv_handle_t *)&c->h, child_closed);
}

static void child_exited(uv_process_t *h, int64_t exit_status,
                         int term_signal) {
  ax_child_t *c = h->data;
  ax__spin_lock(&c->lock);
  c->exited = 1;
  c->status.code = exit_status;
  c->status.signal = term_signal;
  ax__spin_unlock(&c->lock);
  ax_waker_slot_wake(&c->waker);
  if (c->closed) child_close_handle(c);  /* reaped: nobody needs it */
  orphans_reap();                        /* a SIGCHLD came: others too? */
}

/* Home: the owner let go. */
static void child_close_now(ax_child_t *c) {
  int exited;
  c->closed = 1;
  ax__spin_lock(&c->lock);
  exited = c->exited;
  ax__spin_unlock(&c->lock);
  if (exited) {
    child_close_handle(c);
    return;
  }
  if (c->kill_on_drop) (void)uv_process_kill(&c->h, SIGKILL);
  /* Running on: the handle stays open to reap it, but keeps no loop
   * alive; the exit callback closes it. */
  uv_unref((uv_handle_t *)&c->h);
}

static void child_close_op(ax__op_t *op) {
  child_close_now(ax__container_of(op, ax_child_t, close_op));
}

/* The loop closes with the handle open: close it; a child still running
 * becomes an orphan (killed first when kill_on_drop). */
static void child_homed_release(ax__homed_t *hd) {
  ax_child_t *c = ax__container_of(hd, ax_child_t, homed);
  int exited;
  atomic_store_explicit(&c->dead, 1, memory_order_release);
  ax__spin_lock(&c->lock);
  exited = c->exited;
  ax__spin_unlock(&c->lock);
  if (!exited) {
    if (c->kill_on_drop) (void)uv_process_kill(&c->h, SIGKILL);
    orphan_add(c->pid);
  }
  uv_close((uv_handle_t *)&c->h, child_closed);
  ax_waker_slot_wake(&c->waker);
}

/* Home: sends the signals queued from other threads. */
static void child_kill_op(ax__op_t *op) {
  ax_child_t *c = ax__container_of(op, ax_child_t, kill_op);
  uint64_t kills;
  int exited, sig;
  ax__spin_lock(&c->lock);
  kills = c->kills;
  c->kills = 0;
  c->kill_posted = 0;
  exited = c->exited;
  ax__spin_unlock(&c->lock);
  if (!exited && !uv_is_closing((uv_handle_t *)&c->h))
    for (sig = 1; sig < 64; sig++)
      if (kills & ((uint64_t)1 << sig)) (void)uv_process_kill(&c->h, sig);
  child_release(c);  /* the op's reference */
}

/* ---- spawning ------------------------------------------------------------------- */

typedef struct spawn_s {
  const ax_command_t *cmd;
  ax_child_t *c;
  char **args;                  /* argv, owned (the strings are borrowed) */
  char **env;                   /* "K=V" strings, owned; NULL: inherit */
} spawn_t;

/* Home: makes the pipes and the process. */
static void spawn_home(void *arg) {
  spawn_t *sp = arg;
  ax_child_t *c = sp->c;
  ax__ctx_t *home = c->home;
  uv_process_options_t o;
  uv_stdio_container_t io[3];
  ax__uvs_t *pipes[3] = {NULL, NULL, NULL};
  int i, rc = 0;

  memset(&o, 0, sizeof(o));
  memset(io, 0, sizeof(io));
  for (i = 0; i < 3 && rc == 0; i++) {
    switch (sp->cmd->stdio[i]) {
      case AX_CHILD_INHERIT:
        io[i].flags = UV_INHERIT_FD;
        io[i].data.fd = i;
        break;
      case AX_CHILD_NULL:
        io[i].flags = UV_IGNORE;
        break;
      default: /* AX_CHILD_PIPED (checked by the caller) */
        if ((pipes[i] = ax__uvs_alloc(home, AX__UVS_PIPE)) == NULL) {
          rc = AX_ENOMEM;
          break;
        }
        uv_pipe_init(home->loop, &pipes[i]->h.pipe, 0);
        ax__uvs_open(pipes[i]);
        /* Readable / writable as the child sees it. */
        io[i].flags = (uv_stdio_flags)(UV_CREATE_PIPE |
                                       (i == 0 ? UV_READABLE_PIPE
                                               : UV_WRITABLE_PIPE));
        io[i].data.stream = &pipes[i]->h.stream;
        break;
    }
  }
  if (rc == 0) {
    o.exit_cb = child_exited;
    o.file = sp->cmd->program;
    o.args = sp->args;
    o.env = sp->env;
    o.cwd = sp->cmd->cwd;
    o.stdio_count = 3;
    o.stdio = io;
    rc = uv_spawn(home->loop, &c->h, &o);
    c->h.data = c;
    if (rc != 0) {
      /* uv_spawn initialised the handle even so: it must be closed (its
       * callback frees the handle's reference). */
      uv_close((uv_handle_t *)&c->h, child_closed);
    }
  } else {
    child_release(c);  /* the handle's: there was none */
  }
  if (rc != 0) {
    for (i = 0; i < 3; i++)
      if (pipes[i] != NULL) ax_stream_close(&pipes[i]->base);
    c->spawn_err = rc;
    return;
  }
  c->pid = c->h.pid;
  ax__list_push_back(&home->homed, &c->homed.link);
  for (i = 0; i < 3; i++) c->pipes[i] = pipes[i] ? &pipes[i]->base : NULL;
  orphans_reap();
}

#ifdef _WIN32
#  define name_ncmp _strnicmp   /* Windows' names ignore case */
#else
#  define name_ncmp strncmp
#endif

/* 1 when entry ("NAME=value") sets the variable name[0..len). */
static int env_is(const char *entry, const char *name, size_t len) {
  return name_ncmp(entry, name, len) == 0 && entry[len] == '=';
}

static void env_free(char **env) {
  size_t i;
  if (env == NULL) return;
  for (i = 0; env[i] != NULL; i++) ax__free(env[i]);
  ax__free(env);
}

/* The child's environment ("NAME=value" strings, owned), or NULL for
 * "this process's, unchanged".  0, AX_EINVAL or AX_ENOMEM. */
static int env_build(const ax_command_t *cmd, char ***out) {
  uv_env_item_t *items = NULL;
  int nitems = 0, rc = 0, i;
  size_t nchanges = 0, n = 0, j, k;
  char **env;

  *out = NULL;
  if (!cmd->env_clear && cmd->env == NULL) return 0;
  if (cmd->env != NULL)
    for (; cmd->env[nchanges] != NULL; nchanges++)
      if (cmd->env[nchanges][0] == '\0' || cmd->env[nchanges][0] == '=')
        return AX_EINVAL;
  if (!cmd->env_clear && (rc = uv_os_environ(&items, &nitems)) != 0)
    return rc;
  env = ax__calloc((size_t)nitems + nchanges + 1, sizeof(*env));
  if (env == NULL) {
    rc = AX_ENOMEM;
    goto done;
  }
  for (i = 0; i < nitems; i++) {
    size_t ln = strlen(items[i].name), lv = strlen(items[i].value);
    if ((env[n] = ax__malloc(ln + lv + 2)) == NULL) {
      rc = AX_ENOMEM;
      goto done;
    }
    memcpy(env[n], items[i].name, ln);
    env[n][ln] = '=';
    memcpy(env[n] + ln + 1, items[i].value, lv + 1);
    n++;
  }
  for (j = 0; j < nchanges; j++) {
    const char *e = cmd->env[j], *eq = strchr(e, '=');
    size_t len = eq != NULL ? (size_t)(eq - e) : strlen(e);
    for (k = 0; k < n;) {        /* the variable's current value goes */
      if (env_is(env[k], e, len)) {
        ax__free(env[k]);
        env[k] = env[--n];
        env[n] = NULL;
      } else {
        k++;
      }
    }
    if (eq != NULL) {
      if ((env[n] = ax__strdup(e)) == NULL) {
        rc = AX_ENOMEM;
        goto done;
      }
      n++;
    }
  }
done:
  if (items != NULL) uv_os_free_environ(items, nitems);
  if (rc != 0) {
    env_free(env);
    return rc;
  }
  *out = env;
  return 0;
}

int ax_command_spawn(const ax_command_t *cmd, ax_child_t **out) {
  ax__ctx_t *cx = ax__ctx_current();
  spawn_t sp;
  ax_child_t *c;
  size_t nargs = 0, i;
  int rc, piped = 0;

  if (out == NULL) return AX_EINVAL;
  *out = NULL;
  if (cmd == NULL || cmd->program == NULL || cmd->program[0] == '\0')
    return AX_EINVAL;
  for (i = 0; i < 3; i++) {
    if (cmd->stdio[i] != AX_CHILD_INHERIT && cmd->stdio[i] != AX_CHILD_NULL &&
        cmd->stdio[i] != AX_CHILD_PIPED)
      return AX_EINVAL;
    piped |= cmd->stdio[i] == AX_CHILD_PIPED;
  }
  if (cx == NULL) return AX_ENORUNTIME;
  if (cmd->args != NULL)
    while (cmd->args[nargs] != NULL) nargs++;

  memset(&sp, 0, sizeof(sp));
  sp.cmd = cmd;
  if ((sp.args = ax__calloc(nargs + 2, sizeof(*sp.args))) == NULL)
    return AX_ENOMEM;
  sp.args[0] = (char *)cmd->program;  /* libuv does not write them */
  for (i = 0; i < nargs; i++) sp.args[i + 1] = (char *)cmd->args[i];
  if ((rc = env_build(cmd, &sp.env)) != 0) goto done;
  if ((c = ax__calloc(1, sizeof(*c))) == NULL) {
    rc = AX_ENOMEM;
    goto done;
  }
  c->home = cx->home;
  atomic_init(&c->refs, 2);
  atomic_init(&c->dead, 0);
  ax__spin_init(&c->lock);
  ax_waker_slot_init(&c->waker);
  c->kill_on_drop = cmd->kill_on_drop != 0;
  c->homed.release = child_homed_release;
  c->close_op.fn = child_close_op;
  c->kill_op.fn = child_kill_op;
  sp.c = c;
  if (piped) ax__ignore_sigpipe();
  if ((rc = ax__home_call(c->home, spawn_home, &sp)) != 0) {
    ax__free(c);
    goto done;
  }
  if ((rc = c->spawn_err) != 0) {
    child_release(c);   /* the owner's; the handle's went with it */
    goto done;
  }
  *out = c;
done:
  ax__free(sp.args);
  env_free(sp.env);
  return rc;
}

/* ---- the owner's calls --------------------------------------------------------- */

static ax_stream_t *take_pipe(ax_child_t *c, int i) {
  ax_stream_t *s;
  if (c == NULL) return NULL;
  s = c->pipes[i];
  c->pipes[i] = NULL;
  return s;
}

ax_stream_t *ax_child_take_stdin(ax_child_t *c) { return take_pipe(c, 0); }
ax_stream_t *ax_child_take_stdout(ax_child_t *c) { return take_pipe(c, 1); }
ax_stream_t *ax_child_take_stderr(ax_child_t *c) { return take_pipe(c, 2); }

int ax_child_pid(const ax_child_t *c) { return c != NULL ? c->pid : 0; }

int ax_child_kill(ax_child_t *c, int signum) {
  int exited, post = 0;
  if (c == NULL || signum < 0 || signum >= 64) return AX_EINVAL;
  if (atomic_load_explicit(&c->dead, memory_order_acquire)) return AX_ECLOSED;
  if (ax__ctx_current() == c->home) {
    ax__spin_lock(&c->lock);
    exited = c->exited;
    ax__spin_unlock(&c->lock);
    return exited ? 0 : uv_process_kill(&c->h, signum);
  }
  if (signum == 0) return 0;
  ax__spin_lock(&c->lock);
  if (!c->exited) {
    c->kills |= (uint64_t)1 << signum;
    if (!c->kill_posted) post = c->kill_posted = 1;
  }
  ax__spin_unlock(&c->lock);
  if (post) {
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    c->home->post(c->home, &c->kill_op);
  }
  return 0;
}

int ax_child_try_wait(ax_child_t *c, int *exited, ax_exit_status_t *status) {
  if (c == NULL || exited == NULL) return AX_EINVAL;
  ax__spin_lock(&c->lock);
  *exited = c->exited;
  if (c->exited && status != NULL) *status = c->status;
  ax__spin_unlock(&c->lock);
  return 0;
}

void ax_child_close(ax_child_t *c) {
  int i;
  if (c == NULL) return;
  for (i = 0; i < 3; i++) ax_stream_close(take_pipe(c, i));
  if (!atomic_load_explicit(&c->dead, memory_order_acquire)) {
    if (ax__ctx_current() == c->home)
      child_close_now(c);
    else
      c->home->post(c->home, &c->close_op);  /* the handle's ref keeps c */
  }
  child_release(c);
}

/* ---- wait ----------------------------------------------------------------------- */

/* 1 when done (the result in w), else 0 with w registered if it may. */
static int wait_check(ax_child_wait_t *w, ax_child_t *c) {
  int done = 1;
  ax__spin_lock(&c->lock);
  if (c->exited) {
    w->status = c->status;
  } else if (atomic_load_explicit(&c->dead, memory_order_acquire)) {
    w->result = AX_ECLOSED;
  } else if (c->waiter != NULL && c->waiter != w) {
    w->result = AX_EBUSY;    /* another task waits: one at a time */
  } else {
    c->waiter = w;
    done = 0;
  }
  if (done && c->waiter == w) c->waiter = NULL;
  ax__spin_unlock(&c->lock);
  return done;
}

static ax_poll_t wait_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_child_wait_t *w = (ax_child_wait_t *)f;
  ax_child_t *c = w->c;
  if (w->phase == F_DONE) return AX_READY;
  if (c == NULL) {
    w->result = AX_EINVAL;
    w->phase = F_DONE;
    return AX_READY;
  }
  if (!ax__coop_proceed(cx)) return AX_PENDING;
  if (!wait_check(w, c)) {
    /* Registered as the waiter: store the waker, then look again (an
     * exit in between wakes the slot or is seen here). */
    ax_waker_slot_register(&c->waker, ax_cx_waker(cx));
    w->phase = F_WAIT;
    if (!wait_check(w, c)) {
      ax__coop_refund(cx);
      return AX_PENDING;
    }
  }
  if (w->phase == F_WAIT) ax_waker_slot_drop(&c->waker);
  w->phase = F_DONE;
  return AX_READY;
}

static void wait_drop(ax_future_t *f) {
  ax_child_wait_t *w = (ax_child_wait_t *)f;
  ax_child_t *c = w->c;
  if (w->phase == F_WAIT) {
    ax__spin_lock(&c->lock);
    if (c->waiter == w) c->waiter = NULL;
    ax__spin_unlock(&c->lock);
    ax_waker_slot_drop(&c->waker);
  }
  w->phase = F_DONE;
}

static const ax_future_vtable_t wait_vtable = {wait_poll, wait_drop,
                                               "ax_child_wait"};

ax_future_t *ax_child_wait(ax_child_wait_t *f, ax_child_t *c) {
  f->base.vtable = &wait_vtable;
  f->c = c;
  f->phase = F_START;
  f->result = 0;
  f->status.code = 0;
  f->status.signal = 0;
  return &f->base;
}
