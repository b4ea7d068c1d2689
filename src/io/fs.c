/* Files and directories (include/axle/fs.h) on libuv's fs calls.
 *
 * One operation, one job on libuv's threadpool.  The future's first poll
 * copies its inputs into an operation on the heap (an ax__fs_op_t, shared
 * by the future and the pool) and hands it to the home of the polling
 * thread, which queues it with uv_queue_work (uv calls happen on their
 * loop's thread).  The job makes the operation's libuv fs calls in their
 * synchronous form (no callback: they run right there, on the pool thread),
 * so an operation of several calls -- open, read to the end, close -- is
 * one trip to the pool and cannot be cut in half by a drop, and the pool
 * thread that did the work wakes the task itself (as spawn_blocking's
 * jobs do), with no hop through the home loop first.
 *
 * Ownership of an operation: one reference for the future, one for the
 * job (released by its after-work callback on the home, or by the home
 * when it never queued the job), one for each cancel posted to the home.
 * The last one frees it, on whichever thread that is.
 *
 * The state word says who gets the result:
 *   S_RUNNING    the job has not finished and the future is there;
 *   S_DONE       the job finished while the future was there: the result
 *                is the future's to take (or, if it is dropped before it
 *                takes it, to undo: close the file it opened...);
 *   S_ABANDONED  the future was dropped first: the job does not start if it
 *                has not, and undoes what it did if it has.
 * The job and the future each try one compare-and-swap from S_RUNNING;
 * whoever loses knows the other side moved first.
 *
 * Files.  An ax_file_t is a descriptor and a reference count: the owner's
 * and one per operation on it, so that a dropped read still running on the
 * pool keeps the descriptor from being closed (and its number reused by
 * another open) under it.  The last reference closes it on the pool.
 * Operations at the file's current position take the file's "lane": one
 * at a time, and a new one waits for one that was dropped while it ran,
 * so that they reach the file in the order the program issued them.
 */
#include <stdlib.h>
#include <string.h>

#include "axle/fs.h"
#include "core/alloc.h"
#include "core/context.h"
#include "core/list.h"
#include "core/spin.h"

/* st_mode's file-type bits as libuv reports them, on Windows too. */
#define MODE_FMT 0170000
#define MODE_REG 0100000
#define MODE_DIR 0040000
#define MODE_LNK 0120000

/* The largest single read or write handed to the system (Windows takes a
 * DWORD; Linux moves at most 2 GiB - 4 KiB per call). */
#define IO_MAX ((size_t)1 << 30)

#ifdef _WIN32
#  define SEP "\\"
#else
#  define SEP "/"
#endif

/* ---- the operations ---------------------------------------------------------- */

enum {
  K_READ_FILE, K_WRITE_FILE, K_OPEN, K_READ, K_READ_AT, K_WRITE, K_WRITE_AT,
  K_SYNC_ALL, K_SYNC_DATA, K_SET_LEN, K_FSTAT, K_STAT, K_LSTAT, K_EXISTS,
  K_CHMOD, K_RENAME, K_UNLINK, K_RMDIR, K_RMDIR_ALL, K_MKDIR, K_MKDIR_ALL,
  K_READ_DIR, K_COPY, K_LINK, K_SYMLINK, K_READLINK, K_REALPATH,
  K_TEMP_FILE, K_TEMP_DIR, K_COUNT
};

/* What a kind takes (checked at the first poll). */
#define T_PATH 0x01      /* path (not NULL) */
#define T_PATH2 0x02     /* path2 (not NULL) */
#define T_FILE 0x04      /* an open file */
#define T_LANE 0x08      /* ...at its current position: one at a time */
#define T_OUT 0x10       /* an output buffer (not NULL) */
#define T_BUF 0x20       /* buf/len: the caller's bytes */

enum { PH_NEW, PH_LANE, PH_RUN, PH_DONE };            /* the future's phase */
enum { S_RUNNING, S_DONE, S_ABANDONED };          /* the operation's state */

struct ax_file_s {
  _Atomic int refs;             /* the owner's + one per operation on it */
  uv_file fd;                   /* -1 until opened */
  ax__spin_t lock;              /* over the lane fields */
  const void *lane_owner;       /* (lock) the future holding the lane */
  int lane_busy;                /* (lock) a lane operation is on the pool
                                   (maybe one whose future was dropped) */
  ax_waker_slot_t lane_waker;   /* the lane owner, waiting for lane_busy 0 */
  char *unlink_path;            /* removed once closed (a temp file nobody
                                   took), or NULL */
  ax__ctx_t *close_home;        /* where the close job is queued from */
  ax__op_t close_op;            /* posted there */
  uv_work_t close_work;         /* the close, on the pool */
};

typedef struct ax__fs_op_s {
  uv_work_t work;               /* the job (home loop) */
  ax__op_t start_op;            /* queues it, on home */
  ax__op_t cancel_op;           /* uv_cancel, on home */
  ax__ctx_t *home;              /* the loop the job is queued on */
  ax_waker_slot_t waker;        /* the future's task */
  _Atomic int refs;             /* future + job + posted cancels */
  _Atomic int state;            /* S_*: who gets the result */
  _Atomic int picked;           /* a pool thread took the job */
  int kind;                     /* K_* */
  int submitted;                /* home: uv_queue_work took it */
  int after_ran;                /* home: its after-work callback ran */
  int ended;                    /* the file reference was let go */
  int ran;                      /* the job made its calls */
  /* Inputs (the operation's own copies). */
  char *path, *path2;
  ax_file_t *file;              /* a reference, until the job ends */
  int lane;                     /* holds file's lane */
  char *buf;                    /* a read's target, a write's data */
  size_t len;                   /* bytes in buf */
  uint64_t num;                 /* an offset, a length, a mode */
  int flags;                    /* uv open flags */
  /* Outputs, written by the job before S_DONE. */
  int result;
  size_t n;                     /* bytes read or written */
  ax_file_t *newfile;           /* open, temp_file: made at the first poll,
                                   opened by the job; owned until taken */
  ax_bytes_t bytes;             /* a file's content, a path */
  ax_dir_t dir;                 /* a listing */
  ax_metadata_t meta;
  int exists;
} ax__fs_op_t;

typedef struct kind_s {
  ax_future_vtable_t vt;        /* its futures' (the name for task dumps) */
  unsigned takes;               /* T_* */
  int (*run)(ax__fs_op_t *o);   /* pool: the calls; the result */
} kind_t;

/* Every fs future is { base, ax__fs, result, outputs }: its common part
 * and its result are at the same offsets in each type (checked below). */
#define ARGS(f)                                                            \
  ((ax__fs_args_t *)(void *)((char *)(f) + offsetof(ax_fs_t, ax__fs)))
