/* Files and directories (include/axle/fs.h), on both runtime flavours:
 * whole files, open flags, reads and writes at the position and at an
 * offset, metadata, directories (create_dir_all of a deep path, read_dir,
 * remove_dir_all), copy, exists, links, temporary files and directories,
 * errors as results; and cancellation: every future dropped never polled,
 * while its job waits for a pool thread (it never runs), while the job
 * runs (a FIFO keeps it running: the caller's buffer is never touched
 * again; ASan and valgrind watch), after the job finished but before the
 * future took the result (what it made is closed and removed), and
 * runtime shutdown with operations in flight.
 *
 * Each test works in a directory of its own under the system's temporary
 * directory, made with libuv's synchronous mkdtemp and removed at the end
 * with ax_fs_remove_dir_all (checked gone with a synchronous stat).
 * Assertions run on the test thread: inside the block_on future (which
 * both flavours poll on the calling thread) or after it.  Nothing measures
 * time: waits are for events (a latch, a wake count, a FIFO's bytes).
 *
 * Windows (wine): symlinks, permission bits and FIFOs are skipped, each
 * with a message saying so.
 */
#include <stdio.h>
#include <string.h>

#ifndef _WIN32
#  include <fcntl.h>
#  include <poll.h>
#  include <sys/ioctl.h>
#  include <sys/stat.h>
#  include <unistd.h>
#endif

#include "helpers.h"

#define SKIP_ON_WINDOWS(what)                                                \
  do {                                                                       \
    printf("skipped on Windows: %s\n", what);                                \
  } while (0)

/* ---- the test's directory ------------------------------------------------ */

typedef struct {
  char dir[600];
} tdir_t;

static void tdir_make(tdir_t *d) {
  char tmp[512];
  size_t n = sizeof(tmp);
  uv_fs_t r;
  int rc;
  TH_ASSERT_OK(uv_os_tmpdir(tmp, &n));
  snprintf(d->dir, sizeof(d->dir), "%s/axle-fs-test-XXXXXX", tmp);
  rc = uv_fs_mkdtemp(NULL, &r, d->dir, NULL);
  ck_assert_msg(rc == 0, "mkdtemp %s: %s", d->dir, ax_strerror(rc));
  snprintf(d->dir, sizeof(d->dir), "%s", r.path);
  uv_fs_req_cleanup(&r);
}

static int sync_stat(const char *path, uv_stat_t *st) {
  uv_fs_t r;
  int rc = uv_fs_lstat(NULL, &r, path, NULL);
  if (rc == 0 && st != NULL) *st = r.statbuf;
  uv_fs_req_cleanup(&r);
  return rc;
}

/* Removes the directory with the API under test, and checks it is gone. */
static void tdir_remove(tdir_t *d) {
  ax_fs_t f;
  th_run(CURRENT, 0, ax_fs_remove_dir_all(&f, d->dir));
  TH_ASSERT_OK(f.result);
  TH_ASSERT_ERR(sync_stat(d->dir, NULL), UV_ENOENT);
}

/* dir "/" name into buf (a field of the state: it must outlive awaits). */
static const char *join(char *buf, size_t len, const char *dir,
                        const char *name) {
  int n = snprintf(buf, len, "%s/%s", dir, name);
  ck_assert(n > 0 && (size_t)n < len);
  return buf;
}
#define JOIN(buf, dir, name) join((buf), sizeof(buf), (dir), (name))

/* Byte i of the large files. */
static unsigned char pattern(size_t i) {
  return (unsigned char)((i * 131u + (i >> 9) * 7u + 1u) & 0xff);
}

/* Runs the async function `fn` over *state to its end on a runtime of the
 * flavour `multi`, then drops it. */
#define RUN(multi, fn, state) th_run((multi), 2, AX_FUTURE(fn, (state)))

/* Most tests: RUN with state->dir a fresh directory of the test's own,
 * removed (and checked gone) after. */
#define RUN_IN_TDIR(multi, fn, state)                                       \
  do {                                                                       \
    tdir_t run__d;                                                           \
    tdir_make(&run__d);                                                      \
    (state)->dir = run__d.dir;                                               \
    RUN((multi), fn, (state));                                               \
    tdir_remove(&run__d);                                                    \
  } while (0)

/* ---- whole files ------------------------------------------------------------ */

typedef struct {
  ax_async_t co;
  const char *dir;
  char a[700], b[700], e[700], missing[700];
  ax_fs_t op;
  ax_bytes_t bytes;
} whole_t;

AX_ASYNC(whole_fn, whole_t, s) {
  AX_BEGIN(s);
  JOIN(s->a, s->dir, "hello.txt");
  AX_AWAIT(ax_fs_write_file(&s->op, s->a, "hello, files\n", 13));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_read_file(&s->op, s->a, &s->bytes));
  TH_ASSERT_OK(s->op.result);
  ck_assert_uint_eq(s->bytes.len, 13);
  ck_assert_str_eq(s->bytes.data, "hello, files\n");   /* NUL-terminated */

  /* Overwritten with less: truncated; the buffer's old content replaced. */
  AX_AWAIT(ax_fs_write_file(&s->op, s->a, "xy", 2));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_read_file(&s->op, s->a, &s->bytes));
  TH_ASSERT_OK(s->op.result);
  ck_assert_uint_eq(s->bytes.len, 2);
  ck_assert_str_eq(s->bytes.data, "xy");

  /* An empty file: no bytes, still a C string. */
  JOIN(s->e, s->dir, "empty");
  AX_AWAIT(ax_fs_write_file(&s->op, s->e, NULL, 0));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_read_file(&s->op, s->e, &s->bytes));
  TH_ASSERT_OK(s->op.result);
  ck_assert_uint_eq(s->bytes.len, 0);
  ck_assert_ptr_nonnull(s->bytes.data);
  ck_assert_int_eq(s->bytes.data[0], '\0');

  /* A missing file: UV_ENOENT, and the buffer is left as it was. */
  AX_AWAIT(ax_fs_write_file(&s->op, s->a, "kept", 4));
  AX_AWAIT(ax_fs_read_file(&s->op, s->a, &s->bytes));
  JOIN(s->missing, s->dir, "no-such-file");
  AX_AWAIT(ax_fs_read_file(&s->op, s->missing, &s->bytes));
  TH_ASSERT_ERR(s->op.result, UV_ENOENT);
  ck_assert_str_eq(s->bytes.data, "kept");
  JOIN(s->b, s->dir, "no-such-dir/file");
  AX_AWAIT(ax_fs_write_file(&s->op, s->b, "x", 1));
  TH_ASSERT_ERR(s->op.result, UV_ENOENT);

  /* A directory is not a file. */
  AX_AWAIT(ax_fs_read_file(&s->op, s->dir, &s->bytes));
  ck_assert_int_lt(s->op.result, 0);
#ifndef _WIN32
  TH_ASSERT_ERR(s->op.result, UV_EISDIR);
#endif
  ck_assert_str_eq(s->bytes.data, "kept");
  ax_bytes_free(&s->bytes);
  AX_END();
}

START_TEST(fs_whole_files) {
  whole_t s = {0};
  RUN_IN_TDIR(_i, whole_fn, &s);
}
END_TEST

/* ---- large files, every byte checked ------------------------------------------ */

typedef struct {
  ax_async_t co;
  const char *dir;
  size_t size;
  unsigned char *src;          /* the pattern */
  unsigned char *chunk;        /* a read buffer */
  size_t off;
  char a[700], b[700];
  ax_fs_t op;
  ax_fs_open_t open;
  ax_file_read_t rd;
  ax_file_write_t wr;
  ax_fs_metadata_t md;
  ax_bytes_t bytes;
  ax_file_t *file;
} large_t;

#define CHUNK (256 * 1024 + 13)   /* not a divisor of the size */

static void check_pattern(const unsigned char *p, size_t from, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (p[i] != pattern(from + i))
      ck_abort_msg("byte %zu: %u, expected %u", from + i, p[i],
                   pattern(from + i));
}

