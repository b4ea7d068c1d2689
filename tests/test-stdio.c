/* stdin / stdout / stderr as streams (include/axle/stdio.h), on both
 * runtime flavours (loop tests: _i 0 current-thread, 1 multi-thread).
 *
 * Each case points descriptor 0, 1 or 2 of the test process at what it
 * needs (a regular file, a pipe) with dup2, and puts the original back at
 * the end.  A terminal is not tested here (no terminal in CI).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#  include <io.h>
#  define t_dup _dup
#  define t_dup2 _dup2
#  define t_close _close
#else
#  include <fcntl.h>
#  include <unistd.h>
#  define t_dup dup
#  define t_dup2 dup2
#  define t_close close
#endif

#include "helpers.h"

static void temp_path(char *buf, size_t len, const char *what, int i) {
  char tmp[1024];
  size_t n = sizeof tmp;
  ck_assert_int_eq(uv_os_tmpdir(tmp, &n), 0);
  snprintf(buf, len, "%s/axle-stdio-%d-%s-%d", tmp, (int)uv_os_getpid(), what,
           i);
}

/* A file with `data` in it, open for reading (a descriptor). */
static int file_with(const char *path, const char *data, size_t len) {
  uv_fs_t req;
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  int fd = uv_fs_open(NULL, &req, path, UV_FS_O_CREAT | UV_FS_O_TRUNC |
                      UV_FS_O_RDWR, 0644, NULL);
  uv_fs_req_cleanup(&req);
  ck_assert_int_ge(fd, 0);
  if (len != 0) {
    ck_assert_int_eq(uv_fs_write(NULL, &req, fd, &b, 1, 0, NULL), (int)len);
    uv_fs_req_cleanup(&req);
  }
  return fd;
}

static size_t file_read_all(const char *path, char *out, size_t cap) {
  uv_fs_t req;
  uv_buf_t b = uv_buf_init(out, (unsigned)cap);
  int fd = uv_fs_open(NULL, &req, path, UV_FS_O_RDONLY, 0, NULL), n;
  uv_fs_req_cleanup(&req);
  ck_assert_int_ge(fd, 0);
  n = uv_fs_read(NULL, &req, fd, &b, 1, 0, NULL);
  uv_fs_req_cleanup(&req);
  uv_fs_close(NULL, &req, fd, NULL);
  uv_fs_req_cleanup(&req);
  ck_assert_int_ge(n, 0);
  return (size_t)n;
}

static void remove_file(const char *path) {
  uv_fs_t req;
  uv_fs_unlink(NULL, &req, path, NULL);
  uv_fs_req_cleanup(&req);
}

/* Points descriptor `fd` at `to` (closing nothing); returns a copy of
 * what fd was, for put_back. */
static int redirect(int fd, int to) {
  int saved;
  if (fd == 1) fflush(stdout);
  if (fd == 2) fflush(stderr);
  saved = t_dup(fd);
  ck_assert_int_ge(saved, 0);
  ck_assert_int_ne(t_dup2(to, fd), -1);   /* Windows' _dup2 returns 0 */
  return saved;
}

static void put_back(int fd, int saved) {
  if (fd == 1) fflush(stdout);
  ck_assert_int_ne(t_dup2(saved, fd), -1);
  t_close(saved);
}

/* ---- stdin from a regular file: fs requests ------------------------------------- */

typedef struct {
  ax_async_t co;
  ax_stream_t *in, *again;
  ax_bufreader_t r;
  ax_read_until_t rl;
  ax_bytes_t line;
  ax_read_t rd;
  char lines[4][32];
  char buf[8];
  int nlines, open_rc, busy_rc, reopen_rc, kind;
} rfile_t;

AX_ASYNC(rfile_fn, rfile_t, self) {
  ax_stream_t *dup = NULL;
  AX_BEGIN(self);
  self->open_rc = ax_stdin(&self->in);
  if (self->open_rc != 0) AX_RETURN();
  self->kind = ax_stdio_kind(self->in);
  self->busy_rc = ax_stdin(&dup);          /* one stream per descriptor */
  ax_bufreader_init(&self->r, self->in, 0);
  for (;;) {
    self->line.len = 0;
    AX_AWAIT(ax_read_line(&self->rl, &self->r, &self->line));
    if (self->rl.result != 0 || self->rl.nread == 0 || self->nlines == 4)
      break;
    snprintf(self->lines[self->nlines++], sizeof self->lines[0], "%.*s",
             (int)self->line.len, self->line.data);
  }
  ax_bufreader_free(&self->r);
  /* Closed and opened again at once (from block_on's thread of the
   * multi-thread runtime the close is handed to the home first). */
  ax_stream_close(self->in);
  self->in = NULL;
  self->reopen_rc = ax_stdin(&self->again);
  if (self->reopen_rc != 0) AX_RETURN();
  AX_AWAIT(ax_read(&self->rd, self->again, self->buf, sizeof self->buf));
  AX_END();
}