#define RESULT(f) (*(int *)(void *)((char *)(f) + offsetof(ax_fs_t, result)))
#define SAME_HEAD(T)                                                       \
  _Static_assert(offsetof(T, ax__fs) == offsetof(ax_fs_t, ax__fs) &&       \
                     offsetof(T, result) == offsetof(ax_fs_t, result),     \
                 #T " begins as ax_fs_t does")
SAME_HEAD(ax_fs_open_t);
SAME_HEAD(ax_file_read_t);
SAME_HEAD(ax_file_write_t);
SAME_HEAD(ax_fs_metadata_t);
SAME_HEAD(ax_fs_exists_t);

static ax_poll_t fs_poll(ax_future_t *f, ax_cx_t *cx);
static void fs_drop(ax_future_t *f);
static const kind_t kinds[K_COUNT];

/* ---- synchronous libuv calls (pool threads only) ------------------------------- */

static int sync_open(const char *path, int flags, int mode) {
  uv_fs_t r;
  int rc = uv_fs_open(NULL, &r, path, flags, mode, NULL);
  uv_fs_req_cleanup(&r);
  return rc;
}

static int sync_close(uv_file fd) {
  uv_fs_t r;
  int rc = uv_fs_close(NULL, &r, fd, NULL);
  uv_fs_req_cleanup(&r);
  return rc;
}

/* One read(2) or pread(2) (off < 0: at the current position). */
static int64_t sync_read(uv_file fd, char *p, size_t len, int64_t off) {
  uv_fs_t r;
  uv_buf_t b = uv_buf_init(p, (unsigned)(len < IO_MAX ? len : IO_MAX));
  int64_t n;
  uv_fs_read(NULL, &r, fd, &b, 1, off, NULL);
  n = (int64_t)r.result;
  uv_fs_req_cleanup(&r);
  return n;
}

/* Writes all len bytes (off < 0: at the current position); *done says how
 * many went.  0 or an error. */
static int sync_write_all(uv_file fd, const char *p, size_t len, int64_t off,
                          size_t *done) {
  *done = 0;
  while (*done < len) {
    size_t want = len - *done;
    uv_fs_t r;
    uv_buf_t b = uv_buf_init((char *)p + *done,
                             (unsigned)(want < IO_MAX ? want : IO_MAX));
    int64_t n;
    uv_fs_write(NULL, &r, fd, &b, 1, off < 0 ? -1 : off + (int64_t)*done,
                NULL);
    n = (int64_t)r.result;
    uv_fs_req_cleanup(&r);
    if (n < 0) return (int)n;
    if (n == 0) return UV_EIO;   /* no progress: never spin */
    *done += (size_t)n;
  }
  return 0;
}

static int sync_stat(const char *path, int link, uv_stat_t *st) {
  uv_fs_t r;
  int rc = link ? uv_fs_lstat(NULL, &r, path, NULL)
                : uv_fs_stat(NULL, &r, path, NULL);
  if (rc == 0) *st = r.statbuf;
  uv_fs_req_cleanup(&r);
  return rc;
}

static int sync_mkdir(const char *path, int mode) {
  uv_fs_t r;
  int rc = uv_fs_mkdir(NULL, &r, path, mode, NULL);
  uv_fs_req_cleanup(&r);
  return rc;
}

static int sync_rmdir(const char *path) {
  uv_fs_t r;
  int rc = uv_fs_rmdir(NULL, &r, path, NULL);
  uv_fs_req_cleanup(&r);
  return rc;
}

static int sync_unlink(const char *path) {
  uv_fs_t r;
  int rc = uv_fs_unlink(NULL, &r, path, NULL);
  uv_fs_req_cleanup(&r);
  return rc;
}

static int is_dir(const char *path) {
  uv_stat_t st;
  return sync_stat(path, 0, &st) == 0 && (st.st_mode & MODE_FMT) == MODE_DIR;
}

static ax_file_type_t type_of_mode(uint64_t mode) {
  switch (mode & MODE_FMT) {
  case MODE_REG: return AX_FILE_TYPE_FILE;
  case MODE_DIR: return AX_FILE_TYPE_DIR;
  case MODE_LNK: return AX_FILE_TYPE_SYMLINK;
  default: return AX_FILE_TYPE_OTHER;
  }
}

static ax_fs_time_t time_of(uv_timespec_t t) {
  ax_fs_time_t v;
  v.sec = (int64_t)t.tv_sec;
  v.nsec = (int32_t)t.tv_nsec;
  return v;
}

static void meta_of(const uv_stat_t *st, ax_metadata_t *m) {
  m->type = type_of_mode(st->st_mode);
  m->size = st->st_size;
  m->mode = (unsigned)(st->st_mode & 07777);
  m->readonly = (st->st_mode & 0222) == 0;
  m->modified = time_of(st->st_mtim);
  m->accessed = time_of(st->st_atim);
  m->created = time_of(st->st_birthtim);
}

/* Replaces b's content with the C string s (NUL kept after len). */
static int bytes_set_str(ax_bytes_t *b, const char *s) {
  b->len = 0;
  if (ax_bytes_append(b, s, strlen(s) + 1) != 0) return AX_ENOMEM;
  b->len--;
  return 0;
}

/* ---- files: references and closing ---------------------------------------------- */

static ax_file_t *file_new(void) {
  ax_file_t *f = ax__calloc(1, sizeof(*f));
  if (f == NULL) return NULL;
  atomic_init(&f->refs, 1);
  f->fd = -1;
  ax__spin_init(&f->lock);
  ax_waker_slot_init(&f->lane_waker);
  return f;
}

static void file_free(ax_file_t *f) {
  ax_waker_slot_drop(&f->lane_waker);
  ax__free(f->unlink_path);
  ax__free(f);
}

/* Closes the descriptor (and removes a temp file nobody took) here. */
static void file_close_sync(ax_file_t *f) {
  if (f->fd >= 0) (void)sync_close(f->fd);
  f->fd = -1;
  if (f->unlink_path != NULL) (void)sync_unlink(f->unlink_path);
}

static void file_close_work(uv_work_t *w) {
  file_close_sync(ax__container_of(w, ax_file_t, close_work));
}

static void file_close_after(uv_work_t *w, int status) {
  ax_file_t *f = ax__container_of(w, ax_file_t, close_work);
  (void)status;   /* never cancelled */
  file_free(f);
}

/* On loop's thread: the close goes to the pool (here, if it cannot). */
static void file_close_on(ax_file_t *f, uv_loop_t *loop) {
  if (uv_queue_work(loop, &f->close_work, file_close_work,
                    file_close_after) == 0)
    return;
  file_close_sync(f);
  file_free(f);
}

static void file_close_op(ax__op_t *op) {
  ax_file_t *f = ax__container_of(op, ax_file_t, close_op);
  file_close_on(f, f->close_home->loop);
}

static void file_ref(ax_file_t *f) {
  atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
}

/* Drops one reference; the last closes the descriptor: right here on a pool
 * thread (on_pool), on the pool through `loop` when called on that loop's
 * thread, else through the calling thread's home, else (no runtime here)
 * on the calling thread. */
static void file_release(ax_file_t *f, uv_loop_t *loop, int on_pool) {
  ax__ctx_t *c;
  if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
    return;
  if (on_pool || f->fd < 0) {
    file_close_sync(f);
    file_free(f);
  } else if (loop != NULL) {
    file_close_on(f, loop);
  } else if ((c = ax__ctx_current()) != NULL && c->home != NULL) {
    f->close_home = c->home;
    f->close_op.fn = file_close_op;
    c->home->post(c->home, &f->close_op);
  } else {
    file_close_sync(f);
    file_free(f);
  }
}

void ax_file_close(ax_file_t *file) {
  if (file != NULL) file_release(file, NULL, 0);
}

/* ---- the lane: operations at the current position, one at a time ------------------ */

/* First poll: f takes the lane, or AX_EBUSY when another future has it. */
static int lane_claim(ax_file_t *file, const void *f) {
  int rc = 0;
  ax__spin_lock(&file->lock);
  if (file->lane_owner != NULL && file->lane_owner != f)
    rc = AX_EBUSY;
  else
    file->lane_owner = f;
  ax__spin_unlock(&file->lock);
  return rc;
}

/* The owner lets the lane go (done, or dropped). */
static void lane_leave(ax_file_t *file, const void *f) {
  ax__spin_lock(&file->lock);
  if (file->lane_owner == f) file->lane_owner = NULL;
  ax__spin_unlock(&file->lock);
}

static int lane_try_busy(ax_file_t *file) {
  int ok;
  ax__spin_lock(&file->lock);
  ok = !file->lane_busy;
  if (ok) file->lane_busy = 1;
  ax__spin_unlock(&file->lock);
  return ok;
}

/* The owner's operation may go to the pool: 1 (the lane is now busy with
 * it), or 0 with the owner's waker registered for when it may. */
static int lane_start(ax_file_t *file, ax_cx_t *cx) {
  if (lane_try_busy(file)) return 1;
  ax_waker_slot_register(&file->lane_waker, ax_cx_waker(cx));
  if (!lane_try_busy(file)) return 0;
  ax_waker_slot_drop(&file->lane_waker);
  return 1;
}

/* The lane's operation is over (any thread): wake the next owner. */
static void lane_done(ax_file_t *file) {
  ax__spin_lock(&file->lock);
  file->lane_busy = 0;
  ax__spin_unlock(&file->lock);
  ax_waker_slot_wake(&file->lane_waker);
}

/* ---- operations: life cycle --------------------------------------------------------- */

static void op_free(ax__fs_op_t *o) {
  ax__free(o->path);
  ax__free(o->path2);
  ax__free(o->buf);
  ax_bytes_free(&o->bytes);
  ax_dir_free(&o->dir);
  if (o->newfile != NULL) file_free(o->newfile);   /* never opened */
  ax_waker_slot_drop(&o->waker);
  ax__free(o);
}

static void op_unref(ax__fs_op_t *o) {
  if (atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1)
    op_free(o);
}

/* The job is over (or will never run): the lane and the file go. */
static void op_end(ax__fs_op_t *o, uv_loop_t *loop, int on_pool) {
  if (o->ended) return;
  o->ended = 1;
  if (o->lane) lane_done(o->file);
  if (o->file != NULL) file_release(o->file, loop, on_pool);
  o->file = NULL;
}

/* Pool: undoes what a finished job made, which nobody will take. */
static void op_undo_on_pool(ax__fs_op_t *o) {
  if (o->result != 0) return;
  switch (o->kind) {
  case K_OPEN:
  case K_TEMP_FILE:
    if (o->kind == K_TEMP_FILE && o->bytes.data != NULL) {
      o->newfile->unlink_path = o->bytes.data;   /* after the close */
      ax_bytes_init(&o->bytes);
    }
    file_close_sync(o->newfile);
    file_free(o->newfile);
    o->newfile = NULL;
    break;
  case K_TEMP_DIR:
    if (o->bytes.data != NULL) (void)sync_rmdir(o->bytes.data);
    break;
  default:
    break;
  }
}

/* The future tries to move the state on from S_RUNNING: 1 if it did. */
static int op_claim(ax__fs_op_t *o, int to) {
  int expect = S_RUNNING;
  return atomic_compare_exchange_strong_explicit(
      &o->state, &expect, to, memory_order_acq_rel, memory_order_acquire);
}

/* The job finished with o->result: the future's, or undone. */
static void op_complete(ax__fs_op_t *o, int on_pool) {
  if (op_claim(o, S_DONE)) {
    ax_waker_slot_wake(&o->waker);
  } else if (on_pool && o->ran) {
    op_undo_on_pool(o);
  }
}

static void op_work(uv_work_t *w) {
  ax__fs_op_t *o = ax__container_of(w, ax__fs_op_t, work);
  atomic_store_explicit(&o->picked, 1, memory_order_relaxed);
  if (atomic_load_explicit(&o->state, memory_order_acquire) == S_RUNNING) {
    o->result = kinds[o->kind].run(o);
    o->ran = 1;
  }
  op_end(o, NULL, 1);
  op_complete(o, 1);
}

static void op_after(uv_work_t *w, int status) {
  ax__fs_op_t *o = ax__container_of(w, ax__fs_op_t, work);
  o->after_ran = 1;
  if (status == UV_ECANCELED) {   /* the job never ran */
    op_end(o, w->loop, 0);
    o->result = UV_ECANCELED;
    op_complete(o, 0);
  }
  op_unref(o);   /* the job's */
}

/* Home: queues the job, unless the future is gone already. */
static void op_start(ax__op_t *op) {
  ax__fs_op_t *o = ax__container_of(op, ax__fs_op_t, start_op);
  uv_loop_t *loop = o->home->loop;
  int rc;
  if (atomic_load_explicit(&o->state, memory_order_acquire) == S_RUNNING) {
    rc = uv_queue_work(loop, &o->work, op_work, op_after);
    if (rc == 0) {
      o->submitted = 1;
      return;
    }
    o->result = rc;
  }
  op_end(o, loop, 0);
  op_complete(o, 0);
  op_unref(o);   /* the job's: there is none */
}

/* Home: a job the pool has not taken yet never runs. */
static void op_cancel(ax__op_t *op) {
  ax__fs_op_t *o = ax__container_of(op, ax__fs_op_t, cancel_op);
  if (o->submitted && !o->after_ran &&
      !atomic_load_explicit(&o->picked, memory_order_relaxed))
    (void)uv_cancel((uv_req_t *)&o->work);   /* UV_EBUSY: it runs */
  op_unref(o);
}

/* An operation with no future (cleaning up after one that was dropped):
 * on the calling thread's home, or here outside any runtime. */
static void op_detached(int kind, char *path) {
  ax__ctx_t *c = ax__ctx_current();
  ax__fs_op_t *o = NULL;
  if (c != NULL && c->home != NULL) o = ax__calloc(1, sizeof(*o));
  if (o == NULL) {
    ax__fs_op_t tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.path = path;
    (void)kinds[kind].run(&tmp);
    ax__free(path);
    return;
  }
  o->kind = kind;
  o->path = path;
  atomic_init(&o->refs, 1);
  atomic_init(&o->state, S_RUNNING);
  ax_waker_slot_init(&o->waker);
  o->home = c->home;
  o->start_op.fn = op_start;
  o->home->post(o->home, &o->start_op);
}

/* The future is dropped while the operation is in flight. */
static void op_abandon(ax__fs_op_t *o) {
  if (op_claim(o, S_ABANDONED)) {
    ax_waker_slot_drop(&o->waker);
    if (!atomic_load_explicit(&o->picked, memory_order_relaxed)) {
      atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
      o->cancel_op.fn = op_cancel;
      o->home->post(o->home, &o->cancel_op);
    }
  } else if (o->result == 0) {
    /* Finished, never taken: what it made is nobody's. */
    ax_waker_slot_drop(&o->waker);
    if (o->kind == K_OPEN || o->kind == K_TEMP_FILE) {
      if (o->kind == K_TEMP_FILE) {
        o->newfile->unlink_path = o->bytes.data;
        ax_bytes_init(&o->bytes);
      }
      ax_file_close(o->newfile);
      o->newfile = NULL;
    } else if (o->kind == K_TEMP_DIR && o->bytes.data != NULL) {
      op_detached(K_RMDIR, o->bytes.data);
      ax_bytes_init(&o->bytes);
    }
  }
  op_unref(o);   /* the future's */
}

/* ---- the jobs --------------------------------------------------------------------------- */

static int run_read_file(ax__fs_op_t *o) {
  ax_bytes_t *b = &o->bytes;
  uv_fs_t r;
  size_t want = 0;
  int64_t n;
  int rc = 0;
  uv_file fd = sync_open(o->path, UV_FS_O_RDONLY, 0);
  if (fd < 0) return fd;
  if (uv_fs_fstat(NULL, &r, fd, NULL) == 0 &&
      (r.statbuf.st_mode & MODE_FMT) == MODE_REG && r.statbuf.st_size < SIZE_MAX / 2)
    want = (size_t)r.statbuf.st_size;
  uv_fs_req_cleanup(&r);
  /* Room for what fstat says, the '\0', and one more byte to see the end
   * in the same pass when the size was right. */
  if (want + 2 > 8192 && (b->data = ax__malloc(want + 2)) != NULL)
    b->cap = want + 2;
  for (;;) {
    if (b->cap - b->len < 2) {
      size_t cap = b->cap < 8192 ? 8192 : b->cap * 2;
      char *p = cap > b->cap ? ax__realloc(b->data, cap) : NULL;
      if (p == NULL) {
        rc = AX_ENOMEM;
        break;
      }
      b->data = p;
      b->cap = cap;
    }
    n = sync_read(fd, b->data + b->len, b->cap - b->len - 1, -1);
    if (n <= 0) {
      rc = (int)n;
      break;
    }
    b->len += (size_t)n;
  }
  (void)sync_close(fd);
  if (rc != 0) {
    ax_bytes_free(b);
    return rc;
  }
  b->data[b->len] = '\0';
  return 0;
}

static int run_write_file(ax__fs_op_t *o) {
  int rc, rc2;
  uv_file fd = sync_open(o->path,
                         UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_TRUNC, 0666);
  if (fd < 0) return fd;
  rc = sync_write_all(fd, o->buf, o->len, -1, &o->n);
  rc2 = sync_close(fd);
  return rc != 0 ? rc : rc2;
}

static int run_open(ax__fs_op_t *o) {
  uv_file fd = sync_open(o->path, o->flags, o->num ? (int)o->num : 0666);
  if (fd < 0) return fd;
  o->newfile->fd = fd;
  return 0;
}

static int run_read(ax__fs_op_t *o) {
  int64_t n = sync_read(o->file->fd, o->buf, o->len,
                        o->kind == K_READ ? -1 : (int64_t)o->num);
  if (n < 0) return (int)n;
  o->n = (size_t)n;
  return 0;
}

static int run_write(ax__fs_op_t *o) {
  return sync_write_all(o->file->fd, o->buf, o->len,
                        o->kind == K_WRITE ? -1 : (int64_t)o->num, &o->n);
}

static int run_fd_call(ax__fs_op_t *o) {
  uv_fs_t r;
  int rc;
  switch (o->kind) {
  case K_SYNC_ALL: rc = uv_fs_fsync(NULL, &r, o->file->fd, NULL); break;
  case K_SYNC_DATA: rc = uv_fs_fdatasync(NULL, &r, o->file->fd, NULL); break;
  case K_SET_LEN:
    rc = uv_fs_ftruncate(NULL, &r, o->file->fd, (int64_t)o->num, NULL);
    break;
  default: /* K_FSTAT */
    rc = uv_fs_fstat(NULL, &r, o->file->fd, NULL);
    if (rc == 0) meta_of(&r.statbuf, &o->meta);
    break;
  }
  uv_fs_req_cleanup(&r);
  return rc;
}

static int run_stat(ax__fs_op_t *o) {
  uv_stat_t st;
  int rc = sync_stat(o->path, o->kind == K_LSTAT, &st);
  if (rc == 0) meta_of(&st, &o->meta);
  return rc;
}

static int run_exists(ax__fs_op_t *o) {
  uv_stat_t st;
  int rc = sync_stat(o->path, 0, &st);
  o->exists = rc == 0;
  return rc == UV_ENOENT ? 0 : rc;
}

/* The calls on one or two paths that return nothing but a result. */
static int run_path_call(ax__fs_op_t *o) {
  uv_fs_t r;
  int rc;
  switch (o->kind) {
  case K_CHMOD: rc = uv_fs_chmod(NULL, &r, o->path, (int)o->num, NULL); break;
  case K_RENAME: rc = uv_fs_rename(NULL, &r, o->path, o->path2, NULL); break;
  case K_UNLINK: rc = uv_fs_unlink(NULL, &r, o->path, NULL); break;
  case K_RMDIR: rc = uv_fs_rmdir(NULL, &r, o->path, NULL); break;
  case K_MKDIR: rc = uv_fs_mkdir(NULL, &r, o->path, 0777, NULL); break;
  case K_COPY: rc = uv_fs_copyfile(NULL, &r, o->path, o->path2, 0, NULL); break;
  case K_LINK: rc = uv_fs_link(NULL, &r, o->path, o->path2, NULL); break;
  default: /* K_SYMLINK */
    rc = uv_fs_symlink(NULL, &r, o->path, o->path2, 0, NULL);
    break;
  }
  uv_fs_req_cleanup(&r);
  return rc;
}

/* read_link, canonicalize: a path out. */
static int run_path_out(ax__fs_op_t *o) {
  uv_fs_t r;
  int rc = o->kind == K_READLINK ? uv_fs_readlink(NULL, &r, o->path, NULL)
                                 : uv_fs_realpath(NULL, &r, o->path, NULL);
  if (rc == 0) rc = bytes_set_str(&o->bytes, (const char *)r.ptr);
  uv_fs_req_cleanup(&r);
  return rc;
}

static int is_sep(char c) {
#ifdef _WIN32
  if (c == '\\') return 1;
#endif
  return c == '/';
}

/* create_dir_all, as Rust's: mkdir the path; when its parent is missing,
 * make the parent first (going up until a mkdir works or finds a
 * directory), then each component going down again.  Someone else making
 * a directory meanwhile is success, as it would be in Rust. */
static int run_mkdir_all(ax__fs_op_t *o) {
  char *p = o->path;
  size_t len = strlen(p), i = 0, n = 0, *ends;
  int rc = 0, k;
  while (len > 1 && is_sep(p[len - 1])) p[--len] = '\0';
  if (len == 0) return 0;
  if ((ends = ax__malloc((len / 2 + 1) * sizeof(*ends))) == NULL)
    return AX_ENOMEM;
  while (i < len) {   /* where each component ends */
    while (i < len && is_sep(p[i])) i++;
    if (i == len) break;
    while (i < len && !is_sep(p[i])) i++;
    ends[n++] = i;
  }
  for (k = (int)n - 1; k >= 0; k--) {   /* up, to the first that works */
    char save = p[ends[k]];
    p[ends[k]] = '\0';
    rc = sync_mkdir(p, 0777);
    if (rc != 0 && rc != UV_ENOENT && is_dir(p)) rc = 0;
    p[ends[k]] = save;
    if (rc != UV_ENOENT) break;
  }
  for (k++; rc == 0 && k < (int)n; k++) {   /* down, making each */
    char save = p[ends[k]];
    p[ends[k]] = '\0';
    rc = sync_mkdir(p, 0777);
    if (rc != 0 && is_dir(p)) rc = 0;
    p[ends[k]] = save;
  }
  ax__free(ends);
  return rc;
}

/* Removes what p (NUL-terminated, p->len without it) names: a directory
 * with everything in it, anything else (symlinks too) by unlink.  type:
 * what read_dir said it is, AX_FILE_TYPE_OTHER when unsure. */
static int rm_tree(ax_bytes_t *p, ax_file_type_t type) {
  uv_fs_t r;
  uv_dirent_t ent;
  size_t base = p->len;
  int rc;
  if (type != AX_FILE_TYPE_DIR) {
    uv_stat_t st;
    if ((rc = sync_stat(p->data, 1, &st)) != 0) return rc;
    if ((st.st_mode & MODE_FMT) != MODE_DIR) return sync_unlink(p->data);
  }
  if ((rc = uv_fs_scandir(NULL, &r, p->data, 0, NULL)) < 0) {
    uv_fs_req_cleanup(&r);
    return rc;
  }
  rc = 0;
  /* Every listing is read to UV_EOF, errors or not: libuv's cleanup
   * leaks the last entry of a listing read up to its last entry and no
   * further (libuv 1.44, uv__fs_scandir_cleanup). */
  while (uv_fs_scandir_next(&r, &ent) == 0) {
    ax_file_type_t t = ent.type == UV_DIRENT_DIR ? AX_FILE_TYPE_DIR
                                                 : AX_FILE_TYPE_OTHER;
    if (rc != 0) continue;
    p->len = base;
    if (ax_bytes_append(p, SEP, 1) != 0 ||
        ax_bytes_append(p, ent.name, strlen(ent.name) + 1) != 0) {
      rc = AX_ENOMEM;
      continue;
    }
    p->len--;
    if (t == AX_FILE_TYPE_OTHER && ent.type != UV_DIRENT_UNKNOWN) {
      rc = sync_unlink(p->data);
    } else {
      rc = rm_tree(p, t);
    }
    if (rc == UV_ENOENT) rc = 0;   /* gone already */
  }
  uv_fs_req_cleanup(&r);
  p->len = base;
  p->data[base] = '\0';
  return rc != 0 ? rc : sync_rmdir(p->data);
}

static int run_rmdir_all(ax__fs_op_t *o) {
  ax_bytes_t p;
  uv_stat_t st;
  int rc = sync_stat(o->path, 1, &st);
  if (rc != 0) return rc;
  if ((st.st_mode & MODE_FMT) == MODE_LNK) return sync_unlink(o->path);
  if ((st.st_mode & MODE_FMT) != MODE_DIR) return UV_ENOTDIR;
  ax_bytes_init(&p);
  if (bytes_set_str(&p, o->path) != 0) return AX_ENOMEM;
  rc = rm_tree(&p, AX_FILE_TYPE_DIR);
  ax_bytes_free(&p);
  return rc;
}

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const ax_dir_entry_t *)a)->name,
                ((const ax_dir_entry_t *)b)->name);
}