AX_ASYNC(large_fn, large_t, s) {
  AX_BEGIN(s);
  /* Whole: write_file, read_file. */
  JOIN(s->a, s->dir, "large-whole");
  AX_AWAIT(ax_fs_write_file(&s->op, s->a, s->src, s->size));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_read_file(&s->op, s->a, &s->bytes));
  TH_ASSERT_OK(s->op.result);
  ck_assert_uint_eq(s->bytes.len, s->size);
  check_pattern((const unsigned char *)s->bytes.data, 0, s->size);
  ax_bytes_free(&s->bytes);

  /* In chunks at the current position, read back at offsets. */
  JOIN(s->b, s->dir, "large-chunks");
  AX_AWAIT(ax_fs_open(&s->open, s->b,
                      AX_FS_READ | AX_FS_WRITE | AX_FS_CREATE_NEW, 0));
  TH_ASSERT_OK(s->open.result);
  s->file = s->open.file;
  for (s->off = 0; s->off < s->size; s->off += s->wr.nwritten) {
    AX_AWAIT(ax_file_write_all(&s->wr, s->file, s->src + s->off,
                               s->size - s->off < CHUNK ? s->size - s->off
                                                        : CHUNK));
    TH_ASSERT_OK(s->wr.result);
  }
  AX_AWAIT(ax_file_sync_all(&s->op, s->file));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_file_metadata(&s->md, s->file));
  TH_ASSERT_OK(s->md.result);
  ck_assert_uint_eq(s->md.metadata.size, s->size);
  memset(s->chunk, 0, CHUNK);
  for (s->off = 0; s->off < s->size; s->off += s->rd.nread) {
    AX_AWAIT(ax_file_read_at(&s->rd, s->file, s->chunk, CHUNK, s->off));
    TH_ASSERT_OK(s->rd.result);
    ck_assert_uint_gt(s->rd.nread, 0);
    check_pattern(s->chunk, s->off, s->rd.nread);
  }
  AX_AWAIT(ax_file_read_at(&s->rd, s->file, s->chunk, CHUNK, s->size));
  TH_ASSERT_OK(s->rd.result);
  ck_assert_uint_eq(s->rd.nread, 0);   /* the end */
  ax_file_close(s->file);

  /* ...and at the current position of a fresh handle. */
  AX_AWAIT(ax_fs_open(&s->open, s->b, AX_FS_READ, 0));
  TH_ASSERT_OK(s->open.result);
  s->file = s->open.file;
  for (s->off = 0;; s->off += s->rd.nread) {
    AX_AWAIT(ax_file_read(&s->rd, s->file, s->chunk, CHUNK));
    TH_ASSERT_OK(s->rd.result);
    if (s->rd.nread == 0) break;
    check_pattern(s->chunk, s->off, s->rd.nread);
  }
  ck_assert_uint_eq(s->off, s->size);
  ax_file_close(s->file);
  AX_END();
}

START_TEST(fs_large_files) {
  large_t s = {0};
  size_t i;
  double scale = ax_test_scale();
  /* Several MB (at least 2, whatever the slow setups ask). */
  s.size = (size_t)(6.0 * 1024 * 1024 * (scale < 1 ? scale : 1));
  if (s.size < 2u * 1024 * 1024 + 17) s.size = 2u * 1024 * 1024 + 17;
  s.src = malloc(s.size);
  s.chunk = malloc(CHUNK);
  ck_assert_ptr_nonnull(s.src);
  ck_assert_ptr_nonnull(s.chunk);
  for (i = 0; i < s.size; i++) s.src[i] = pattern(i);
  RUN_IN_TDIR(_i, large_fn, &s);
  free(s.src);
  free(s.chunk);
}
END_TEST

/* ---- open flags ---------------------------------------------------------------- */

typedef struct {
  ax_async_t co;
  const char *dir;
  char a[700], m[700];
  ax_fs_t op;
  ax_fs_open_t open;
  ax_file_write_t wr;
  ax_file_read_t rd;
  ax_fs_metadata_t md;
  ax_bytes_t bytes;
  ax_file_t *file;
  char buf[64];
  int k;
} flags_t;

static const int bad_flags[] = {
    0,                                   /* neither read nor write */
    AX_FS_CREATE,                        /* create without write */
    AX_FS_READ | AX_FS_TRUNCATE,         /* truncate without write */
    AX_FS_READ | AX_FS_CREATE_NEW,       /* create_new without write */
    AX_FS_APPEND | AX_FS_TRUNCATE,       /* append and truncate */
    AX_FS_READ | 0x100,                  /* unknown bit */
};

AX_ASYNC(flags_fn, flags_t, s) {
  AX_BEGIN(s);
  JOIN(s->a, s->dir, "flags");
  JOIN(s->m, s->dir, "missing");
  for (s->k = 0; s->k < (int)(sizeof(bad_flags) / sizeof(bad_flags[0]));
       s->k++) {
    AX_AWAIT(ax_fs_open(&s->open, s->a, bad_flags[s->k], 0));
    TH_ASSERT_ERR(s->open.result, AX_EINVAL);
    ck_assert_ptr_null(s->open.file);
  }
  /* Missing without create. */
  AX_AWAIT(ax_fs_open(&s->open, s->m, AX_FS_READ, 0));
  TH_ASSERT_ERR(s->open.result, UV_ENOENT);
  AX_AWAIT(ax_fs_open(&s->open, s->m, AX_FS_WRITE, 0));
  TH_ASSERT_ERR(s->open.result, UV_ENOENT);

  /* create_new makes it, and refuses it the second time. */
  AX_AWAIT(ax_fs_open(&s->open, s->a, AX_FS_WRITE | AX_FS_CREATE_NEW, 0600));
  TH_ASSERT_OK(s->open.result);
  s->file = s->open.file;
  AX_AWAIT(ax_file_write_all(&s->wr, s->file, "12345", 5));
  TH_ASSERT_OK(s->wr.result);
  ck_assert_uint_eq(s->wr.nwritten, 5);
  /* Opened for writing only: a read fails (as a result). */
  AX_AWAIT(ax_file_read_at(&s->rd, s->file, s->buf, sizeof(s->buf), 0));
  ck_assert_int_lt(s->rd.result, 0);
  ax_file_close(s->file);
  AX_AWAIT(ax_fs_open(&s->open, s->a, AX_FS_WRITE | AX_FS_CREATE_NEW, 0));
  TH_ASSERT_ERR(s->open.result, UV_EEXIST);
#ifndef _WIN32
  AX_AWAIT(ax_fs_metadata(&s->md, s->a));
  TH_ASSERT_OK(s->md.result);
  ck_assert_uint_eq(s->md.metadata.mode & 0777, 0600);
#endif

  /* Append: at the end, whatever the position. */
  AX_AWAIT(ax_fs_open(&s->open, s->a, AX_FS_APPEND, 0));
  TH_ASSERT_OK(s->open.result);
  s->file = s->open.file;
  AX_AWAIT(ax_file_write_all(&s->wr, s->file, "678", 3));
  TH_ASSERT_OK(s->wr.result);
  ax_file_close(s->file);
  AX_AWAIT(ax_fs_read_file(&s->op, s->a, &s->bytes));
  ck_assert_str_eq(s->bytes.data, "12345678");

  /* Write without truncate: overwrites the start only. */
  AX_AWAIT(ax_fs_open(&s->open, s->a, AX_FS_WRITE, 0));
  TH_ASSERT_OK(s->open.result);
  s->file = s->open.file;
  AX_AWAIT(ax_file_write_all(&s->wr, s->file, "ab", 2));
  ax_file_close(s->file);
  AX_AWAIT(ax_fs_read_file(&s->op, s->a, &s->bytes));
  ck_assert_str_eq(s->bytes.data, "ab345678");

  /* Truncate: empty. */
  AX_AWAIT(ax_fs_open(&s->open, s->a, AX_FS_WRITE | AX_FS_TRUNCATE, 0));
  TH_ASSERT_OK(s->open.result);
  ax_file_close(s->open.file);
  AX_AWAIT(ax_fs_read_file(&s->op, s->a, &s->bytes));
  ck_assert_uint_eq(s->bytes.len, 0);

  /* Create on an existing file opens it; read + write together. */
  AX_AWAIT(ax_fs_open(&s->open, s->a,
                      AX_FS_READ | AX_FS_WRITE | AX_FS_CREATE, 0));
  TH_ASSERT_OK(s->open.result);
  s->file = s->open.file;
  AX_AWAIT(ax_file_write_all(&s->wr, s->file, "rw", 2));
  AX_AWAIT(ax_file_read_at(&s->rd, s->file, s->buf, sizeof(s->buf), 0));
  TH_ASSERT_OK(s->rd.result);
  ck_assert_uint_eq(s->rd.nread, 2);
  ck_assert_int_eq(memcmp(s->buf, "rw", 2), 0);
  ax_file_close(s->file);
  ax_bytes_free(&s->bytes);
  AX_END();
}

START_TEST(fs_open_flags) {
  flags_t s = {0};
  RUN_IN_TDIR(_i, flags_fn, &s);
}
END_TEST

/* ---- an open file: position, offsets, set_len, sync, one at a time ----------------- */

typedef struct {
  ax_async_t co;
  const char *dir;
  char a[700];
  ax_fs_t op;
  ax_fs_open_t open;
  ax_file_write_t wr;
  ax_file_read_t rd, rd2;
  ax_fs_metadata_t md;
  ax_bytes_t bytes;
  ax_file_t *file;
  char buf[64];
  ax_poll_t p1, p2;
} fileops_t;