AX_ASYNC_DROP(rfile_drop, rfile_t, self) {
  ax_bufreader_free(&self->r);
  ax_bytes_free(&self->line);
  ax_stream_close(self->in);
  ax_stream_close(self->again);
}

START_TEST(stdin_from_file) {
  static const char text[] = "alpha\nbeta\n\ngamma without newline";
  char path[1200];
  rfile_t st;
  int fd, saved;
  temp_path(path, sizeof path, "in", _i);
  fd = file_with(path, text, sizeof text - 1);
  saved = redirect(0, fd);
  t_close(fd);
  memset(&st, 0, sizeof st);
  th_run(_i, 2, AX_FUTURE_DROP(rfile_fn, rfile_drop, &st));
  put_back(0, saved);
  remove_file(path);
  ck_assert_int_eq(st.open_rc, 0);
  ck_assert_int_eq(st.kind, AX_STDIO_FILE);
  ck_assert_int_eq(st.busy_rc, AX_EBUSY);
  ck_assert_int_eq(st.rl.result, 0);
  ck_assert_int_eq(st.nlines, 4);
  ck_assert_str_eq(st.lines[0], "alpha\n");
  ck_assert_str_eq(st.lines[1], "beta\n");
  ck_assert_str_eq(st.lines[2], "\n");
  ck_assert_str_eq(st.lines[3], "gamma without newline");
  ck_assert_int_eq(st.reopen_rc, 0);
  ck_assert_int_eq(st.rd.result, 0);     /* the file's end, again */
  ck_assert_uint_eq(st.rd.nread, 0);
}
END_TEST

/* ---- stdout to a regular file --------------------------------------------------- */

#define BIG (200 * 1024)   /* more than one 64 KiB request */

typedef struct {
  ax_async_t co;
  ax_stream_t *out;
  ax_write_t wr, wr2;
  ax_shutdown_t sh;
  char *data;
  int open_rc, kind;
} wfile_t;

AX_ASYNC(wfile_fn, wfile_t, self) {
  AX_BEGIN(self);
  self->open_rc = ax_stdout(&self->out);
  if (self->open_rc != 0) AX_RETURN();
  self->kind = ax_stdio_kind(self->out);
  AX_AWAIT(ax_write_all(&self->wr, self->out, self->data, BIG));
  AX_AWAIT(ax_write_all(&self->wr2, self->out, "end\n", 4));
  AX_AWAIT(ax_shutdown(&self->sh, self->out));
  AX_END();
}

AX_ASYNC_DROP(wfile_drop, wfile_t, self) { ax_stream_close(self->out); }

START_TEST(stdout_to_file) {
  char path[1200], *back;
  wfile_t st;
  int fd, saved, i;
  size_t n;
  temp_path(path, sizeof path, "out", _i);
  fd = file_with(path, "", 0);
  memset(&st, 0, sizeof st);
  st.data = malloc(BIG);
  back = malloc(BIG + 16);
  for (i = 0; i < BIG; i++) st.data[i] = (char)('a' + i % 26);
  saved = redirect(1, fd);
  t_close(fd);
  th_run(_i, 2, AX_FUTURE_DROP(wfile_fn, wfile_drop, &st));
  put_back(1, saved);
  n = file_read_all(path, back, BIG + 16);
  remove_file(path);
  ck_assert_int_eq(st.open_rc, 0);
  ck_assert_int_eq(st.kind, AX_STDIO_FILE);
  ck_assert_int_eq(st.wr.result, 0);
  ck_assert_uint_eq(st.wr.nwritten, BIG);
  ck_assert_int_eq(st.wr2.result, 0);
  ck_assert_int_eq(st.sh.result, 0);
  ck_assert_uint_eq(n, BIG + 4);
  ck_assert_int_eq(memcmp(back, st.data, BIG), 0);
  ck_assert_int_eq(memcmp(back + BIG, "end\n", 4), 0);
  free(st.data);
  free(back);
}
END_TEST

/* ---- pipes (POSIX: the descriptor's blocking mode comes back) --------------------- */

#ifndef _WIN32
/* 1 non-blocking, 0 blocking, -1 no such descriptor. */
static int is_nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl == -1 ? -1 : (fl & O_NONBLOCK) != 0;
}

/* Waits until what was handed to the home before has run there: a call
 * that waits for the home (a signal listener opened and closed). */
static void home_sync(void) {
  ax_signal_t *s = NULL;
  if (ax_signal_open(SIGUSR2, &s) == 0) ax_signal_close(s);
}

typedef struct {
  ax_async_t co;
  ax_stream_t *in, *out, *err;
  ax_read_to_end_t rte;
  ax_write_t wr;
  ax_bytes_t got;
  int write_end;                /* the pipe the test reads stdout from */
  int in_rc, out_rc, err_rc, in_kind, out_kind, err_kind;
  int nb_in_open, nb_after_out, nb_after_err, nb_in_after;
} ppipe_t;