static ax_file_type_t type_of_dirent(uv_dirent_type_t t) {
  switch (t) {
  case UV_DIRENT_FILE: return AX_FILE_TYPE_FILE;
  case UV_DIRENT_DIR: return AX_FILE_TYPE_DIR;
  case UV_DIRENT_LINK: return AX_FILE_TYPE_SYMLINK;
  default: return AX_FILE_TYPE_OTHER;
  }
}

/* The listing as one block: the entries, then their names. */
static int run_read_dir(ax__fs_op_t *o) {
  uv_fs_t r;
  uv_dirent_t ent;
  ax_bytes_t names, full;
  ax_file_type_t *types = NULL;
  size_t n = 0, cap, i, off;
  char *block;
  int rc = uv_fs_scandir(NULL, &r, o->path, 0, NULL);
  if (rc < 0) {
    uv_fs_req_cleanup(&r);
    return rc;
  }
  cap = (size_t)rc;
  rc = 0;
  ax_bytes_init(&names);
  ax_bytes_init(&full);
  if (cap > 0 && (types = ax__malloc(cap * sizeof(*types))) == NULL)
    rc = AX_ENOMEM;
  while (uv_fs_scandir_next(&r, &ent) == 0) {   /* to UV_EOF: see rm_tree */
    ax_file_type_t t = type_of_dirent(ent.type);
    if (rc != 0 || n == cap) continue;
    if (ent.type == UV_DIRENT_UNKNOWN) {   /* the file system did not say */
      uv_stat_t st;
      full.len = 0;
      if (ax_bytes_append(&full, o->path, strlen(o->path)) != 0 ||
          ax_bytes_append(&full, SEP, 1) != 0 ||
          ax_bytes_append(&full, ent.name, strlen(ent.name) + 1) != 0) {
        rc = AX_ENOMEM;
        continue;
      }
      if (sync_stat(full.data, 1, &st) == 0) t = type_of_mode(st.st_mode);
    }
    if (ax_bytes_append(&names, ent.name, strlen(ent.name) + 1) != 0) {
      rc = AX_ENOMEM;
      continue;
    }
    types[n++] = t;
  }
  uv_fs_req_cleanup(&r);
  ax_bytes_free(&full);
  if (rc == 0 && n > 0) {
    block = ax__malloc(n * sizeof(ax_dir_entry_t) + names.len);
    if (block == NULL) {
      rc = AX_ENOMEM;
    } else {
      ax_dir_entry_t *e = (ax_dir_entry_t *)(void *)block;
      char *s = block + n * sizeof(ax_dir_entry_t);
      memcpy(s, names.data, names.len);
      for (i = 0, off = 0; i < n; i++) {
        e[i].name = s + off;
        e[i].type = types[i];
        off += strlen(s + off) + 1;
      }
      qsort(e, n, sizeof(*e), entry_cmp);
      o->dir.entries = e;
      o->dir.len = n;
    }
  }
  ax_bytes_free(&names);
  ax__free(types);
  return rc;
}