AX_ASYNC(fileops_fn, fileops_t, s) {
  AX_BEGIN(s);
  JOIN(s->a, s->dir, "ops");
  AX_AWAIT(ax_fs_open(&s->open, s->a,
                      AX_FS_READ | AX_FS_WRITE | AX_FS_CREATE, 0));
  TH_ASSERT_OK(s->open.result);
  s->file = s->open.file;
  /* At the position: it moves. */
  AX_AWAIT(ax_file_write_all(&s->wr, s->file, "hello ", 6));
  AX_AWAIT(ax_file_write_all(&s->wr, s->file, "world", 5));
  TH_ASSERT_OK(s->wr.result);
  /* At an offset: the position stays. */
  AX_AWAIT(ax_file_write_all_at(&s->wr, s->file, "W", 1, 6));
  TH_ASSERT_OK(s->wr.result);
  AX_AWAIT(ax_file_write_all(&s->wr, s->file, "!", 1));
  AX_AWAIT(ax_file_read_at(&s->rd, s->file, s->buf, sizeof(s->buf), 0));
  TH_ASSERT_OK(s->rd.result);
  ck_assert_uint_eq(s->rd.nread, 12);
  ck_assert_int_eq(memcmp(s->buf, "hello World!", 12), 0);
  /* The position is at the end: a read there says so. */
  AX_AWAIT(ax_file_read(&s->rd, s->file, s->buf, sizeof(s->buf)));
  TH_ASSERT_OK(s->rd.result);
  ck_assert_uint_eq(s->rd.nread, 0);
  /* Reading nothing is ready at once. */
  AX_AWAIT(ax_file_read(&s->rd, s->file, s->buf, 0));
  TH_ASSERT_OK(s->rd.result);
  ck_assert_uint_eq(s->rd.nread, 0);

  /* set_len: shorter, then longer (zeros). */
  AX_AWAIT(ax_file_set_len(&s->op, s->file, 5));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_file_metadata(&s->md, s->file));
  ck_assert_uint_eq(s->md.metadata.size, 5);
  ck_assert_int_eq(s->md.metadata.type, AX_FILE_TYPE_FILE);
  AX_AWAIT(ax_file_set_len(&s->op, s->file, 8));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_file_read_at(&s->rd, s->file, s->buf, sizeof(s->buf), 0));
  ck_assert_uint_eq(s->rd.nread, 8);
  ck_assert_int_eq(memcmp(s->buf, "hello\0\0\0", 8), 0);
  AX_AWAIT(ax_file_sync_all(&s->op, s->file));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_file_sync_data(&s->op, s->file));
  TH_ASSERT_OK(s->op.result);

  /* One operation at the position at a time: a second one while the first
   * is pending is AX_EBUSY; offsets do not count. */
  s->p1 = ax_poll(ax_file_read(&s->rd, s->file, s->buf, 4), cx);
  if (s->p1 == AX_PENDING) {
    s->p2 = ax_poll(ax_file_write_all(&s->wr, s->file, "x", 1), cx);
    ck_assert_int_eq(s->p2, AX_READY);
    TH_ASSERT_ERR(s->wr.result, AX_EBUSY);
    s->p2 = ax_poll(ax_file_read_at(&s->rd2, s->file, s->buf + 8, 4, 0), cx);
    AX_AWAIT(&s->rd2.base);
    TH_ASSERT_OK(s->rd2.result);
    ck_assert_uint_eq(s->rd2.nread, 4);
    AX_AWAIT(&s->rd.base);
  }
  TH_ASSERT_OK(s->rd.result);
  /* ...and once it is done, the next may go. */
  AX_AWAIT(ax_file_write_all(&s->wr, s->file, "x", 1));
  TH_ASSERT_OK(s->wr.result);
  ax_file_close(s->file);

  /* Read-only handle: set_len fails, as a result. */
  AX_AWAIT(ax_fs_open(&s->open, s->a, AX_FS_READ, 0));
  TH_ASSERT_OK(s->open.result);
  s->file = s->open.file;
  AX_AWAIT(ax_file_set_len(&s->op, s->file, 0));
  ck_assert_int_lt(s->op.result, 0);
  AX_AWAIT(ax_file_write_all(&s->wr, s->file, "x", 1));
  ck_assert_int_lt(s->wr.result, 0);
  ck_assert_uint_eq(s->wr.nwritten, 0);
  ax_file_close(s->file);
  AX_END();
}

START_TEST(fs_file_ops) {
  fileops_t s = {0};
  RUN_IN_TDIR(_i, fileops_fn, &s);
}
END_TEST

/* ---- metadata and permissions ------------------------------------------------- */

typedef struct {
  ax_async_t co;
  const char *dir;
  char a[700], l[700], m[700];
  ax_fs_t op;
  ax_fs_metadata_t md;
  ax_metadata_t file_md;
} meta_t;

AX_ASYNC(meta_fn, meta_t, s) {
  AX_BEGIN(s);
  JOIN(s->a, s->dir, "file");
  JOIN(s->m, s->dir, "missing");
  AX_AWAIT(ax_fs_write_file(&s->op, s->a, "0123456789", 10));
  AX_AWAIT(ax_fs_metadata(&s->md, s->a));
  TH_ASSERT_OK(s->md.result);
  s->file_md = s->md.metadata;
  ck_assert_int_eq(s->file_md.type, AX_FILE_TYPE_FILE);
  ck_assert_uint_eq(s->file_md.size, 10);
  ck_assert_int_eq(s->file_md.readonly, 0);
  /* Modified after 2020-01-01 and not in the far future (a sane clock). */
  ck_assert_int_gt(s->file_md.modified.sec, 1577836800);
  ck_assert_int_ge(s->file_md.modified.nsec, 0);
  ck_assert_int_lt(s->file_md.modified.nsec, 1000000000);

  AX_AWAIT(ax_fs_metadata(&s->md, s->dir));
  TH_ASSERT_OK(s->md.result);
  ck_assert_int_eq(s->md.metadata.type, AX_FILE_TYPE_DIR);
  AX_AWAIT(ax_fs_symlink_metadata(&s->md, s->dir));
  ck_assert_int_eq(s->md.metadata.type, AX_FILE_TYPE_DIR);

  AX_AWAIT(ax_fs_metadata(&s->md, s->m));
  TH_ASSERT_ERR(s->md.result, UV_ENOENT);
  AX_AWAIT(ax_fs_symlink_metadata(&s->md, s->m));
  TH_ASSERT_ERR(s->md.result, UV_ENOENT);

#ifdef _WIN32
  SKIP_ON_WINDOWS("symlink metadata and permission bits");
#else
  JOIN(s->l, s->dir, "link");
  AX_AWAIT(ax_fs_symlink(&s->op, "file", s->l));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_symlink_metadata(&s->md, s->l));
  TH_ASSERT_OK(s->md.result);
  ck_assert_int_eq(s->md.metadata.type, AX_FILE_TYPE_SYMLINK);
  AX_AWAIT(ax_fs_metadata(&s->md, s->l));   /* followed */
  TH_ASSERT_OK(s->md.result);
  ck_assert_int_eq(s->md.metadata.type, AX_FILE_TYPE_FILE);
  ck_assert_uint_eq(s->md.metadata.size, 10);

  AX_AWAIT(ax_fs_set_permissions(&s->op, s->a, 0444));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_metadata(&s->md, s->a));
  ck_assert_uint_eq(s->md.metadata.mode, 0444);
  ck_assert_int_eq(s->md.metadata.readonly, 1);
  AX_AWAIT(ax_fs_set_permissions(&s->op, s->a, 0640));
  AX_AWAIT(ax_fs_metadata(&s->md, s->a));
  ck_assert_uint_eq(s->md.metadata.mode, 0640);
  ck_assert_int_eq(s->md.metadata.readonly, 0);
  AX_AWAIT(ax_fs_set_permissions(&s->op, s->m, 0640));
  TH_ASSERT_ERR(s->op.result, UV_ENOENT);
#endif
  AX_END();
}

START_TEST(fs_metadata) {
  meta_t s = {0};
  RUN_IN_TDIR(_i, meta_fn, &s);
}
END_TEST

/* ---- directories: create, create_all, remove, rename ------------------------------- */

typedef struct {
  ax_async_t co;
  const char *dir;
  char a[700], deep[900], f[700], g[700], x[900];
  ax_fs_t op;
  ax_fs_exists_t ex;
  ax_fs_metadata_t md;
  ax_bytes_t bytes;
} dirs_t;

AX_ASYNC(dirs_fn, dirs_t, s) {
  AX_BEGIN(s);
  JOIN(s->a, s->dir, "sub");
  AX_AWAIT(ax_fs_create_dir(&s->op, s->a));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_create_dir(&s->op, s->a));
  TH_ASSERT_ERR(s->op.result, UV_EEXIST);
  JOIN(s->x, s->dir, "none/sub");
  AX_AWAIT(ax_fs_create_dir(&s->op, s->x));
  TH_ASSERT_ERR(s->op.result, UV_ENOENT);

  /* A deep path, trailing separators included; twice is fine. */
  JOIN(s->deep, s->dir, "d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12//");
  AX_AWAIT(ax_fs_create_dir_all(&s->op, s->deep));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_metadata(&s->md, s->deep));
  TH_ASSERT_OK(s->md.result);
  ck_assert_int_eq(s->md.metadata.type, AX_FILE_TYPE_DIR);
  AX_AWAIT(ax_fs_create_dir_all(&s->op, s->deep));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_create_dir_all(&s->op, s->dir));
  TH_ASSERT_OK(s->op.result);
  /* A file in the way. */
  JOIN(s->f, s->dir, "d1/file");
  AX_AWAIT(ax_fs_write_file(&s->op, s->f, "f", 1));
  AX_AWAIT(ax_fs_create_dir_all(&s->op, s->f));
  TH_ASSERT_ERR(s->op.result, UV_EEXIST);
  JOIN(s->x, s->dir, "d1/file/below");
  AX_AWAIT(ax_fs_create_dir_all(&s->op, s->x));
  ck_assert_int_lt(s->op.result, 0);
#ifndef _WIN32
  TH_ASSERT_ERR(s->op.result, UV_ENOTDIR);