AX_ASYNC(ppipe_fn, ppipe_t, self) {
  AX_BEGIN(self);
  self->in_rc = ax_stdin(&self->in);
  self->out_rc = ax_stdout(&self->out);
  self->err_rc = ax_stderr(&self->err);
  if (self->in_rc || self->out_rc || self->err_rc) AX_RETURN();
  self->in_kind = ax_stdio_kind(self->in);
  self->out_kind = ax_stdio_kind(self->out);
  self->err_kind = ax_stdio_kind(self->err);
  self->nb_in_open = is_nonblocking(0);
  AX_AWAIT(ax_read_to_end(&self->rte, self->in, &self->got, 1 << 20));
  AX_AWAIT(ax_write_all(&self->wr, self->out, self->got.data,
                        self->got.len));
  /* stdout and stderr are one pipe: closing one keeps the other's
   * descriptor non-blocking; closing both gives it its mode back. */
  ax_stream_close(self->out);
  self->out = NULL;
  home_sync();
  self->nb_after_out = is_nonblocking(self->write_end);
  ax_stream_close(self->err);
  self->err = NULL;
  ax_stream_close(self->in);
  self->in = NULL;
  home_sync();
  self->nb_after_err = is_nonblocking(self->write_end);
  self->nb_in_after = is_nonblocking(0);
  AX_END();
}

AX_ASYNC_DROP(ppipe_drop, ppipe_t, self) {
  ax_stream_close(self->in);
  ax_stream_close(self->out);
  ax_stream_close(self->err);
  ax_bytes_free(&self->got);
}
#endif

START_TEST(stdio_pipes) {
#ifdef _WIN32
  puts("stdio_pipes: skipped (checks POSIX O_NONBLOCK)");
#else
  static const char msg[] = "through a pipe\nand out again\n";
  uv_file inp[2], outp[2];
  ppipe_t st;
  int s0, s1, s2;
  char back[128];
  ssize_t n;
  ck_assert_int_eq(uv_pipe(inp, 0, 0), 0);
  ck_assert_int_eq(uv_pipe(outp, 0, 0), 0);
  ck_assert_int_eq((int)write(inp[1], msg, sizeof msg - 1), (int)sizeof msg - 1);
  close(inp[1]);                            /* stdin will read the end */
  memset(&st, 0, sizeof st);
  st.write_end = outp[1];
  s0 = redirect(0, inp[0]);
  s1 = redirect(1, outp[1]);
  s2 = redirect(2, outp[1]);                /* 2>&1 */
  close(inp[0]);
  th_run(_i, 2, AX_FUTURE_DROP(ppipe_fn, ppipe_drop, &st));
  put_back(0, s0);
  put_back(1, s1);
  put_back(2, s2);
  close(outp[1]);
  n = read(outp[0], back, sizeof back);
  close(outp[0]);
  ck_assert_int_eq(st.in_rc, 0);
  ck_assert_int_eq(st.out_rc, 0);
  ck_assert_int_eq(st.err_rc, 0);
  ck_assert_int_eq(st.in_kind, AX_STDIO_PIPE);
  ck_assert_int_eq(st.out_kind, AX_STDIO_PIPE);
  ck_assert_int_eq(st.err_kind, AX_STDIO_PIPE);
  ck_assert_int_eq(st.nb_in_open, 1);       /* libuv made it non-blocking */
  ck_assert_int_eq(st.rte.result, 0);
  ck_assert_int_eq(st.wr.result, 0);
  ck_assert_int_eq((int)n, (int)sizeof msg - 1);
  ck_assert_int_eq(memcmp(back, msg, sizeof msg - 1), 0);
  ck_assert_int_eq(st.nb_after_out, 1);
  ck_assert_int_eq(st.nb_after_err, 0);
  ck_assert_int_eq(st.nb_in_after, 0);
#endif
}
END_TEST

/* ---- errors -------------------------------------------------------------------------- */

START_TEST(outside_runtime) {
  ax_stream_t *s = (ax_stream_t *)&s;
  (void)_i;
  ck_assert_int_eq(ax_stdin(&s), AX_ENORUNTIME);
  ck_assert_ptr_null(s);
  ck_assert_int_eq(ax_stdout(NULL), AX_EINVAL);
  ck_assert_int_eq(ax_stdio_kind(NULL), AX_EINVAL);
  ck_assert_int_eq(ax_tty_set_mode(NULL, AX_TTY_RAW), AX_EINVAL);
}
END_TEST

Suite *ax_stdio_suite(void) {
  return AX_SUITE("stdio",
                  AX_CASE("stdio", 30),
                  AX_FLAVOURS(stdin_from_file),
                  AX_FLAVOURS(stdout_to_file),
                  AX_FLAVOURS(stdio_pipes),
                  AX_ONCE(outside_runtime));
}