/* tmpl, or "<temp dir>/axle-XXXXXX" when the future gave none. */
static int temp_template(ax__fs_op_t *o) {
  char dir[1024];
  size_t len = sizeof(dir);
  int rc;
  if (o->path != NULL) return 0;
  if ((rc = uv_os_tmpdir(dir, &len)) != 0) return rc;
  if ((o->path = ax__malloc(len + sizeof(SEP "axle-XXXXXX"))) == NULL)
    return AX_ENOMEM;
  memcpy(o->path, dir, len);
  memcpy(o->path + len, SEP "axle-XXXXXX", sizeof(SEP "axle-XXXXXX"));
  return 0;
}

static int run_temp(ax__fs_op_t *o) {
  uv_fs_t r;
  int rc = temp_template(o);
  if (rc != 0) return rc;
  if (o->kind == K_TEMP_FILE)
    rc = uv_fs_mkstemp(NULL, &r, o->path, NULL);
  else
    rc = uv_fs_mkdtemp(NULL, &r, o->path, NULL);
  if (rc >= 0) {
    if (bytes_set_str(&o->bytes, r.path) != 0) {
      /* Nobody could learn its name: it goes again. */
      if (o->kind == K_TEMP_FILE) {
        (void)sync_close(rc);
        (void)sync_unlink(r.path);
      } else {
        (void)sync_rmdir(r.path);
      }
      rc = AX_ENOMEM;
    } else if (o->kind == K_TEMP_FILE) {
      o->newfile->fd = rc;
      rc = 0;
    } else {
      rc = 0;
    }
  }
  uv_fs_req_cleanup(&r);
  return rc;
}