#endif

  /* remove_dir wants it empty; remove_file wants a file. */
  JOIN(s->x, s->dir, "d1");
  AX_AWAIT(ax_fs_remove_dir(&s->op, s->x));
  TH_ASSERT_ERR(s->op.result, UV_ENOTEMPTY);
  AX_AWAIT(ax_fs_remove_dir(&s->op, s->a));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_exists(&s->ex, s->a));
  TH_ASSERT_OK(s->ex.result);
  ck_assert_int_eq(s->ex.exists, 0);
  AX_AWAIT(ax_fs_remove_file(&s->op, s->f));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_remove_file(&s->op, s->f));
  TH_ASSERT_ERR(s->op.result, UV_ENOENT);
  AX_AWAIT(ax_fs_remove_dir(&s->op, s->a));
  TH_ASSERT_ERR(s->op.result, UV_ENOENT);

  /* remove_dir_all: a tree, then a file is not a directory. */
  AX_AWAIT(ax_fs_write_file(&s->op, JOIN(s->f, s->dir, "d1/d2/d3/x.txt"),
                            "x", 1));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_remove_dir_all(&s->op, s->f));
  TH_ASSERT_ERR(s->op.result, UV_ENOTDIR);
  AX_AWAIT(ax_fs_remove_dir_all(&s->op, s->x));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_exists(&s->ex, s->x));
  ck_assert_int_eq(s->ex.exists, 0);
  AX_AWAIT(ax_fs_remove_dir_all(&s->op, s->x));
  TH_ASSERT_ERR(s->op.result, UV_ENOENT);

  /* rename: a file, over another file, a directory. */
  JOIN(s->f, s->dir, "one");
  JOIN(s->g, s->dir, "two");
  AX_AWAIT(ax_fs_write_file(&s->op, s->f, "1", 1));
  AX_AWAIT(ax_fs_rename(&s->op, s->f, s->g));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_exists(&s->ex, s->f));
  ck_assert_int_eq(s->ex.exists, 0);
  AX_AWAIT(ax_fs_write_file(&s->op, s->f, "new", 3));
  AX_AWAIT(ax_fs_rename(&s->op, s->f, s->g));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_read_file(&s->op, s->g, &s->bytes));
  ck_assert_str_eq(s->bytes.data, "new");
  AX_AWAIT(ax_fs_rename(&s->op, s->f, s->g));
  TH_ASSERT_ERR(s->op.result, UV_ENOENT);
  JOIN(s->x, s->dir, "renamed-dir");
  AX_AWAIT(ax_fs_create_dir(&s->op, s->a));
  AX_AWAIT(ax_fs_rename(&s->op, s->a, s->x));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_metadata(&s->md, s->x));
  ck_assert_int_eq(s->md.metadata.type, AX_FILE_TYPE_DIR);
  ax_bytes_free(&s->bytes);
  AX_END();
}

START_TEST(fs_directories) {
  dirs_t s = {0};
  RUN_IN_TDIR(_i, dirs_fn, &s);
}
END_TEST

/* ---- read_dir ---------------------------------------------------------------- */

typedef struct {
  ax_async_t co;
  const char *dir;
  char a[700], b[700], sub[700], l[700], e[700];
  ax_fs_t op;
  ax_dir_t list;
} readdir_t;

AX_ASYNC(readdir_fn, readdir_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_fs_write_file(&s->op, JOIN(s->b, s->dir, "b.txt"), "b", 1));
  AX_AWAIT(ax_fs_write_file(&s->op, JOIN(s->a, s->dir, "a.txt"), "a", 1));
  AX_AWAIT(ax_fs_create_dir(&s->op, JOIN(s->sub, s->dir, "sub")));
  AX_AWAIT(ax_fs_write_file(&s->op, JOIN(s->e, s->sub, "inner"), "i", 1));
#ifndef _WIN32
  AX_AWAIT(ax_fs_symlink(&s->op, "sub", JOIN(s->l, s->dir, "link")));
  TH_ASSERT_OK(s->op.result);
#endif
  AX_AWAIT(ax_fs_read_dir(&s->op, s->dir, &s->list));
  TH_ASSERT_OK(s->op.result);
#ifdef _WIN32
  SKIP_ON_WINDOWS("a symlink among the entries");
  ck_assert_uint_eq(s->list.len, 3);
#else
  ck_assert_uint_eq(s->list.len, 4);
  ck_assert_str_eq(s->list.entries[2].name, "link");
  ck_assert_int_eq(s->list.entries[2].type, AX_FILE_TYPE_SYMLINK);
#endif
  ck_assert_str_eq(s->list.entries[0].name, "a.txt");
  ck_assert_int_eq(s->list.entries[0].type, AX_FILE_TYPE_FILE);
  ck_assert_str_eq(s->list.entries[1].name, "b.txt");
  ck_assert_int_eq(s->list.entries[1].type, AX_FILE_TYPE_FILE);
  ck_assert_str_eq(s->list.entries[s->list.len - 1].name, "sub");
  ck_assert_int_eq(s->list.entries[s->list.len - 1].type, AX_FILE_TYPE_DIR);

  /* Into the same listing: replaced. */
  AX_AWAIT(ax_fs_read_dir(&s->op, s->sub, &s->list));
  TH_ASSERT_OK(s->op.result);
  ck_assert_uint_eq(s->list.len, 1);
  ck_assert_str_eq(s->list.entries[0].name, "inner");

  /* Empty; missing; a file. */
  AX_AWAIT(ax_fs_create_dir(&s->op, JOIN(s->e, s->dir, "empty")));
  AX_AWAIT(ax_fs_read_dir(&s->op, s->e, &s->list));
  TH_ASSERT_OK(s->op.result);
  ck_assert_uint_eq(s->list.len, 0);
  ck_assert_ptr_null(s->list.entries);
  AX_AWAIT(ax_fs_read_dir(&s->op, JOIN(s->e, s->dir, "missing"), &s->list));
  TH_ASSERT_ERR(s->op.result, UV_ENOENT);
  AX_AWAIT(ax_fs_read_dir(&s->op, s->a, &s->list));
  ck_assert_int_lt(s->op.result, 0);
#ifndef _WIN32
  TH_ASSERT_ERR(s->op.result, UV_ENOTDIR);
#endif
  ax_dir_free(&s->list);
  ax_dir_free(&s->list);   /* twice is fine */
  AX_END();
}

START_TEST(fs_read_dir) {
  readdir_t s = {0};
  RUN_IN_TDIR(_i, readdir_fn, &s);
}
END_TEST

/* ---- copy, exists, links, canonicalize -------------------------------------------- */

typedef struct {
  ax_async_t co;
  const char *dir;
  char a[700], b[700], c[700], h[700], l[700], x[900];
  ax_fs_t op;
  ax_fs_exists_t ex;
  ax_fs_metadata_t md;
  ax_bytes_t bytes, canon, canon2;
} copy_t;

AX_ASYNC(copy_fn, copy_t, s) {
  AX_BEGIN(s);
  JOIN(s->a, s->dir, "src");
  JOIN(s->b, s->dir, "dst");
  AX_AWAIT(ax_fs_write_file(&s->op, s->a, "copy me", 7));
  AX_AWAIT(ax_fs_copy(&s->op, s->a, s->b));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_read_file(&s->op, s->b, &s->bytes));
  ck_assert_str_eq(s->bytes.data, "copy me");
  /* Over an existing file. */
  AX_AWAIT(ax_fs_write_file(&s->op, s->a, "v2", 2));
  AX_AWAIT(ax_fs_copy(&s->op, s->a, s->b));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_read_file(&s->op, s->b, &s->bytes));
  ck_assert_str_eq(s->bytes.data, "v2");
  AX_AWAIT(ax_fs_copy(&s->op, JOIN(s->c, s->dir, "missing"), s->b));
  TH_ASSERT_ERR(s->op.result, UV_ENOENT);

  /* exists: yes, no, and an error that says neither. */
  AX_AWAIT(ax_fs_exists(&s->ex, s->a));
  TH_ASSERT_OK(s->ex.result);
  ck_assert_int_eq(s->ex.exists, 1);
  AX_AWAIT(ax_fs_exists(&s->ex, s->dir));
  ck_assert_int_eq(s->ex.exists, 1);
  AX_AWAIT(ax_fs_exists(&s->ex, s->c));
  TH_ASSERT_OK(s->ex.result);
  ck_assert_int_eq(s->ex.exists, 0);
#ifndef _WIN32
  AX_AWAIT(ax_fs_exists(&s->ex, JOIN(s->x, s->a, "below")));
  TH_ASSERT_ERR(s->ex.result, UV_ENOTDIR);
#endif

  /* A hard link: the same file. */
  JOIN(s->h, s->dir, "hard");
  AX_AWAIT(ax_fs_hard_link(&s->op, s->a, s->h));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_read_file(&s->op, s->h, &s->bytes));
  ck_assert_str_eq(s->bytes.data, "v2");
  AX_AWAIT(ax_fs_hard_link(&s->op, s->a, s->h));
  TH_ASSERT_ERR(s->op.result, UV_EEXIST);

  /* canonicalize: ".." and "." resolved, absolute. */
  AX_AWAIT(ax_fs_canonicalize(&s->op, s->dir, &s->canon));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_create_dir(&s->op, JOIN(s->c, s->dir, "sub")));
  AX_AWAIT(ax_fs_canonicalize(&s->op, JOIN(s->x, s->dir, "./sub/../sub/.."),
                              &s->canon2));
  TH_ASSERT_OK(s->op.result);
  ck_assert_str_eq(s->canon2.data, s->canon.data);
  ck_assert_uint_eq(s->canon2.len, strlen(s->canon.data));
  AX_AWAIT(ax_fs_canonicalize(&s->op, JOIN(s->x, s->dir, "missing"),
                              &s->canon2));
  TH_ASSERT_ERR(s->op.result, UV_ENOENT);

#ifdef _WIN32
  SKIP_ON_WINDOWS("symlink, read_link, exists through a broken symlink");
#else
  JOIN(s->l, s->dir, "link");
  AX_AWAIT(ax_fs_symlink(&s->op, "src", s->l));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_read_link(&s->op, s->l, &s->bytes));
  TH_ASSERT_OK(s->op.result);
  ck_assert_str_eq(s->bytes.data, "src");
  ck_assert_uint_eq(s->bytes.len, 3);
  AX_AWAIT(ax_fs_read_link(&s->op, s->a, &s->bytes));
  TH_ASSERT_ERR(s->op.result, UV_EINVAL);   /* not a link */
  AX_AWAIT(ax_fs_canonicalize(&s->op, s->l, &s->canon2));
  TH_ASSERT_OK(s->op.result);
  ck_assert_str_eq(s->canon2.data + s->canon.len, "/src");
  /* A broken link does not exist (try_exists follows it). */
  AX_AWAIT(ax_fs_remove_file(&s->op, s->a));
  AX_AWAIT(ax_fs_exists(&s->ex, s->l));
  TH_ASSERT_OK(s->ex.result);
  ck_assert_int_eq(s->ex.exists, 0);
  AX_AWAIT(ax_fs_symlink(&s->op, "src", s->l));
  TH_ASSERT_ERR(s->op.result, UV_EEXIST);
#endif
  ax_bytes_free(&s->bytes);
  ax_bytes_free(&s->canon);
  ax_bytes_free(&s->canon2);
  AX_END();
}

START_TEST(fs_copy_exists_links) {
  copy_t s = {0};
  RUN_IN_TDIR(_i, copy_fn, &s);
}
END_TEST

/* ---- temporary files and directories ----------------------------------------------- */

typedef struct {
  ax_async_t co;
  const char *dir;
  char tmpl[700];
  ax_fs_t op;
  ax_fs_open_t open;
  ax_file_write_t wr;
  ax_file_read_t rd;
  ax_fs_metadata_t md;
  ax_bytes_t path, path2;
  ax_file_t *file;
  char buf[16];
} temp_t;

AX_ASYNC(temp_fn, temp_t, s) {
  AX_BEGIN(s);
  /* In the system's temporary directory. */
  AX_AWAIT(ax_fs_temp_file(&s->open, NULL, &s->path));
  TH_ASSERT_OK(s->open.result);
  ck_assert_ptr_nonnull(s->open.file);
  ck_assert_ptr_nonnull(strstr(s->path.data, "axle-"));
  ck_assert_uint_eq(strlen(s->path.data), s->path.len);
  s->file = s->open.file;
  AX_AWAIT(ax_file_write_all(&s->wr, s->file, "temp", 4));
  TH_ASSERT_OK(s->wr.result);
  AX_AWAIT(ax_file_read_at(&s->rd, s->file, s->buf, sizeof(s->buf), 0));
  ck_assert_uint_eq(s->rd.nread, 4);
  ax_file_close(s->file);
  AX_AWAIT(ax_fs_metadata(&s->md, s->path.data));
  TH_ASSERT_OK(s->md.result);
  ck_assert_uint_eq(s->md.metadata.size, 4);
#ifndef _WIN32
  ck_assert_uint_eq(s->md.metadata.mode & 0777, 0600);
#endif
  AX_AWAIT(ax_fs_remove_file(&s->op, s->path.data));
  TH_ASSERT_OK(s->op.result);

  /* From a template of ours, twice: two names. */
  JOIN(s->tmpl, s->dir, "t-XXXXXX");
  AX_AWAIT(ax_fs_temp_file(&s->open, s->tmpl, &s->path));
  TH_ASSERT_OK(s->open.result);
  ax_file_close(s->open.file);
  AX_AWAIT(ax_fs_temp_file(&s->open, s->tmpl, &s->path2));
  TH_ASSERT_OK(s->open.result);
  ax_file_close(s->open.file);
  ck_assert_str_ne(s->path.data, s->path2.data);
  ck_assert_int_eq(strncmp(s->path.data, s->tmpl, strlen(s->tmpl) - 6), 0);
  ck_assert_str_eq(s->tmpl + strlen(s->tmpl) - 6, "XXXXXX");   /* not ours */

  AX_AWAIT(ax_fs_temp_dir(&s->op, s->tmpl, &s->path));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_metadata(&s->md, s->path.data));
  TH_ASSERT_OK(s->md.result);
  ck_assert_int_eq(s->md.metadata.type, AX_FILE_TYPE_DIR);
  AX_AWAIT(ax_fs_temp_dir(&s->op, NULL, &s->path2));
  TH_ASSERT_OK(s->op.result);
  AX_AWAIT(ax_fs_remove_dir(&s->op, s->path2.data));
  TH_ASSERT_OK(s->op.result);

  /* A template without its XXXXXX. */
  JOIN(s->tmpl, s->dir, "bad");
  AX_AWAIT(ax_fs_temp_file(&s->open, s->tmpl, &s->path));
  TH_ASSERT_ERR(s->open.result, AX_EINVAL);
  ck_assert_ptr_null(s->open.file);
  AX_AWAIT(ax_fs_temp_dir(&s->op, s->tmpl, &s->path));
  TH_ASSERT_ERR(s->op.result, AX_EINVAL);
  ax_bytes_free(&s->path);
  ax_bytes_free(&s->path2);
  AX_END();
}

START_TEST(fs_temp) {
  temp_t s = {0};
  RUN_IN_TDIR(_i, temp_fn, &s);
}
END_TEST

/* ---- misuse: bad arguments, no runtime; drops of unpolled futures -------------------- */

typedef struct {
  ax_async_t co;
  ax_fs_t op;
  ax_fs_open_t open;
  ax_file_read_t rd;
  ax_file_write_t wr;
  ax_fs_metadata_t md;
  char buf[4];
} misuse_t;

AX_ASYNC(misuse_fn, misuse_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_fs_read_file(&s->op, NULL, NULL));
  TH_ASSERT_ERR(s->op.result, AX_EINVAL);
  AX_AWAIT(ax_fs_read_file(&s->op, "x", NULL));
  TH_ASSERT_ERR(s->op.result, AX_EINVAL);
  AX_AWAIT(ax_fs_rename(&s->op, "x", NULL));
  TH_ASSERT_ERR(s->op.result, AX_EINVAL);
  AX_AWAIT(ax_fs_open(&s->open, NULL, AX_FS_READ, 0));
  TH_ASSERT_ERR(s->open.result, AX_EINVAL);
  AX_AWAIT(ax_file_read(&s->rd, NULL, s->buf, sizeof(s->buf)));
  TH_ASSERT_ERR(s->rd.result, AX_EINVAL);
  AX_AWAIT(ax_file_write_all_at(&s->wr, NULL, s->buf, 1, 0));
  TH_ASSERT_ERR(s->wr.result, AX_EINVAL);
  AX_AWAIT(ax_file_metadata(&s->md, NULL));
  TH_ASSERT_ERR(s->md.result, AX_EINVAL);
  AX_AWAIT(ax_fs_read_dir(&s->op, "x", NULL));
  TH_ASSERT_ERR(s->op.result, AX_EINVAL);
  AX_END();
}

START_TEST(fs_misuse) {
  misuse_t s = {0};
  RUN(_i, misuse_fn, &s);
}
END_TEST