#define KIND(name, takes, run) {{fs_poll, fs_drop, name}, takes, run}
static const kind_t kinds[K_COUNT] = {
    [K_READ_FILE] = KIND("ax_fs_read_file", T_PATH | T_OUT, run_read_file),
    [K_WRITE_FILE] = KIND("ax_fs_write_file", T_PATH | T_BUF, run_write_file),
    [K_OPEN] = KIND("ax_fs_open", T_PATH, run_open),
    [K_READ] = KIND("ax_file_read", T_FILE | T_LANE | T_BUF, run_read),
    [K_READ_AT] = KIND("ax_file_read_at", T_FILE | T_BUF, run_read),
    [K_WRITE] = KIND("ax_file_write_all", T_FILE | T_LANE | T_BUF, run_write),
    [K_WRITE_AT] = KIND("ax_file_write_all_at", T_FILE | T_BUF, run_write),
    [K_SYNC_ALL] = KIND("ax_file_sync_all", T_FILE | T_LANE, run_fd_call),
    [K_SYNC_DATA] = KIND("ax_file_sync_data", T_FILE | T_LANE, run_fd_call),
    [K_SET_LEN] = KIND("ax_file_set_len", T_FILE | T_LANE, run_fd_call),
    [K_FSTAT] = KIND("ax_file_metadata", T_FILE, run_fd_call),
    [K_STAT] = KIND("ax_fs_metadata", T_PATH, run_stat),
    [K_LSTAT] = KIND("ax_fs_symlink_metadata", T_PATH, run_stat),
    [K_EXISTS] = KIND("ax_fs_exists", T_PATH, run_exists),
    [K_CHMOD] = KIND("ax_fs_set_permissions", T_PATH, run_path_call),
    [K_RENAME] = KIND("ax_fs_rename", T_PATH | T_PATH2, run_path_call),
    [K_UNLINK] = KIND("ax_fs_remove_file", T_PATH, run_path_call),
    [K_RMDIR] = KIND("ax_fs_remove_dir", T_PATH, run_path_call),
    [K_RMDIR_ALL] = KIND("ax_fs_remove_dir_all", T_PATH, run_rmdir_all),
    [K_MKDIR] = KIND("ax_fs_create_dir", T_PATH, run_path_call),
    [K_MKDIR_ALL] = KIND("ax_fs_create_dir_all", T_PATH, run_mkdir_all),
    [K_READ_DIR] = KIND("ax_fs_read_dir", T_PATH | T_OUT, run_read_dir),
    [K_COPY] = KIND("ax_fs_copy", T_PATH | T_PATH2, run_path_call),
    [K_LINK] = KIND("ax_fs_hard_link", T_PATH | T_PATH2, run_path_call),
    [K_SYMLINK] = KIND("ax_fs_symlink", T_PATH | T_PATH2, run_path_call),
    [K_READLINK] = KIND("ax_fs_read_link", T_PATH | T_OUT, run_path_out),
    [K_REALPATH] = KIND("ax_fs_canonicalize", T_PATH | T_OUT, run_path_out),
    /* (Their path, the template, may be NULL.) */
    [K_TEMP_FILE] = KIND("ax_fs_temp_file", T_OUT, run_temp),
    [K_TEMP_DIR] = KIND("ax_fs_temp_dir", T_OUT, run_temp),
};
#undef KIND