START_TEST(fs_outside_runtime) {
  th_waker_t w;
  ax_cx_t cx;
  ax_fs_exists_t ex;
  ax_fs_t op;
  ax_bytes_t b = AX_ZERO(ax_bytes_t);
  ax_cx_init(&cx, th_waker_init(&w));
  ck_assert_int_eq(ax_poll(ax_fs_exists(&ex, "."), &cx), AX_READY);
  TH_ASSERT_ERR(ex.result, AX_ENORUNTIME);
  ax_drop(&ex.base);
  ck_assert_int_eq(ax_poll(ax_fs_read_file(&op, ".", &b), &cx), AX_READY);
  TH_ASSERT_ERR(op.result, AX_ENORUNTIME);
  ax_drop(&op.base);
  ck_assert_int_eq(atomic_load(&w.refs), 0);
  ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(fs_drop_never_polled) {
  ax_fs_t op;
  ax_fs_open_t open;
  ax_file_read_t rd;
  ax_file_write_t wr;
  ax_fs_metadata_t md;
  ax_fs_exists_t ex;
  ax_bytes_t b = AX_ZERO(ax_bytes_t);
  ax_dir_t d = AX_ZERO(ax_dir_t);
  char buf[4];
  /* Nothing starts before a poll: every drop is a no-op (twice, too). */
  ax_drop(ax_fs_read_file(&op, "x", &b));
  ax_drop(ax_fs_write_file(&op, "x", "x", 1));
  ax_drop(ax_fs_read_dir(&op, "x", &d));
  ax_drop(ax_fs_create_dir_all(&op, "x"));
  ax_drop(ax_fs_temp_dir(&op, NULL, &b));
  ax_drop(ax_fs_open(&open, "x", AX_FS_READ, 0));
  ax_drop(ax_fs_temp_file(&open, NULL, &b));
  ax_drop(ax_file_read(&rd, NULL, buf, sizeof(buf)));
  ax_drop(ax_file_write_all(&wr, NULL, buf, sizeof(buf)));
  ax_drop(ax_fs_metadata(&md, "x"));
  ax_drop(ax_fs_exists(&ex, "x"));
  ax_drop(&ex.base);
  ck_assert_int_eq(ex.result, 0);
  ck_assert_ptr_null(b.data);
  ck_assert_ptr_null(d.entries);
}
END_TEST

/* ---- drops while the job waits for a pool thread: it never runs -------------------- */

/* Jobs that hold every pool thread until released, queued on a loop of
 * the test thread's own (not spawn_blocking: a runtime's shutdown waits for
 * its blocking tasks, and the shutdown test must shut down while they
 * hold the pool). */
typedef struct {
  uv_loop_t loop;
  uv_sem_t gate;
  _Atomic int started;
  unsigned n;
  uv_work_t w[64];
} pool_gate_t;

static void gated_work(uv_work_t *w) {
  pool_gate_t *g = w->data;
  atomic_fetch_add(&g->started, 1);
  uv_sem_wait(&g->gate);
}

static void gated_after(uv_work_t *w, int status) {
  (void)w;
  ck_assert_int_eq(status, 0);
}

/* Every pool thread is taken when this returns. */
static void pool_fill(pool_gate_t *g) {
  unsigned i;
  g->n = th_pool_threads();
  ck_assert_uint_le(g->n, 64);
  TH_ASSERT_OK(uv_loop_init(&g->loop));
  ck_assert_int_eq(uv_sem_init(&g->gate, 0), 0);
  atomic_init(&g->started, 0);
  for (i = 0; i < g->n; i++) {
    g->w[i].data = g;
    TH_ASSERT_OK(uv_queue_work(&g->loop, &g->w[i], gated_work, gated_after));
  }
  while (atomic_load(&g->started) < (int)g->n) uv_sleep(1);   /* an event */
}

/* Lets them go, and waits for them (same thread as pool_fill). */
static void pool_release(pool_gate_t *g) {
  unsigned i;
  for (i = 0; i < g->n; i++) uv_sem_post(&g->gate);
  TH_ASSERT_OK(uv_run(&g->loop, UV_RUN_DEFAULT));
  TH_ASSERT_OK(uv_loop_close(&g->loop));
  uv_sem_destroy(&g->gate);
}

typedef struct {
  ax_async_t co;
  const char *dir;
  pool_gate_t gate;
  char p[8][700];
  char buf[64];
  ax_fs_t op[5];
  ax_fs_open_t open[2];
  ax_file_read_t rd[2];
  ax_file_write_t wr[2];
  ax_fs_exists_t ex;
  ax_dir_t list;
  ax_bytes_t bytes;
  ax_file_t *file;
  int k;
} queued_t;

AX_ASYNC(queued_fn, queued_t, s) {
  AX_BEGIN(s);
  /* A file to read and write. */
  JOIN(s->p[0], s->dir, "existing");
  AX_AWAIT(ax_fs_write_file(&s->op[0], s->p[0], "original", 8));
  AX_AWAIT(ax_fs_open(&s->open[0], s->p[0], AX_FS_READ | AX_FS_WRITE, 0));
  TH_ASSERT_OK(s->open[0].result);
  s->file = s->open[0].file;
  memset(s->buf, 'z', sizeof(s->buf));

  pool_fill(&s->gate);
  /* Each waits behind the gated jobs; each is dropped there. */
  ck_assert_int_eq(ax_poll(ax_fs_create_dir(&s->op[0],
                                            JOIN(s->p[1], s->dir, "newdir")),
                           cx), AX_PENDING);
  ck_assert_int_eq(ax_poll(ax_fs_write_file(&s->op[1],
                                            JOIN(s->p[2], s->dir, "newfile"),
                                            "x", 1), cx), AX_PENDING);
  ck_assert_int_eq(ax_poll(ax_fs_remove_file(&s->op[2], s->p[0]), cx),
                   AX_PENDING);
  ck_assert_int_eq(ax_poll(ax_fs_open(&s->open[1],
                                      JOIN(s->p[3], s->dir, "opened"),
                                      AX_FS_WRITE | AX_FS_CREATE, 0), cx),
                   AX_PENDING);
  ck_assert_int_eq(ax_poll(ax_file_read(&s->rd[0], s->file, s->buf, 8), cx),
                   AX_PENDING);
  ck_assert_int_eq(ax_poll(ax_file_read_at(&s->rd[1], s->file, s->buf + 8,
                                           8, 0), cx), AX_PENDING);
  ck_assert_int_eq(ax_poll(ax_file_write_all_at(&s->wr[0], s->file,
                                                "CLOBBER!", 8, 0), cx),
                   AX_PENDING);
  ck_assert_int_eq(ax_poll(ax_fs_read_dir(&s->op[3], s->dir, &s->list), cx),
                   AX_PENDING);
  JOIN(s->p[4], s->dir, "t-XXXXXX");
  ck_assert_int_eq(ax_poll(ax_fs_temp_dir(&s->op[4], s->p[4], &s->bytes),
                           cx), AX_PENDING);
  for (s->k = 0; s->k < 5; s->k++) ax_drop(&s->op[s->k].base);
  ax_drop(&s->open[1].base);
  ax_drop(&s->rd[0].base);
  ax_drop(&s->rd[1].base);
  ax_drop(&s->wr[0].base);
  pool_release(&s->gate);

  /* None of them ran: nothing was made, removed, read or written. */
  AX_AWAIT(ax_fs_read_dir(&s->op[0], s->dir, &s->list));
  TH_ASSERT_OK(s->op[0].result);
  ck_assert_uint_eq(s->list.len, 1);
  ck_assert_str_eq(s->list.entries[0].name, "existing");
  AX_AWAIT(ax_file_read_at(&s->rd[0], s->file, s->buf + 16, 8, 0));
  TH_ASSERT_OK(s->rd[0].result);
  ck_assert_int_eq(memcmp(s->buf + 16, "original", 8), 0);
  for (s->k = 0; s->k < 16; s->k++) ck_assert_int_eq(s->buf[s->k], 'z');
  /* The position did not move either (and the lane is free). */
  AX_AWAIT(ax_file_read(&s->rd[0], s->file, s->buf, 8));
  TH_ASSERT_OK(s->rd[0].result);
  ck_assert_uint_eq(s->rd[0].nread, 8);
  ck_assert_int_eq(memcmp(s->buf, "original", 8), 0);
  ck_assert_ptr_null(s->bytes.data);
  ax_file_close(s->file);
  ax_dir_free(&s->list);
  AX_END();
}

START_TEST(fs_drop_queued) {
  queued_t s = {0};
  RUN_IN_TDIR(_i, queued_fn, &s);
}
END_TEST

/* ---- drops after the job finished, before the future took the result --------------- */

typedef struct {
  ax_async_t co;
  const char *dir;
  char p[4][700];
  th_waker_t w;
  ax_cx_t hcx;
  ax_fs_t op;
  ax_fs_open_t open;
  ax_file_read_t rd;
  ax_file_t *file;
  ax_bytes_t bytes;
  ax_dir_t list;
  char buf[8];
  int k;
} undone_t;

/* Polls f once with a counting waker (while the pool is held, so that
 * the job cannot finish first) and waits for the pool's wake. */
static void poll_until_woken(undone_t *s, ax_future_t *f) {
  pool_gate_t gate;
  atomic_store(&s->w.wakes, 0);
  pool_fill(&gate);
  ck_assert_int_eq(ax_poll(f, &s->hcx), AX_PENDING);
  pool_release(&gate);
  while (atomic_load(&s->w.wakes) == 0) uv_sleep(1);   /* an event */
}

AX_ASYNC(undone_fn, undone_t, s) {
  AX_BEGIN(s);
  ax_cx_init(&s->hcx, th_waker_init(&s->w));
  JOIN(s->p[0], s->dir, "data");
  AX_AWAIT(ax_fs_write_file(&s->op, s->p[0], "12345678", 8));
  TH_ASSERT_OK(s->op.result);

  /* An open: the file it opened is closed. */
  poll_until_woken(s, ax_fs_open(&s->open, s->p[0], AX_FS_READ, 0));
  ax_drop(&s->open.base);
  ck_assert_ptr_null(s->open.file);
  /* A temp file and a temp directory: removed (checked after the
   * runtime is gone: the removal is on the pool). */
  JOIN(s->p[1], s->dir, "t-XXXXXX");
  poll_until_woken(s, ax_fs_temp_file(&s->open, s->p[1], &s->bytes));
  ax_drop(&s->open.base);
  poll_until_woken(s, ax_fs_temp_dir(&s->op, s->p[1], &s->bytes));
  ax_drop(&s->op.base);
  ck_assert_ptr_null(s->bytes.data);
  /* Whole reads: their memory goes. */
  poll_until_woken(s, ax_fs_read_file(&s->op, s->p[0], &s->bytes));
  ax_drop(&s->op.base);
  poll_until_woken(s, ax_fs_read_dir(&s->op, s->dir, &s->list));
  ax_drop(&s->op.base);
  ck_assert_ptr_null(s->bytes.data);
  ck_assert_ptr_null(s->list.entries);

  /* A read at the position: the buffer stays untouched, the lane is free. */
  AX_AWAIT(ax_fs_open(&s->open, s->p[0], AX_FS_READ, 0));
  s->file = s->open.file;
  memset(s->buf, 'z', sizeof(s->buf));
  poll_until_woken(s, ax_file_read(&s->rd, s->file, s->buf, 4));
  ax_drop(&s->rd.base);
  for (s->k = 0; s->k < 8; s->k++) ck_assert_int_eq(s->buf[s->k], 'z');
  AX_AWAIT(ax_file_read(&s->rd, s->file, s->buf, 4));
  TH_ASSERT_OK(s->rd.result);
  ck_assert_int_eq(memcmp(s->buf, "5678", 4), 0);   /* the drop read 1234 */
  ax_file_close(s->file);
  /* No waker clone was kept by any of them. */
  ck_assert_int_eq(atomic_load(&s->w.refs), 0);
  AX_END();
}

/* Entries of dir whose name starts with prefix (synchronous). */
static int count_entries(const char *dir, const char *prefix) {
  uv_fs_t r;
  uv_dirent_t e;
  int n = 0;
  ck_assert_int_ge(uv_fs_scandir(NULL, &r, dir, 0, NULL), 0);
  while (uv_fs_scandir_next(&r, &e) == 0)
    if (strncmp(e.name, prefix, strlen(prefix)) == 0) n++;
  uv_fs_req_cleanup(&r);
  return n;
}

START_TEST(fs_drop_finished_untaken) {
  tdir_t d;
  undone_t s = {0};
  tdir_make(&d);
  s.dir = d.dir;
  RUN(_i, undone_fn, &s);
  ck_assert_int_eq(count_entries(d.dir, "t-"), 0);
  tdir_remove(&d);
}
END_TEST

/* ---- drops while the job runs (a FIFO keeps it running) --------------------------- */

#ifndef _WIN32
typedef struct {
  ax_async_t co;
  const char *dir;
  char fifo[2][700];
  int fd[2];                   /* the test's own ends, read + write */
  ax_fs_t op;
  ax_fs_open_t open;
  ax_file_read_t rd[2];
  ax_file_write_t wr[2];
  ax_bytes_t bytes;
  ax_file_t *file;
  char *heap;                  /* a caller's buffer, freed after the drop */
  unsigned char *big;
  size_t big_len, got;
  char buf[16];
} running_t;

/* Bytes queued in the FIFO and not read. */
static int fifo_pending(int fd) {
  int n = 0;
  ck_assert_int_eq(ioctl(fd, FIONREAD, &n), 0);
  return n;
}

/* Makes a FIFO and opens the test's end (O_RDWR: Linux never blocks). */
static int fifo_make(const char *path) {
  int fd;
  ck_assert_int_eq(mkfifo(path, 0600), 0);
  fd = open(path, O_RDWR);
  ck_assert_int_ge(fd, 0);
  return fd;
}

/* Reads exactly len bytes from fd (blocking). */
static void read_exactly(int fd, unsigned char *p, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, p + got, len - got);
    ck_assert_int_gt(n, 0);
    got += (size_t)n;
  }
}

AX_ASYNC(running_fn, running_t, s) {
  AX_BEGIN(s);
  /* A: read_file of a FIFO takes what comes and waits for the end.  Once
   * it has taken "hello" it is running: dropped there, its output buffer
   * is never written.  Its end comes when the test's end closes. */
  s->fd[0] = fifo_make(JOIN(s->fifo[0], s->dir, "fifo-a"));
  ck_assert_int_eq(ax_poll(ax_fs_read_file(&s->op, s->fifo[0], &s->bytes),
                           cx), AX_PENDING);
  ck_assert_int_eq(write(s->fd[0], "hello", 5), 5);
  while (fifo_pending(s->fd[0]) > 0) uv_sleep(1);   /* an event: taken */
  ax_drop(&s->op.base);
  ck_assert_ptr_null(s->bytes.data);
  close(s->fd[0]);

  /* B: a write bigger than the FIFO holds is running once its first
   * bytes arrive.  Dropped there, its buffer scribbled and freed: the
   * bytes that come out are still the ones it was given (copied at its
   * first poll).  The next write at the position waits for it: its bytes
   * come after all of the dropped one's, never in between. */
  s->fd[1] = fifo_make(JOIN(s->fifo[1], s->dir, "fifo-b"));
  AX_AWAIT(ax_fs_open(&s->open, s->fifo[1], AX_FS_READ | AX_FS_WRITE, 0));
  TH_ASSERT_OK(s->open.result);
  s->file = s->open.file;
  s->big_len = 1u << 20;
  s->big = malloc(s->big_len + 3);
  for (s->got = 0; s->got < s->big_len; s->got++)
    s->big[s->got] = pattern(s->got);
  ck_assert_int_eq(ax_poll(ax_file_write_all(&s->wr[0], s->file, s->big,
                                             s->big_len), cx), AX_PENDING);
  {
    struct pollfd pfd;
    pfd.fd = s->fd[1];
    pfd.events = POLLIN;
    pfd.revents = 0;
    ck_assert_int_eq(poll(&pfd, 1, -1), 1);   /* an event: bytes came */
  }
  ax_drop(&s->wr[0].base);
  memset(s->big, 0xee, s->big_len);
  free(s->big);
  s->big = malloc(s->big_len + 3);
  ck_assert_int_eq(ax_poll(ax_file_write_all(&s->wr[1], s->file, "END", 3),
                           cx), AX_PENDING);
  /* (It goes once this task polls it again: after the read below.) */
  read_exactly(s->fd[1], s->big, s->big_len);
  check_pattern(s->big, 0, s->big_len);
  AX_AWAIT(&s->wr[1].base);
  TH_ASSERT_OK(s->wr[1].result);
  ck_assert_uint_eq(s->wr[1].nwritten, 3);
  read_exactly(s->fd[1], s->big + s->big_len, 3);
  ck_assert_int_eq(memcmp(s->big + s->big_len, "END", 3), 0);
  free(s->big);
  s->big = NULL;

  /* C: a read at the position into a heap buffer freed right after the
   * drop (ASan / valgrind would see a late write), the next one dropped
   * too (waiting for its turn, or running), and the file closed while
   * they may still run: the descriptor stays open for them until they
   * end.  Eight bytes end both. */
  s->heap = malloc(4);
  ck_assert_int_eq(ax_poll(ax_file_read(&s->rd[0], s->file, s->heap, 4), cx),
                   AX_PENDING);
  ax_drop(&s->rd[0].base);
  free(s->heap);
  s->heap = NULL;
  ck_assert_int_eq(ax_poll(ax_file_read(&s->rd[1], s->file, s->buf, 4), cx),
                   AX_PENDING);
  ax_drop(&s->rd[1].base);
  ax_file_close(s->file);
  ck_assert_int_eq(write(s->fd[1], "CCCCDDDD", 8), 8);
  close(s->fd[1]);
  ax_bytes_free(&s->bytes);
  AX_END();
}
#endif

START_TEST(fs_drop_running) {
#ifdef _WIN32
  SKIP_ON_WINDOWS("FIFOs keep a job running");
#else
  running_t s = {0};
  RUN_IN_TDIR(_i, running_fn, &s);   /* the shutdown waits for the jobs */
#endif
}
END_TEST

/* ---- many tasks doing file work on every worker ------------------------------------- */

typedef struct {
  ax_async_t co;
  char path[700];
  char data[64];
  int id, rounds, k;
  ax_fs_t op;
  ax_bytes_t bytes;
  int failures;                /* recorded, asserted by the test thread */
} worker_task_t;

AX_ASYNC(worker_task_fn, worker_task_t, s) {
  AX_BEGIN(s);
  for (s->k = 0; s->k < s->rounds; s->k++) {
    snprintf(s->data, sizeof(s->data), "task %d round %d", s->id, s->k);
    AX_AWAIT(ax_fs_write_file(&s->op, s->path, s->data, strlen(s->data)));
    if (s->op.result != 0) s->failures++;
    AX_AWAIT(ax_fs_read_file(&s->op, s->path, &s->bytes));
    if (s->op.result != 0 || strcmp(s->bytes.data, s->data) != 0)
      s->failures++;
  }
  AX_AWAIT(ax_fs_remove_file(&s->op, s->path));
  if (s->op.result != 0) s->failures++;
  ax_bytes_free(&s->bytes);
  AX_END();
}

#define TASKS 16
typedef struct {
  ax_async_t co;
  const char *dir;
  ax_join_t h[TASKS];
  int k, failures, done;
} spread_t;