/* ---- the future ------------------------------------------------------------------------ */

/* OpenOptions' rules (Rust's std, unix): the uv flags, or AX_EINVAL. */
static int open_flags(int f, int *out) {
  int rd = (f & AX_FS_READ) != 0, wr = (f & AX_FS_WRITE) != 0;
  int ap = (f & AX_FS_APPEND) != 0, tr = (f & AX_FS_TRUNCATE) != 0;
  int cr = (f & AX_FS_CREATE) != 0, cn = (f & AX_FS_CREATE_NEW) != 0;
  int uvf;
  if ((f & ~0x3f) != 0 || (!rd && !wr && !ap)) return AX_EINVAL;
  if (!wr && !ap && (tr || cr || cn)) return AX_EINVAL;
  if (ap && tr && !cn) return AX_EINVAL;
  uvf = rd && (wr || ap) ? UV_FS_O_RDWR
                         : (wr || ap) ? UV_FS_O_WRONLY : UV_FS_O_RDONLY;
  if (ap) uvf |= UV_FS_O_APPEND;
  if (cn)
    uvf |= UV_FS_O_CREAT | UV_FS_O_EXCL;
  else
    uvf |= (cr ? UV_FS_O_CREAT : 0) | (tr ? UV_FS_O_TRUNC : 0);
  *out = uvf;
  return 0;
}

/* What the first poll can tell: 0, or the error the future completes
 * with at once. */
static int args_check(const ax__fs_args_t *a) {
  unsigned t = kinds[a->kind].takes;
  int uvf;
  if ((t & T_PATH) && a->path == NULL) return AX_EINVAL;
  if ((t & T_PATH2) && a->path2 == NULL) return AX_EINVAL;
  if ((t & T_FILE) && a->file == NULL) return AX_EINVAL;
  if ((t & T_OUT) && a->out == NULL) return AX_EINVAL;
  if ((t & T_BUF) && a->buf == NULL && a->len > 0) return AX_EINVAL;
  if (a->kind == K_OPEN && open_flags(a->flags, &uvf) != 0) return AX_EINVAL;
  if ((a->kind == K_READ_AT || a->kind == K_WRITE_AT) &&
      a->num > (uint64_t)INT64_MAX)
    return AX_EINVAL;
  if (a->kind == K_SET_LEN && a->num > (uint64_t)INT64_MAX) return AX_EINVAL;
  if (ax__ctx_current() == NULL) return AX_ENORUNTIME;
  return 0;
}

/* Copies what the job needs: 0 or AX_ENOMEM. */
static int op_fill(ax__fs_op_t *o, const ax__fs_args_t *a) {
  if (a->path != NULL && (o->path = ax__strdup(a->path)) == NULL)
    return AX_ENOMEM;
  if (a->path2 != NULL && (o->path2 = ax__strdup(a->path2)) == NULL)
    return AX_ENOMEM;
  o->num = a->num;
  switch (a->kind) {
  case K_READ:
  case K_READ_AT:
    o->len = a->len < IO_MAX ? a->len : IO_MAX;
    if ((o->buf = ax__malloc(o->len)) == NULL) return AX_ENOMEM;
    break;
  case K_WRITE:
  case K_WRITE_AT:
  case K_WRITE_FILE:
    o->len = a->len;
    if (a->len > 0) {
      if ((o->buf = ax__malloc(a->len)) == NULL) return AX_ENOMEM;
      memcpy(o->buf, a->buf, a->len);
    }
    break;
  case K_OPEN:
  case K_TEMP_FILE:
    if (a->kind == K_OPEN) (void)open_flags(a->flags, &o->flags);
    if ((o->newfile = file_new()) == NULL) return AX_ENOMEM;
    break;
  default:
    break;
  }
  return 0;
}

/* The operation for a future's first trip to the pool (not yet posted):
 * NULL with *err set when it cannot be made. */
static ax__fs_op_t *op_new(const ax__fs_args_t *a, int *err) {
  unsigned t = kinds[a->kind].takes;
  ax__fs_op_t *o = ax__calloc(1, sizeof(*o));
  if (o == NULL) {
    *err = AX_ENOMEM;
    return NULL;
  }
  o->kind = a->kind;
  atomic_init(&o->refs, 2);   /* the future's and the job's */
  atomic_init(&o->state, S_RUNNING);
  atomic_init(&o->picked, 0);
  ax_waker_slot_init(&o->waker);
  if ((*err = op_fill(o, a)) != 0) {
    op_free(o);
    return NULL;
  }
  if (t & T_FILE) {
    file_ref(a->file);
    o->file = a->file;
    o->lane = (t & T_LANE) != 0;
  }
  o->home = ax__ctx_current()->home;
  o->start_op.fn = op_start;
  return o;
}

/* Writes the outputs of a finished operation into the future. */
static void op_take(ax_future_t *f, ax__fs_op_t *o) {
  ax__fs_args_t *a = ARGS(f);
  RESULT(f) = o->result;
  switch (o->kind) {
  case K_READ:
  case K_READ_AT:
    if (o->result == 0) {
      memcpy(a->buf, o->buf, o->n);
      ((ax_file_read_t *)f)->nread = o->n;
    }
    return;
  case K_WRITE:
  case K_WRITE_AT:
    ((ax_file_write_t *)f)->nwritten = o->n;
    return;
  case K_FSTAT:
  case K_STAT:
  case K_LSTAT:
    if (o->result == 0) ((ax_fs_metadata_t *)f)->metadata = o->meta;
    return;
  case K_EXISTS:
    if (o->result == 0) ((ax_fs_exists_t *)f)->exists = o->exists;
    return;
  case K_OPEN:
  case K_TEMP_FILE:
    if (o->result == 0) {
      ((ax_fs_open_t *)f)->file = o->newfile;
      o->newfile = NULL;
    }
    break;
  case K_READ_DIR:
    if (o->result == 0) {
      ax_dir_free(a->out);
      *(ax_dir_t *)a->out = o->dir;
      ax_dir_init(&o->dir);
    }
    return;
  default:
    break;
  }
  /* read_file, read_link, canonicalize, temp_*: the bytes. */
  if (o->result == 0 && (kinds[o->kind].takes & T_OUT)) {
    ax_bytes_free(a->out);
    *(ax_bytes_t *)a->out = o->bytes;
    ax_bytes_init(&o->bytes);
  }
}

static ax_poll_t fs_poll(ax_future_t *f, ax_cx_t *cx) {
  ax__fs_args_t *a = ARGS(f);
  unsigned t = kinds[a->kind].takes;
  ax__fs_op_t *o;
  int rc;
  switch (a->phase) {
  case PH_DONE:
    return AX_READY;
  case PH_NEW:
    if ((rc = args_check(a)) != 0) goto fail;
    if ((t & T_BUF) && a->len == 0 && a->kind != K_WRITE_FILE) {
      a->phase = PH_DONE;   /* nothing to read or write */
      return AX_READY;
    }
    if (t & T_LANE) {
      if ((rc = lane_claim(a->file, f)) != 0) goto fail;
      a->phase = PH_LANE;
    } else {
      a->phase = PH_RUN;
    }
    break;
  default:
    break;
  }
  if (a->phase == PH_LANE) {
    if (!lane_start(a->file, cx)) return AX_PENDING;
    a->phase = PH_RUN;
  }
  if ((o = a->op) == NULL) {   /* to the pool, through the home */
    if ((o = op_new(a, &rc)) == NULL) {
      if (t & T_LANE) {
        lane_done(a->file);
        lane_leave(a->file, f);
      }
      goto fail;
    }
    a->op = o;
    ax_waker_slot_register(&o->waker, ax_cx_waker(cx));
    o->home->post(o->home, &o->start_op);
  } else {
    ax_waker_slot_register(&o->waker, ax_cx_waker(cx));
  }
  if (atomic_load_explicit(&o->state, memory_order_acquire) != S_DONE)
    return AX_PENDING;
  op_take(f, o);
  if (t & T_LANE) lane_leave(a->file, f);
  a->op = NULL;
  a->phase = PH_DONE;
  op_unref(o);
  return AX_READY;
fail:
  RESULT(f) = rc;
  a->phase = PH_DONE;
  return AX_READY;
}

static void fs_drop(ax_future_t *f) {
  ax__fs_args_t *a = ARGS(f);
  if (a->phase == PH_LANE) {
    lane_leave(a->file, f);
    ax_waker_slot_drop(&a->file->lane_waker);
  } else if (a->phase == PH_RUN && a->op != NULL) {
    if (kinds[a->kind].takes & T_LANE) lane_leave(a->file, f);
    op_abandon(a->op);
    a->op = NULL;
  }
  a->phase = PH_DONE;
}

/* Fills in the future's common part. */
static ax_future_t *fs_init(ax_future_t *f, ax__fs_args_t *a, int kind,
                            const char *path, const char *path2) {
  memset(a, 0, sizeof(*a));
  f->vtable = &kinds[kind].vt;
  a->kind = kind;
  a->path = path;
  a->path2 = path2;
  RESULT(f) = 0;
  return f;
}

/* ---- constructors ------------------------------------------------------------------------ */

void ax_dir_free(ax_dir_t *d) {
  if (d == NULL) return;
  ax__free(d->entries);   /* one block: the entries and their names */
  ax_dir_init(d);
}

ax_future_t *ax_fs_read_file(ax_fs_t *f, const char *path, ax_bytes_t *out) {
  fs_init(&f->base, &f->ax__fs, K_READ_FILE, path, NULL);
  f->ax__fs.out = out;
  return &f->base;
}

ax_future_t *ax_fs_write_file(ax_fs_t *f, const char *path, const void *buf,
                              size_t len) {
  fs_init(&f->base, &f->ax__fs, K_WRITE_FILE, path, NULL);
  f->ax__fs.buf = (void *)(uintptr_t)buf;
  f->ax__fs.len = len;
  return &f->base;
}