AX_ASYNC(spread_fn, spread_t, s) {
  AX_BEGIN(s);
  for (s->k = 0; s->k < TASKS; s->k++) {
    worker_task_t t = {0};
    snprintf(t.path, sizeof(t.path), "%s/task-%d", s->dir, s->k);
    t.id = s->k;
    t.rounds = (int)ax_test_iters(20);
    TH_ASSERT_OK(AX_SPAWN(worker_task_fn, &t, &s->h[s->k]));
  }
  for (s->k = 0; s->k < TASKS; s->k++) {
    AX_AWAIT(ax_join_wait(&s->h[s->k]));
    TH_ASSERT_OK(s->h[s->k].result);
    s->failures += AX_JOIN_OUTPUT(&s->h[s->k], worker_task_t)->failures;
    s->done++;
    ax_join_drop(&s->h[s->k]);
  }
  AX_END();
}

START_TEST(fs_tasks_everywhere) {
  tdir_t d;
  spread_t s = {0};
  tdir_make(&d);
  s.dir = d.dir;
  RUN(_i, spread_fn, &s);
  ck_assert_int_eq(s.done, TASKS);
  ck_assert_int_eq(s.failures, 0);
  ck_assert_int_eq(count_entries(d.dir, "task-"), 0);
  tdir_remove(&d);
}
END_TEST

/* ---- runtime shutdown with operations in flight ------------------------------------ */

typedef struct {
  ax_async_t co;
  char path[700];
  int write;                   /* write_file a big buffer, else create_dir */
  char *big;
  size_t big_len;
  th_latch_t *polled, *dropped;
  ax_fs_t op;
  ax_bytes_t bytes;
} sd_task_t;

AX_ASYNC(sd_task_fn, sd_task_t, s) {
  AX_BEGIN(s);
  th_latch_down(s->polled);   /* the await below polls right after */
  if (s->write)
    AX_AWAIT(ax_fs_write_file(&s->op, s->path, s->big, s->big_len));
  else
    AX_AWAIT(ax_fs_create_dir(&s->op, s->path));
  AX_END();
}

AX_ASYNC_DROP(sd_task_drop, sd_task_t, s) {
  ax_bytes_free(&s->bytes);
  th_latch_down(s->dropped);
}

/* Blocks on rt until every task counted down `polled` (its first poll). */
static void wait_polled(ax_runtime_t *rt, th_latch_t *polled) {
  th_latchwait_t lw;
  th_block_on(rt, th_latch_wait(&lw, polled));
  ax_drop(&lw.base);
}

static void free_runtime_thread(void *arg) { ax_runtime_free(arg); }

#define SD_TASKS 8
START_TEST(fs_shutdown_in_flight) {
  tdir_t d;
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  pool_gate_t gate;
  th_latch_t polled, dropped;
  uv_thread_t closer;
  char *big;
  size_t big_len = 256 * 1024;
  int k;
  tdir_make(&d);
  big = malloc(big_len);
  memset(big, 'b', big_len);
  memset(&gate, 0, sizeof(gate));
  th_latch_init(&polled, SD_TASKS);
  th_latch_init(&dropped, SD_TASKS);

  /* Every pool thread held: the tasks' jobs queue behind. */
  pool_fill(&gate);
  for (k = 0; k < SD_TASKS; k++) {
    sd_task_t t;
    memset(&t, 0, sizeof(t));
    snprintf(t.path, sizeof(t.path), "%s/sd-%d", d.dir, k);
    t.write = k % 2;
    t.big = big;
    t.big_len = big_len;
    t.polled = &polled;
    t.dropped = &dropped;
    TH_ASSERT_OK(ax_spawn_on(rt, AX_FUTURE_DROP(sd_task_fn, sd_task_drop, &t),
                             sizeof(t), NULL));
  }
  wait_polled(rt, &polled);

  /* Shut down with every job queued; the pool is let go only once each
   * task's future was dropped, so no job ever runs. */
  ck_assert_int_eq(uv_thread_create(&closer, free_runtime_thread, rt), 0);
  th_latch_wait_blocking(&dropped);
  memset(big, 0, big_len);   /* the writes copied it: never read again */
  free(big);
  pool_release(&gate);
  ck_assert_int_eq(uv_thread_join(&closer), 0);
  ck_assert_int_eq(count_entries(d.dir, "sd-"), 0);
  th_latch_destroy(&polled);
  th_latch_destroy(&dropped);
  tdir_remove(&d);
}
END_TEST

/* Shutdown while jobs run: read_file of a FIFO that ends only when its
 * writer (the test) closes, which the test does once the shutdown has
 * dropped the task; and write_file jobs of several MB. */
#ifndef _WIN32
typedef struct {
  ax_async_t co;
  char path[700];
  th_latch_t *polled, *dropped;
  ax_fs_t op;
  ax_bytes_t bytes;
  char *data;
  size_t len;
} sdr_task_t;

AX_ASYNC(sdr_task_fn, sdr_task_t, s) {
  AX_BEGIN(s);
  th_latch_down(s->polled);
  if (s->data != NULL)
    AX_AWAIT(ax_fs_write_file(&s->op, s->path, s->data, s->len));
  else
    AX_AWAIT(ax_fs_read_file(&s->op, s->path, &s->bytes));
  AX_END();
}

AX_ASYNC_DROP(sdr_task_drop, sdr_task_t, s) {
  ax_bytes_free(&s->bytes);
  if (s->data == NULL) th_latch_down(s->dropped);
}
#endif

START_TEST(fs_shutdown_running) {
#ifdef _WIN32
  SKIP_ON_WINDOWS("a FIFO keeps a job running through the shutdown");
#else
  tdir_t d;
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  th_latch_t polled, dropped;
  uv_thread_t closer;
  char fifo[700];
  char *data;
  size_t len = 3u * 1024 * 1024;
  int fd, k;
  tdir_make(&d);
  fd = fifo_make(JOIN(fifo, d.dir, "fifo"));
  data = malloc(len);
  memset(data, 'd', len);
  th_latch_init(&polled, 3);
  th_latch_init(&dropped, 1);
  for (k = 0; k < 3; k++) {
    sdr_task_t t;
    memset(&t, 0, sizeof(t));
    t.polled = &polled;
    t.dropped = &dropped;
    if (k == 0) {
      snprintf(t.path, sizeof(t.path), "%s", fifo);
    } else {
      snprintf(t.path, sizeof(t.path), "%s/big-%d", d.dir, k);
      t.data = data;
      t.len = len;
    }
    TH_ASSERT_OK(ax_spawn_on(rt,
                             AX_FUTURE_DROP(sdr_task_fn, sdr_task_drop, &t),
                             sizeof(t), NULL));
  }
  wait_polled(rt, &polled);
  /* The FIFO's reader is running once it has taken some bytes. */
  ck_assert_int_eq(write(fd, "partial", 7), 7);
  while (fifo_pending(fd) > 0) uv_sleep(1);   /* an event: taken */
  ck_assert_int_eq(uv_thread_create(&closer, free_runtime_thread, rt), 0);
  th_latch_wait_blocking(&dropped);
  close(fd);   /* the reader's end: the shutdown can finish */
  ck_assert_int_eq(uv_thread_join(&closer), 0);
  free(data);
  th_latch_destroy(&polled);
  th_latch_destroy(&dropped);
  tdir_remove(&d);
#endif
}
END_TEST

/* ---- a file outlives its runtime --------------------------------------------------- */

typedef struct {
  ax_async_t co;
  const char *dir;
  char a[700];
  ax_fs_t op;
  ax_fs_open_t open;
  ax_file_t *file;
} outlive_t;

AX_ASYNC(outlive_fn, outlive_t, s) {
  AX_BEGIN(s);
  JOIN(s->a, s->dir, "kept-open");
  AX_AWAIT(ax_fs_open(&s->open, s->a, AX_FS_WRITE | AX_FS_CREATE, 0));
  TH_ASSERT_OK(s->open.result);
  s->file = s->open.file;
  AX_END();
}

START_TEST(fs_close_outside_runtime) {
  tdir_t d;
  outlive_t s = {0};
  tdir_make(&d);
  s.dir = d.dir;
  RUN(_i, outlive_fn, &s);
  ax_file_close(s.file);   /* no runtime: closed here, at once */
  tdir_remove(&d);         /* (Windows could not remove an open file) */
}
END_TEST

Suite *ax_fs_suite(void) {
  return AX_SUITE("fs",
                  AX_CASE("api", 30),
                  AX_FLAVOURS(fs_whole_files),
                  AX_FLAVOURS(fs_large_files),
                  AX_FLAVOURS(fs_open_flags),
                  AX_FLAVOURS(fs_file_ops),
                  AX_FLAVOURS(fs_metadata),
                  AX_FLAVOURS(fs_directories),
                  AX_FLAVOURS(fs_read_dir),
                  AX_FLAVOURS(fs_copy_exists_links),
                  AX_FLAVOURS(fs_temp),
                  AX_FLAVOURS(fs_misuse),
                  AX_ONCE(fs_outside_runtime),
                  AX_FLAVOURS(fs_tasks_everywhere),
                  AX_FLAVOURS(fs_close_outside_runtime),
                  AX_CASE("cancel", 30),
                  AX_ONCE(fs_drop_never_polled),
                  AX_FLAVOURS(fs_drop_queued),
                  AX_FLAVOURS(fs_drop_finished_untaken),
                  AX_FLAVOURS(fs_drop_running),
                  AX_FLAVOURS(fs_shutdown_in_flight),
                  AX_FLAVOURS(fs_shutdown_running));
}