ax_future_t *ax_fs_open(ax_fs_open_t *f, const char *path, int flags,
                        unsigned mode) {
  fs_init(&f->base, &f->ax__fs, K_OPEN, path, NULL);
  f->ax__fs.flags = flags;
  f->ax__fs.num = mode;
  f->file = NULL;
  return &f->base;
}

static ax_future_t *file_read_init(ax_file_read_t *f, int kind,
                                   ax_file_t *file, void *buf, size_t len,
                                   uint64_t offset) {
  fs_init(&f->base, &f->ax__fs, kind, NULL, NULL);
  f->ax__fs.file = file;
  f->ax__fs.buf = buf;
  f->ax__fs.len = len;
  f->ax__fs.num = offset;
  f->nread = 0;
  return &f->base;
}

ax_future_t *ax_file_read(ax_file_read_t *f, ax_file_t *file, void *buf,
                          size_t len) {
  return file_read_init(f, K_READ, file, buf, len, 0);
}

ax_future_t *ax_file_read_at(ax_file_read_t *f, ax_file_t *file, void *buf,
                             size_t len, uint64_t offset) {
  return file_read_init(f, K_READ_AT, file, buf, len, offset);
}

static ax_future_t *file_write_init(ax_file_write_t *f, int kind,
                                    ax_file_t *file, const void *buf,
                                    size_t len, uint64_t offset) {
  fs_init(&f->base, &f->ax__fs, kind, NULL, NULL);
  f->ax__fs.file = file;
  f->ax__fs.buf = (void *)(uintptr_t)buf;
  f->ax__fs.len = len;
  f->ax__fs.num = offset;
  f->nwritten = 0;
  return &f->base;
}

ax_future_t *ax_file_write_all(ax_file_write_t *f, ax_file_t *file,
                               const void *buf, size_t len) {
  return file_write_init(f, K_WRITE, file, buf, len, 0);
}

ax_future_t *ax_file_write_all_at(ax_file_write_t *f, ax_file_t *file,
                                  const void *buf, size_t len,
                                  uint64_t offset) {
  return file_write_init(f, K_WRITE_AT, file, buf, len, offset);
}

static ax_future_t *file_call_init(ax_fs_t *f, int kind, ax_file_t *file,
                                   uint64_t num) {
  fs_init(&f->base, &f->ax__fs, kind, NULL, NULL);
  f->ax__fs.file = file;
  f->ax__fs.num = num;
  return &f->base;
}

ax_future_t *ax_file_sync_all(ax_fs_t *f, ax_file_t *file) {
  return file_call_init(f, K_SYNC_ALL, file, 0);
}

ax_future_t *ax_file_sync_data(ax_fs_t *f, ax_file_t *file) {
  return file_call_init(f, K_SYNC_DATA, file, 0);
}

ax_future_t *ax_file_set_len(ax_fs_t *f, ax_file_t *file, uint64_t len) {
  return file_call_init(f, K_SET_LEN, file, len);
}

static ax_future_t *metadata_init(ax_fs_metadata_t *f, int kind,
                                  const char *path, ax_file_t *file) {
  fs_init(&f->base, &f->ax__fs, kind, path, NULL);
  f->ax__fs.file = file;
  memset(&f->metadata, 0, sizeof(f->metadata));
  return &f->base;
}

ax_future_t *ax_file_metadata(ax_fs_metadata_t *f, ax_file_t *file) {
  return metadata_init(f, K_FSTAT, NULL, file);
}

ax_future_t *ax_fs_metadata(ax_fs_metadata_t *f, const char *path) {
  return metadata_init(f, K_STAT, path, NULL);
}

ax_future_t *ax_fs_symlink_metadata(ax_fs_metadata_t *f, const char *path) {
  return metadata_init(f, K_LSTAT, path, NULL);
}

ax_future_t *ax_fs_exists(ax_fs_exists_t *f, const char *path) {
  fs_init(&f->base, &f->ax__fs, K_EXISTS, path, NULL);
  f->exists = 0;
  return &f->base;
}

ax_future_t *ax_fs_set_permissions(ax_fs_t *f, const char *path,
                                   unsigned mode) {
  fs_init(&f->base, &f->ax__fs, K_CHMOD, path, NULL);
  f->ax__fs.num = mode;
  return &f->base;
}

ax_future_t *ax_fs_rename(ax_fs_t *f, const char *from, const char *to) {
  return fs_init(&f->base, &f->ax__fs, K_RENAME, from, to);
}

ax_future_t *ax_fs_remove_file(ax_fs_t *f, const char *path) {
  return fs_init(&f->base, &f->ax__fs, K_UNLINK, path, NULL);
}

ax_future_t *ax_fs_remove_dir(ax_fs_t *f, const char *path) {
  return fs_init(&f->base, &f->ax__fs, K_RMDIR, path, NULL);
}

ax_future_t *ax_fs_remove_dir_all(ax_fs_t *f, const char *path) {
  return fs_init(&f->base, &f->ax__fs, K_RMDIR_ALL, path, NULL);
}

ax_future_t *ax_fs_create_dir(ax_fs_t *f, const char *path) {
  return fs_init(&f->base, &f->ax__fs, K_MKDIR, path, NULL);
}

ax_future_t *ax_fs_create_dir_all(ax_fs_t *f, const char *path) {
  return fs_init(&f->base, &f->ax__fs, K_MKDIR_ALL, path, NULL);
}

ax_future_t *ax_fs_read_dir(ax_fs_t *f, const char *path, ax_dir_t *out) {
  fs_init(&f->base, &f->ax__fs, K_READ_DIR, path, NULL);
  f->ax__fs.out = out;
  return &f->base;
}

ax_future_t *ax_fs_copy(ax_fs_t *f, const char *from, const char *to) {
  return fs_init(&f->base, &f->ax__fs, K_COPY, from, to);
}

ax_future_t *ax_fs_hard_link(ax_fs_t *f, const char *original,
                             const char *link) {
  return fs_init(&f->base, &f->ax__fs, K_LINK, original, link);
}

ax_future_t *ax_fs_symlink(ax_fs_t *f, const char *original,
                           const char *link) {
  return fs_init(&f->base, &f->ax__fs, K_SYMLINK, original, link);
}

ax_future_t *ax_fs_read_link(ax_fs_t *f, const char *path, ax_bytes_t *out) {
  fs_init(&f->base, &f->ax__fs, K_READLINK, path, NULL);
  f->ax__fs.out = out;
  return &f->base;
}

ax_future_t *ax_fs_canonicalize(ax_fs_t *f, const char *path,
                                ax_bytes_t *out) {
  fs_init(&f->base, &f->ax__fs, K_REALPATH, path, NULL);
  f->ax__fs.out = out;
  return &f->base;
}

ax_future_t *ax_fs_temp_file(ax_fs_open_t *f, const char *tmpl,
                             ax_bytes_t *path) {
  fs_init(&f->base, &f->ax__fs, K_TEMP_FILE, tmpl, NULL);
  f->ax__fs.out = path;
  f->file = NULL;
  return &f->base;
}

ax_future_t *ax_fs_temp_dir(ax_fs_t *f, const char *tmpl, ax_bytes_t *path) {
  fs_init(&f->base, &f->ax__fs, K_TEMP_DIR, tmpl, NULL);
  f->ax__fs.out = path;
  return &f->base;
}
