/* Child processes, signals and local sockets (include/axle/process.h, the
 * local-socket part of net.h), on both runtime flavours (loop tests: _i
 * 0 current-thread, 1 multi-thread).
 *
 * The child is tests/proc-helper.c, found next to this test's executable:
 * no shell, so the same cases run on Windows.  Cases that need POSIX
 * signals say so and pass on Windows without running.
 *
 * Async bodies never call ck_assert (it would longjmp out of a worker):
 * they record what they saw in their state, which the test checks after
 * block_on.  No timing decides a result: "eventually" checks poll a
 * condition with a generous bound, and races between a future and a sleep
 * are set up so that only one side can finish.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#ifdef _WIN32
#  define EXE ".exe"
#else
#  define EXE ""
#endif

/* ---- helpers ------------------------------------------------------------------ */

/* tests/proc-helper, beside this executable. */
static const char *helper(void) {
  static char path[4096];
  size_t len = sizeof path - 32, i, cut = 0;
  if (path[0] != '\0') return path;
  ck_assert_int_eq(uv_exepath(path, &len), 0);
  for (i = 0; i < len; i++)
    if (path[i] == '/' || path[i] == '\\') cut = i + 1;
  snprintf(path + cut, sizeof path - cut, "proc-helper" EXE);
  return path;
}

static ax_command_t helper_cmd(const char *const *args) {
  ax_command_t c = AX_ZERO(ax_command_t);
  c.program = helper();
  c.args = args;
  return c;
}

/* 1 once pid is gone (POSIX: reaped, as a zombie still answers). */
static int gone(int pid) {
  int i;
  for (i = 0; i < 3000; i++) {
    if (uv_kill(pid, 0) == UV_ESRCH) return 1;
    uv_sleep(10);
  }
  return 0;
}

static int str_eq(const ax_bytes_t *b, const char *s) {
  return b->len == strlen(s) && memcmp(b->data, s, b->len) == 0;
}

/* ---- the child of a test ------------------------------------------------------- */

/* What most tests hold: the command to run, the child, and the ends of
 * its stdin and stdout when they are piped (NULL otherwise). */
typedef struct {
  ax_command_t cmd;
  ax_child_t *child;
  ax_stream_t *in, *out;
  int spawn_rc;
} kid_t;

/* Spawns k->cmd with its stdin and/or stdout piped as asked and takes
 * those ends: 0, or the spawn's error (also in k->spawn_rc). */
static int kid_spawn(kid_t *k, int pipe_in, int pipe_out) {
  if (pipe_in) k->cmd.stdio[0] = AX_CHILD_PIPED;
  if (pipe_out) k->cmd.stdio[1] = AX_CHILD_PIPED;
  k->spawn_rc = ax_command_spawn(&k->cmd, &k->child);
  if (k->spawn_rc != 0) return k->spawn_rc;
  if (pipe_in) k->in = ax_child_take_stdin(k->child);
  if (pipe_out) k->out = ax_child_take_stdout(k->child);
  return 0;
}

/* Closes whatever of the child k still holds (a drop handler's part; the
 * pointers stay as they were, for the test to look at). */
static void kid_close(kid_t *k) {
  ax_stream_close(k->in);
  ax_stream_close(k->out);
  ax_child_close(k->child);
}

/* Inside a runtime: sleeps until pid is gone (the loops reap it
 * meanwhile); `gone` says whether it went within the bound. */
typedef struct {
  ax_async_t co;
  int pid;
  int i, gone;
  ax_sleep_t nap;
} wait_gone_t;

AX_ASYNC(wait_gone, wait_gone_t, self) {
  AX_BEGIN(self);
  for (self->i = 0; self->i < 3000; self->i++) {
    if (uv_kill(self->pid, 0) == UV_ESRCH) {
      self->gone = 1;
      break;
    }
    AX_AWAIT(ax_sleep(&self->nap, 10));
  }
  AX_END();
}

/* ---- spawn and wait: exit statuses, missing programs --------------------------------- */

typedef struct {
  ax_async_t co;
  kid_t k;
  ax_child_wait_t w;
  int pid;
} spawn_wait_t;

AX_ASYNC(spawn_wait, spawn_wait_t, self) {
  AX_BEGIN(self);
  if (kid_spawn(&self->k, 0, 0) != 0) AX_RETURN();
  self->pid = ax_child_pid(self->k.child);
  AX_AWAIT(ax_child_wait(&self->w, self->k.child));
  AX_END();
}

AX_ASYNC_DROP(spawn_wait_drop, spawn_wait_t, self) { kid_close(&self->k); }

static spawn_wait_t spawn_and_wait(int multi, ax_command_t cmd) {
  spawn_wait_t st;
  memset(&st, 0, sizeof st);
  st.k.cmd = cmd;
  th_run(multi, 2, AX_FUTURE_DROP(spawn_wait, spawn_wait_drop, &st));
  return st;
}

START_TEST(exit_zero) {
  static const char *const args[] = {"exit", "0", NULL};
  spawn_wait_t st = spawn_and_wait(_i, helper_cmd(args));
  ck_assert_int_eq(st.k.spawn_rc, 0);
  ck_assert_int_gt(st.pid, 0);
  ck_assert_int_eq(st.w.result, 0);
  ck_assert_int_eq((int)st.w.status.code, 0);
  ck_assert_int_eq(st.w.status.signal, 0);
  ck_assert(ax_exit_success(&st.w.status));
}
END_TEST

START_TEST(exit_nonzero) {
  static const char *const args[] = {"exit", "7", NULL};
  static const char *const err_args[] = {"stderr", "oops", NULL};
  spawn_wait_t st = spawn_and_wait(_i, helper_cmd(args));
  ck_assert_int_eq(st.k.spawn_rc, 0);
  ck_assert_int_eq(st.w.result, 0);   /* not an error: the status says it */
  ck_assert_int_eq((int)st.w.status.code, 7);
  ck_assert(!ax_exit_success(&st.w.status));
  {
    ax_command_t c = helper_cmd(err_args);
    c.stdio[2] = AX_CHILD_NULL;       /* "oops" goes nowhere */
    st = spawn_and_wait(_i, c);
    ck_assert_int_eq(st.k.spawn_rc, 0);
    ck_assert_int_eq((int)st.w.status.code, 3);
  }
}
END_TEST

START_TEST(missing_program) {
  ax_command_t c = AX_ZERO(ax_command_t);
  ax_child_t *child = (ax_child_t *)&c;
  spawn_wait_t st;
  c.program = "/nonexistent-axle-dir/no-such-program";
  st = spawn_and_wait(_i, c);
  ck_assert_int_eq(st.k.spawn_rc, UV_ENOENT);
  ck_assert_ptr_null(st.k.child);
  c.program = "axle-no-such-program-in-path";   /* looked up in PATH */
  st = spawn_and_wait(_i, c);
  ck_assert_int_eq(st.k.spawn_rc, UV_ENOENT);
  c.program = NULL;
  st = spawn_and_wait(_i, c);
  ck_assert_int_eq(st.k.spawn_rc, AX_EINVAL);
  c = helper_cmd(NULL);
  c.stdio[1] = (ax_child_stdio_t)42;
  st = spawn_and_wait(_i, c);
  ck_assert_int_eq(st.k.spawn_rc, AX_EINVAL);
  c.stdio[1] = AX_CHILD_INHERIT;
  c.cwd = "/nonexistent-axle-dir";
  st = spawn_and_wait(_i, c);
  ck_assert_int_lt(st.k.spawn_rc, 0);           /* UV_ENOENT on Linux */
  /* Outside a runtime. */
  ck_assert_int_eq(ax_command_spawn(&c, &child), AX_ENORUNTIME);
  ck_assert_ptr_null(child);
}
END_TEST

/* ---- piped stdio ------------------------------------------------------------------ */

typedef struct {
  ax_async_t co;
  kid_t k;
  ax_write_t wr;
  ax_shutdown_t sh;
  ax_read_to_end_t rte;
  ax_child_wait_t w;
  ax_bytes_t got;
  const char *msg;
  int taken_twice;
} echo_t;

AX_ASYNC(echo_fn, echo_t, self) {
  AX_BEGIN(self);
  if (kid_spawn(&self->k, 1, 1) != 0) AX_RETURN();
  self->taken_twice = ax_child_take_stdout(self->k.child) != NULL ||
                      ax_child_take_stderr(self->k.child) != NULL;
  AX_AWAIT(ax_write_all(&self->wr, self->k.in, self->msg, strlen(self->msg)));
  AX_AWAIT(ax_shutdown(&self->sh, self->k.in));   /* the child reads EOF */
  AX_AWAIT(ax_read_to_end(&self->rte, self->k.out, &self->got, 1 << 20));
  AX_AWAIT(ax_child_wait(&self->w, self->k.child));
  AX_END();
}

AX_ASYNC_DROP(echo_drop, echo_t, self) { kid_close(&self->k); }

START_TEST(piped_round_trip) {
  static const char *const args[] = {"echo", NULL};
  echo_t st;
  memset(&st, 0, sizeof st);
  st.k.cmd = helper_cmd(args);
  st.msg = "hello, child\nsecond line\n";
  th_run(_i, 2, AX_FUTURE_DROP(echo_fn, echo_drop, &st));
  ck_assert_int_eq(st.k.spawn_rc, 0);
  ck_assert_int_eq(st.taken_twice, 0);
  ck_assert_int_eq(st.wr.result, 0);
  ck_assert_int_eq(st.sh.result, 0);
  ck_assert_int_eq(st.rte.result, 0);
  ck_assert(str_eq(&st.got, st.msg));
  ck_assert_int_eq(st.w.result, 0);
  ck_assert(ax_exit_success(&st.w.status));
  ax_bytes_free(&st.got);
}
END_TEST

/* Writing to a child that has exited: an error (UV_EPIPE), not a crash
 * (POSIX: SIGPIPE is ignored). */
typedef struct {
  ax_async_t co;
  kid_t k;
  ax_child_wait_t w;
  ax_write_t wr;
  char data[65536];
} broken_t;

AX_ASYNC(broken_fn, broken_t, self) {
  AX_BEGIN(self);
  if (kid_spawn(&self->k, 1, 0) != 0) AX_RETURN();
  AX_AWAIT(ax_child_wait(&self->w, self->k.child));
  AX_AWAIT(ax_write_all(&self->wr, self->k.in, self->data, sizeof self->data));
  AX_END();
}

AX_ASYNC_DROP(broken_drop, broken_t, self) { kid_close(&self->k); }

START_TEST(broken_pipe) {
  static const char *const args[] = {"exit", "0", NULL};
  broken_t *st = calloc(1, sizeof *st);
  st->k.cmd = helper_cmd(args);
  th_run(_i, 2, AX_FUTURE_DROP(broken_fn, broken_drop, st));
  ck_assert_int_eq(st->k.spawn_rc, 0);
  ck_assert(ax_exit_success(&st->w.status));
#ifndef _WIN32
  ck_assert_int_eq(st->wr.result, UV_EPIPE);
#else
  ck_assert_int_lt(st->wr.result, 0);
#endif
  free(st);
}
END_TEST

/* A child's lines through the buffered reader, and a big write both ways
 * (more than a pipe holds: the parent must read while it writes). */
typedef struct {
  ax_async_t co;
  kid_t k;
  ax_bufreader_t r;
  ax_read_until_t rl;
  ax_bytes_t line;
  ax_child_wait_t w;
  int lines, bad;
} lines_t;

AX_ASYNC(lines_fn, lines_t, self) {
  AX_BEGIN(self);
  if (kid_spawn(&self->k, 0, 1) != 0) AX_RETURN();
  ax_bufreader_init(&self->r, self->k.out, 0);
  for (;;) {
    self->line.len = 0;
    AX_AWAIT(ax_read_line(&self->rl, &self->r, &self->line));
    if (self->rl.result != 0 || self->rl.nread == 0) break;
    {
      char want[32];
      snprintf(want, sizeof want, "line %d\n", ++self->lines);
      /* Windows' C runtime writes "\r\n" in text mode. */
      if (self->line.len >= 2 && self->line.data[self->line.len - 2] == '\r') {
        self->line.data[self->line.len - 2] = '\n';
        self->line.len--;
      }
      if (!str_eq(&self->line, want)) self->bad++;
    }
  }
  AX_AWAIT(ax_child_wait(&self->w, self->k.child));
  AX_END();
}

AX_ASYNC_DROP(lines_drop, lines_t, self) {
  ax_bufreader_free(&self->r);
  ax_bytes_free(&self->line);
  kid_close(&self->k);
}

START_TEST(child_lines) {
  static const char *const args[] = {"lines", "2000", NULL};
  lines_t st;
  memset(&st, 0, sizeof st);
  st.k.cmd = helper_cmd(args);
  th_run(_i, 2, AX_FUTURE_DROP(lines_fn, lines_drop, &st));
  ck_assert_int_eq(st.k.spawn_rc, 0);
  ck_assert_int_eq(st.rl.result, 0);
  ck_assert_int_eq(st.lines, 2000);
  ck_assert_int_eq(st.bad, 0);
  ck_assert(ax_exit_success(&st.w.status));
}
END_TEST

/* ---- environment and working directory ---------------------------------------------- */

typedef struct {
  ax_async_t co;
  kid_t k;
  ax_read_to_end_t rte;
  ax_child_wait_t w;
  ax_bytes_t got;
} capture_t;

AX_ASYNC(capture_fn, capture_t, self) {
  AX_BEGIN(self);
  if (kid_spawn(&self->k, 0, 1) != 0) AX_RETURN();
  AX_AWAIT(ax_read_to_end(&self->rte, self->k.out, &self->got, 1 << 20));
  AX_AWAIT(ax_child_wait(&self->w, self->k.child));
  AX_END();
}

AX_ASYNC_DROP(capture_drop, capture_t, self) { kid_close(&self->k); }

/* The child's stdout, trailing newline (and CR) removed, in out. */
static void capture(int multi, ax_command_t cmd, char *out, size_t cap) {
  capture_t st;
  size_t n;
  memset(&st, 0, sizeof st);
  st.k.cmd = cmd;
  th_run(multi, 2, AX_FUTURE_DROP(capture_fn, capture_drop, &st));
  ck_assert_int_eq(st.k.spawn_rc, 0);
  ck_assert_int_eq(st.rte.result, 0);
  ck_assert(ax_exit_success(&st.w.status));
  n = st.got.len;
  while (n > 0 && (st.got.data[n - 1] == '\n' || st.got.data[n - 1] == '\r'))
    n--;
  ck_assert_uint_lt(n, cap);
  if (n) memcpy(out, st.got.data, n);
  out[n] = '\0';
  ax_bytes_free(&st.got);
}

START_TEST(env_set_remove_clear) {
  static const char *const get_var[] = {"env", "AXLE_TEST_VAR", NULL};
  static const char *const get_inh[] = {"env", "AXLE_TEST_INHERITED", NULL};
  static const char *const set[] = {"AXLE_TEST_VAR=forty-two", NULL};
  static const char *const remove[] = {"AXLE_TEST_INHERITED", NULL};
  static const char *const later_wins[] = {"AXLE_TEST_VAR=a",
                                           "AXLE_TEST_VAR=b", NULL};
  char out[256];
  ax_command_t c;

  ck_assert_int_eq(uv_os_setenv("AXLE_TEST_INHERITED", "from-parent"), 0);
  c = helper_cmd(get_inh);                 /* inherited by default */
  capture(_i, c, out, sizeof out);
  ck_assert_str_eq(out, "from-parent");
  c.env = remove;                          /* "NAME" removes it */
  capture(_i, c, out, sizeof out);
  ck_assert_str_eq(out, "<unset>");
  c = helper_cmd(get_var);
  c.env = set;
  capture(_i, c, out, sizeof out);
  ck_assert_str_eq(out, "forty-two");
  c.env = later_wins;
  capture(_i, c, out, sizeof out);
  ck_assert_str_eq(out, "b");
  c = helper_cmd(get_inh);                 /* cleared: nothing inherited */
  c.env_clear = 1;
  c.env = set;
  capture(_i, c, out, sizeof out);
  ck_assert_str_eq(out, "<unset>");
  c = helper_cmd(get_var);
  c.env_clear = 1;
  c.env = set;
  capture(_i, c, out, sizeof out);
  ck_assert_str_eq(out, "forty-two");
  {
    static const char *const bad[] = {"=x", NULL};
    spawn_wait_t st;
    c.env = bad;
    st = spawn_and_wait(_i, c);
    ck_assert_int_eq(st.k.spawn_rc, AX_EINVAL);
  }
  uv_os_unsetenv("AXLE_TEST_INHERITED");
}
END_TEST

START_TEST(working_directory) {
  static const char *const args[] = {"cwd", NULL};
  char tmp[1024], dir[1100], name[64], out[2048];
  size_t len = sizeof tmp;
  uv_fs_t req;
  ax_command_t c;
  ck_assert_int_eq(uv_os_tmpdir(tmp, &len), 0);
  snprintf(name, sizeof name, "axle-cwd-%d-%d", (int)uv_os_getpid(), _i);
  snprintf(dir, sizeof dir, "%s/%s", tmp, name);
  uv_fs_mkdir(NULL, &req, dir, 0755, NULL);
  uv_fs_req_cleanup(&req);
  c = helper_cmd(args);
  c.cwd = dir;
  capture(_i, c, out, sizeof out);
  ck_assert_uint_ge(strlen(out), strlen(name));
  ck_assert_str_eq(out + strlen(out) - strlen(name), name);
  uv_fs_rmdir(NULL, &req, dir, NULL);
  uv_fs_req_cleanup(&req);
}
END_TEST

/* ---- kill, kill_on_drop, close while running ---------------------------------------- */

typedef struct {
  ax_async_t co;
  kid_t k;
  ax_child_wait_t w, w2;
  int kill_rc, kill0_rc, after_rc, exited_before, exited_after;
  ax_exit_status_t st_after;
} kill_t;

AX_ASYNC(kill_fn, kill_t, self) {
  AX_BEGIN(self);
  if (kid_spawn(&self->k, 0, 0) != 0) AX_RETURN();
  ax_child_try_wait(self->k.child, &self->exited_before, NULL);
  self->kill0_rc = ax_child_kill(self->k.child, 0);   /* alive? */
  self->kill_rc = ax_child_kill(self->k.child, SIGTERM);
  AX_AWAIT(ax_child_wait(&self->w, self->k.child));
  /* Ended: no signal goes to a pid that may be someone else's now. */
  self->after_rc = ax_child_kill(self->k.child, SIGTERM);
  ax_child_try_wait(self->k.child, &self->exited_after, &self->st_after);
  AX_AWAIT(ax_child_wait(&self->w2, self->k.child));   /* same status */
  AX_END();
}

AX_ASYNC_DROP(kill_drop, kill_t, self) { kid_close(&self->k); }

START_TEST(kill_child) {
  static const char *const args[] = {"sleep", NULL};
  kill_t st;
  memset(&st, 0, sizeof st);
  st.k.cmd = helper_cmd(args);
  th_run(_i, 2, AX_FUTURE_DROP(kill_fn, kill_drop, &st));
  ck_assert_int_eq(st.k.spawn_rc, 0);
  ck_assert_int_eq(st.exited_before, 0);
  ck_assert_int_eq(st.kill0_rc, 0);
  ck_assert_int_eq(st.kill_rc, 0);
  ck_assert_int_eq(st.w.result, 0);
  ck_assert_int_eq(st.w.status.signal, SIGTERM);
  ck_assert(!ax_exit_success(&st.w.status));
  ck_assert_int_eq(st.after_rc, 0);
  ck_assert_int_eq(st.exited_after, 1);
  ck_assert_int_eq(st.st_after.signal, SIGTERM);
  ck_assert_int_eq(st.w2.result, 0);
  ck_assert_int_eq(st.w2.status.signal, SIGTERM);
  ck_assert_int_eq(ax_child_kill(NULL, SIGTERM), AX_EINVAL);
}
END_TEST

/* The kill from a thread other than the child's home (the test thread,
 * after block_on spawned it): handed to the home.  spawn_wait's two
 * halves, one block_on each, the kill in between. */
AX_ASYNC(spawn_only, spawn_wait_t, self) {
  AX_BEGIN(self);
  kid_spawn(&self->k, 0, 0);
  AX_END();
}

AX_ASYNC(wait_only, spawn_wait_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_child_wait(&self->w, self->k.child));
  AX_END();
}

START_TEST(kill_from_another_thread) {
  static const char *const args[] = {"sleep", NULL};
  spawn_wait_t st;
  ax_runtime_t *rt;
  memset(&st, 0, sizeof st);
  st.k.cmd = helper_cmd(args);
  rt = th_start(_i, 2, AX_FUTURE(spawn_only, &st));
  ax_drop(AX_FUTURE_OF(&st));
  ck_assert_int_eq(st.k.spawn_rc, 0);
  /* This thread runs no loop now: the kill is queued for the home. */
  ck_assert_int_eq(ax_child_kill(st.k.child, SIGTERM), 0);
  ck_assert_int_eq(ax_child_kill(st.k.child, SIGTERM), 0);   /* merged */
  th_block_on(rt, AX_FUTURE(wait_only, &st));
  ax_drop(AX_FUTURE_OF(&st));
  ck_assert_int_eq(st.w.result, 0);
  ck_assert_int_eq(st.w.status.signal, SIGTERM);
  ax_child_close(st.k.child);
  ax_runtime_free(rt);
}
END_TEST

/* kill_on_drop: closing the handle of a running child kills it, and the
 * home reaps it. */
typedef struct {
  ax_async_t co;
  kid_t k;
  wait_gone_t wg;
  int exited;
} kod_t;

AX_ASYNC(kod_fn, kod_t, self) {
  AX_BEGIN(self);
  if (kid_spawn(&self->k, 0, 0) != 0) AX_RETURN();
  self->wg.pid = ax_child_pid(self->k.child);
  ax_child_try_wait(self->k.child, &self->exited, NULL);
  ax_child_close(self->k.child);   /* SIGKILL, then reaped by the home */
  self->k.child = NULL;
  AX_AWAIT(AX_FUTURE(wait_gone, &self->wg));
  AX_END();
}

AX_ASYNC_DROP(kod_drop, kod_t, self) { kid_close(&self->k); }

START_TEST(kill_on_drop) {
  static const char *const args[] = {"sleep", NULL};
  kod_t st;
  memset(&st, 0, sizeof st);
  st.k.cmd = helper_cmd(args);
  st.k.cmd.kill_on_drop = 1;
  th_run(_i, 2, AX_FUTURE_DROP(kod_fn, kod_drop, &st));
  ck_assert_int_eq(st.k.spawn_rc, 0);
  ck_assert_int_eq(st.exited, 0);
  ck_assert_int_eq(st.wg.gone, 1);
}
END_TEST

/* The handle closed while the child runs on: it still answers, and once
 * it ends it is reaped (no zombie). */
typedef struct {
  ax_async_t co;
  kid_t k;
  ax_write_t wr;
  ax_read_t rd;
  char buf[16];
  wait_gone_t wg;
  int pid;
} detached_t;

AX_ASYNC(detached_fn, detached_t, self) {
  AX_BEGIN(self);
  if (kid_spawn(&self->k, 1, 1) != 0) AX_RETURN();
  self->pid = ax_child_pid(self->k.child);
  ax_child_close(self->k.child);   /* no kill_on_drop: it runs on */
  self->k.child = NULL;
  AX_AWAIT(ax_write_all(&self->wr, self->k.in, "ping", 4));
  AX_AWAIT(ax_read_exact(&self->rd, self->k.out, self->buf, 4));
  ax_stream_close(self->k.in);     /* EOF: it ends now */
  self->k.in = NULL;
  self->wg.pid = self->pid;
  AX_AWAIT(AX_FUTURE(wait_gone, &self->wg));
  AX_END();
}

AX_ASYNC_DROP(detached_drop, detached_t, self) { kid_close(&self->k); }

START_TEST(close_keeps_running) {
  static const char *const args[] = {"echo", NULL};
  detached_t st;
  memset(&st, 0, sizeof st);
  st.k.cmd = helper_cmd(args);
  th_run(_i, 2, AX_FUTURE_DROP(detached_fn, detached_drop, &st));
  ck_assert_int_eq(st.k.spawn_rc, 0);
  ck_assert_int_eq(st.rd.result, 0);
  ck_assert_int_eq(memcmp(st.buf, "ping", 4), 0);
  ck_assert_int_eq(st.wg.gone, 1);   /* it ended and was reaped */
}
END_TEST

/* ---- dropped and concurrent waits ---------------------------------------------------- */

typedef struct {
  ax_async_t co;
  kid_t k;
  ax_child_wait_t w, w2, w3;
  ax_sleep_t nap;
  ax_select_t race;
  int second_rc, exited_mid;
} waits_t;

AX_ASYNC(waits_fn, waits_t, self) {
  AX_BEGIN(self);
  /* stdin piped: the child ends when its stdin does. */
  if (kid_spawn(&self->k, 1, 0) != 0) AX_RETURN();
  /* The child cannot end before its stdin closes: the sleep wins and the
   * wait is dropped mid-flight. */
  AX_AWAIT(ax_select(&self->race, ax_child_wait(&self->w, self->k.child),
                     ax_sleep(&self->nap, 20)));
  /* Two waits at once: the second is refused. */
  ax_child_wait(&self->w, self->k.child);
  ax_child_wait(&self->w2, self->k.child);
  {
    int first = ax_poll(&self->w.base, cx) == AX_PENDING;
    int second = ax_poll(&self->w2.base, cx) == AX_READY;
    self->second_rc = first && second ? self->w2.result : 1;
  }
  ax_drop(&self->w.base);           /* the first one goes too */
  ax_child_try_wait(self->k.child, &self->exited_mid, NULL);
  ax_stream_close(self->k.in);
  self->k.in = NULL;
  AX_AWAIT(ax_child_wait(&self->w3, self->k.child));
  AX_END();
}

AX_ASYNC_DROP(waits_drop, waits_t, self) { kid_close(&self->k); }

START_TEST(wait_dropped_and_busy) {
  static const char *const args[] = {"echo", NULL};
  waits_t st;
  memset(&st, 0, sizeof st);
  st.k.cmd = helper_cmd(args);
  st.k.cmd.stdio[1] = AX_CHILD_NULL;
  th_run(_i, 2, AX_FUTURE_DROP(waits_fn, waits_drop, &st));
  ck_assert_int_eq(st.k.spawn_rc, 0);
  ck_assert_int_eq(st.race.winner, 1);
  ck_assert_int_eq(st.second_rc, AX_EBUSY);
  ck_assert_int_eq(st.exited_mid, 0);
  ck_assert_int_eq(st.w3.result, 0);
  ck_assert(ax_exit_success(&st.w3.status));
}
END_TEST

/* ---- signals (POSIX) ------------------------------------------------------------------ */

#ifndef _WIN32
typedef struct {
  ax_async_t co;
  ax_signal_t *a, *b;
  ax_signal_recv_t ra, rb;
  ax_ctrl_c_t cc;
  int open_a, open_b, ctrl_c_first;
} sigs_t;

AX_ASYNC(sig_fn, sigs_t, self) {
  AX_BEGIN(self);
  self->open_a = ax_signal_open(SIGUSR1, &self->a);
  self->open_b = ax_signal_open(SIGUSR1, &self->b);
  if (self->open_a != 0 || self->open_b != 0) AX_RETURN();
  /* Delivered while nobody waits: the next recv of each listener sees
   * it, and two deliveries may count as one. */
  uv_kill(uv_os_getpid(), SIGUSR1);
  uv_kill(uv_os_getpid(), SIGUSR1);
  AX_AWAIT(ax_signal_recv(&self->ra, self->a));
  AX_AWAIT(ax_signal_recv(&self->rb, self->b));
  /* ctrl-c: the first poll registers, so the SIGINT below is caught. */
  ax_ctrl_c(&self->cc);
  self->ctrl_c_first = ax_poll(&self->cc.base, cx) == AX_PENDING;
  uv_kill(uv_os_getpid(), SIGINT);
  AX_AWAIT(&self->cc.base);
  AX_END();
}

AX_ASYNC_DROP(sig_drop, sigs_t, self) {
  ax_drop(&self->cc.base);
  ax_signal_close(self->a);
  ax_signal_close(self->b);
}
#endif

START_TEST(signals) {
#ifdef _WIN32
  puts("signals: skipped (POSIX signals; Windows has only console events)");
#else
  sigs_t st;
  ax_signal_t *s = NULL;
  memset(&st, 0, sizeof st);
  th_run(_i, 2, AX_FUTURE_DROP(sig_fn, sig_drop, &st));
  ck_assert_int_eq(st.open_a, 0);
  ck_assert_int_eq(st.open_b, 0);
  ck_assert_int_eq(st.ra.result, 0);
  ck_assert_int_eq(st.rb.result, 0);
  ck_assert_int_eq(st.ctrl_c_first, 1);
  ck_assert_int_eq(st.cc.result, 0);
  ck_assert_int_eq(ax_signal_open(SIGUSR1, &s), AX_ENORUNTIME);
  ck_assert_ptr_null(s);
#endif
}
END_TEST

#ifndef _WIN32
typedef struct {
  ax_async_t co;
  int kill_rc, zero_rc, ok_rc, signum;
  ax_signal_t *ok;
} sig_err_t;

AX_ASYNC(sig_err_fn, sig_err_t, self) {
  ax_signal_t *s = NULL;
  AX_BEGIN(self);
  self->kill_rc = ax_signal_open(SIGKILL, &s);
  self->zero_rc = ax_signal_open(0, &s);
  self->ok_rc = ax_signal_open(SIGUSR2, &self->ok);
  if (self->ok_rc == 0) self->signum = ax_signal_signum(self->ok);
  AX_END();
}

AX_ASYNC_DROP(sig_err_drop, sig_err_t, self) { ax_signal_close(self->ok); }
#endif

START_TEST(signal_errors) {
#ifdef _WIN32
  puts("signal_errors: skipped (POSIX signal numbers)");
#else
  sig_err_t st;
  memset(&st, 0, sizeof st);
  th_run(_i, 2, AX_FUTURE_DROP(sig_err_fn, sig_err_drop, &st));
  ck_assert_int_eq(st.kill_rc, UV_EINVAL);
  ck_assert_int_eq(st.zero_rc, UV_EINVAL);
  ck_assert_int_eq(st.ok_rc, 0);
  ck_assert_int_eq(st.signum, SIGUSR2);
#endif
}
END_TEST

/* ---- local sockets ------------------------------------------------------------------- */

static void pipe_path(char *buf, size_t len, const char *what, int i) {
#ifdef _WIN32
  snprintf(buf, len, "\\\\.\\pipe\\axle-test-%d-%s-%d", (int)uv_os_getpid(),
           what, i);
#else
  char tmp[64];                /* a socket's path is short (sun_path) */
  size_t n = sizeof tmp;
  uv_fs_t req;
  if (uv_os_tmpdir(tmp, &n) != 0) snprintf(tmp, sizeof tmp, "/tmp");
  snprintf(buf, len, "%.64s/axle-%d-%s-%d.sock", tmp, (int)uv_os_getpid(),
           what, i);
  uv_fs_unlink(NULL, &req, buf, NULL);   /* left by a crashed run */
  uv_fs_req_cleanup(&req);
#endif
}

typedef struct {               /* the server side: one echo */
  ax_async_t co;
  ax_pipe_listener_t *l;
  ax_pipe_accept_t acc2;
  ax_stream_t *conn;
  ax_read_t rd;
  ax_write_t wr;
  char buf[64];
} pserver_t;

AX_ASYNC(pserver, pserver_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_pipe_accept(&self->acc2, self->l));
  if (self->acc2.result != 0) AX_RETURN();
  self->conn = self->acc2.stream;
  AX_AWAIT(ax_read(&self->rd, self->conn, self->buf, sizeof self->buf));
  if (self->rd.result != 0) AX_RETURN();
  AX_AWAIT(ax_write_all(&self->wr, self->conn, self->buf, self->rd.nread));
  AX_END();
}

AX_ASYNC_DROP(pserver_drop, pserver_t, self) { ax_stream_close(self->conn); }

typedef struct {
  ax_async_t co;
  char path[256];
  ax_pipe_bind_t bind, bind2;
  ax_pipe_connect_t conn;
  pserver_t srv;
  ax_join_t join;
  ax_write_t wr;
  ax_read_t rd;
  ax_read_t eof;
  ax_pipe_accept_t dropped;
  ax_sleep_t nap;
  ax_select_t race;
  char buf[64];
  int spawn_rc, drop_first;
} pclient_t;

AX_ASYNC(pclient, pclient_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_pipe_bind(&self->bind, self->path, NULL));
  if (self->bind.result != 0) AX_RETURN();
#ifndef _WIN32
  /* The same path again: in use.  (Windows refuses a second first
   * instance of a named pipe too, but wine lets it through; the
   * connection could then go to either.) */
  AX_AWAIT(ax_pipe_bind(&self->bind2, self->path, NULL));
#endif
  self->srv.l = self->bind.listener;
  if (self->drop_first) {
    /* Nobody connects yet: the accept is dropped by the select, which
     * leaves the listener ready for the next one. */
    AX_AWAIT(ax_select(&self->race,
                       ax_pipe_accept(&self->dropped, self->srv.l),
                       ax_sleep(&self->nap, 10)));
  }
  self->spawn_rc = ax_spawn(AX_FUTURE_DROP(pserver, pserver_drop, &self->srv),
                            sizeof self->srv, &self->join);
  if (self->spawn_rc != 0) AX_RETURN();
  AX_AWAIT(ax_pipe_connect(&self->conn, self->path));
  if (self->conn.result != 0) AX_RETURN();
  AX_AWAIT(ax_write_all(&self->wr, self->conn.stream, "local hello", 11));
  AX_AWAIT(ax_read_exact(&self->rd, self->conn.stream, self->buf, 11));
  AX_AWAIT(ax_join_wait(&self->join));
  /* The server closed its end: the end of the stream. */
  AX_AWAIT(ax_read(&self->eof, self->conn.stream, self->buf + 32, 8));
  AX_END();
}

AX_ASYNC_DROP(pclient_drop, pclient_t, self) {
  ax_join_drop(&self->join);
  ax_stream_close(self->conn.stream);
  ax_pipe_listener_close(self->bind.listener);
  ax_pipe_listener_close(self->bind2.listener);
}

static void pipe_round_trip_case(int multi, int drop_first) {
  pclient_t st;
  memset(&st, 0, sizeof st);
  pipe_path(st.path, sizeof st.path, drop_first ? "drop" : "rt", multi);
  st.drop_first = drop_first;
  th_run(multi, 2, AX_FUTURE_DROP(pclient, pclient_drop, &st));
  ck_assert_int_eq(st.bind.result, 0);
#ifndef _WIN32
  ck_assert_int_eq(st.bind2.result, UV_EADDRINUSE);
  ck_assert_ptr_null(st.bind2.listener);
#endif
  ck_assert_int_eq(st.spawn_rc, 0);
  ck_assert_int_eq(st.conn.result, 0);
  ck_assert_int_eq(st.wr.result, 0);
  ck_assert_int_eq(st.rd.result, 0);
  ck_assert_int_eq(memcmp(st.buf, "local hello", 11), 0);
  ck_assert_int_eq(st.join.result, 0);
  ck_assert_int_eq(st.eof.result, 0);
  ck_assert_uint_eq(st.eof.nread, 0);
  if (drop_first) ck_assert_int_eq(st.race.winner, 1);
#ifndef _WIN32
  {
    /* Closing the listener removed its socket file. */
    uv_fs_t req;
    ck_assert_int_eq(uv_fs_stat(NULL, &req, st.path, NULL), UV_ENOENT);
    uv_fs_req_cleanup(&req);
  }
#endif
}

START_TEST(pipe_round_trip) { pipe_round_trip_case(_i, 0); }
END_TEST

START_TEST(pipe_dropped_accept) { pipe_round_trip_case(_i, 1); }
END_TEST

typedef struct {
  ax_async_t co;
  char path[256], long_path[300];
  ax_pipe_connect_t c1, c2, c3;
  ax_pipe_bind_t b1;
} perr_t;

AX_ASYNC(perr_fn, perr_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_pipe_connect(&self->c1, self->path));       /* nothing there */
  AX_AWAIT(ax_pipe_connect(&self->c2, self->long_path));
  AX_AWAIT(ax_pipe_bind(&self->b1, self->long_path, NULL));
  AX_AWAIT(ax_pipe_connect(&self->c3, ""));
  AX_END();
}

START_TEST(pipe_errors) {
  perr_t st;
  ax_pipe_connect_t c;
  memset(&st, 0, sizeof st);
  pipe_path(st.path, sizeof st.path, "none", _i);
  memset(st.long_path, 'x', sizeof st.long_path - 1);
  memcpy(st.long_path, "/tmp/", 5);
  th_run(_i, 2, AX_FUTURE(perr_fn, &st));
  ck_assert_int_eq(st.c1.result, UV_ENOENT);
  ck_assert_ptr_null(st.c1.stream);
#ifndef _WIN32
  ck_assert_int_eq(st.c2.result, UV_ENAMETOOLONG);
  ck_assert_int_eq(st.b1.result, UV_ENAMETOOLONG);
#else
  ck_assert_int_lt(st.c2.result, 0);
  ck_assert_int_lt(st.b1.result, 0);
#endif
  ck_assert_int_eq(st.c3.result, AX_EINVAL);
  {
    /* Outside a runtime (polled by hand: no home to run on). */
    ax_cx_t cx;
    ax_cx_init(&cx, NULL);
    ax_pipe_connect(&c, st.path);
    ck_assert_int_eq(ax_poll(&c.base, &cx), AX_READY);
    ck_assert_int_eq(c.result, AX_ENORUNTIME);
    ax_drop(&c.base);
  }
}
END_TEST

/* ---- runtime shutdown with everything open ------------------------------------------ */

typedef struct {
  ax_async_t co;
  char path[256];
  ax_command_t cmd;
  ax_pipe_bind_t bind;
  int spawn_rc, sig_rc;
} leak_t;

/* What main leaves open, never closed by anyone before the runtime's
 * shutdown (closed after it: those closes only free). */
static ax_child_t *leaked_child;
static ax_stream_t *leaked_in;
static ax_pipe_listener_t *leaked_listener;
static ax_signal_t *leaked_signal;

typedef struct {
  ax_async_t co;
  ax_child_wait_t w;
  ax_pipe_accept_t acc;
  ax_signal_recv_t r;
  ax_select_t race;
} pending_t;

AX_ASYNC(pending_fn, pending_t, self) {   /* waits on all three, forever */
  AX_BEGIN(self);
  if (leaked_signal != NULL)
    AX_AWAIT(ax_select(&self->race, ax_child_wait(&self->w, leaked_child),
                       ax_pipe_accept(&self->acc, leaked_listener),
                       ax_signal_recv(&self->r, leaked_signal)));
  else
    AX_AWAIT(ax_select(&self->race, ax_child_wait(&self->w, leaked_child),
                       ax_pipe_accept(&self->acc, leaked_listener)));
  AX_END();
}

AX_ASYNC(leak_fn, leak_t, self) {
  AX_BEGIN(self);
  self->cmd.stdio[0] = AX_CHILD_PIPED;   /* it ends when stdin closes */
  self->cmd.stdio[1] = AX_CHILD_NULL;
  self->spawn_rc = ax_command_spawn(&self->cmd, &leaked_child);
  if (self->spawn_rc != 0) AX_RETURN();
  leaked_in = ax_child_take_stdin(leaked_child);
#ifndef _WIN32
  self->sig_rc = ax_signal_open(SIGUSR2, &leaked_signal);
#endif
  AX_AWAIT(ax_pipe_bind(&self->bind, self->path, NULL));
  leaked_listener = self->bind.listener;
  if (leaked_listener == NULL) AX_RETURN();
  {
    pending_t p;
    memset(&p, 0, sizeof p);
    ax_spawn(AX_FUTURE(pending_fn, &p), sizeof p, NULL);   /* detached */
  }
  AX_END();
}

START_TEST(shutdown_with_open_objects) {
  static const char *const args[] = {"echo", NULL};
  static const char *const quick[] = {"exit", "0", NULL};
  leak_t st;
  ax_runtime_t *rt;
  int pid, i;
  memset(&st, 0, sizeof st);
  st.cmd = helper_cmd(args);
  pipe_path(st.path, sizeof st.path, "leak", _i);
  rt = th_start(_i, 0, AX_FUTURE(leak_fn, &st));
  ax_drop(AX_FUTURE_OF(&st));
  ck_assert_int_eq(st.spawn_rc, 0);
  ck_assert_int_eq(st.sig_rc, 0);
  ck_assert_ptr_nonnull(leaked_listener);
  pid = ax_child_pid(leaked_child);
  ax_runtime_free(rt);   /* must not hang: closes all of it */
  /* The owners' closes after the loops are gone only free. */
  ck_assert_int_eq(ax_child_kill(leaked_child, SIGTERM), AX_ECLOSED);
  ax_stream_close(leaked_in);
  ax_child_close(leaked_child);
  ax_pipe_listener_close(leaked_listener);
  ax_signal_close(leaked_signal);
  leaked_in = NULL;
  leaked_child = NULL;
  leaked_listener = NULL;
  leaked_signal = NULL;
  /* Its stdin closed with the runtime: the child ends, and the next child
   * that ends in this process reaps it (the orphan list). */
  for (i = 0; i < 200 && uv_kill(pid, 0) != UV_ESRCH; i++) {
    spawn_wait_t q = spawn_and_wait(_i, helper_cmd(quick));
    ck_assert_int_eq(q.k.spawn_rc, 0);
    uv_sleep(10);
  }
  ck_assert(gone(pid));
}
END_TEST

Suite *ax_process_suite(void) {
  return AX_SUITE("process",
                  AX_CASE("process", 30),
                  AX_FLAVOURS(exit_zero),
                  AX_FLAVOURS(exit_nonzero),
                  AX_FLAVOURS(missing_program),
                  AX_FLAVOURS(piped_round_trip),
                  AX_FLAVOURS(broken_pipe),
                  AX_FLAVOURS(child_lines),
                  AX_FLAVOURS(env_set_remove_clear),
                  AX_FLAVOURS(working_directory),
                  AX_FLAVOURS(kill_child),
                  AX_FLAVOURS(kill_from_another_thread),
                  AX_FLAVOURS(kill_on_drop),
                  AX_FLAVOURS(close_keeps_running),
                  AX_FLAVOURS(wait_dropped_and_busy),
                  AX_FLAVOURS(signals),
                  AX_FLAVOURS(signal_errors),
                  AX_FLAVOURS(pipe_round_trip),
                  AX_FLAVOURS(pipe_dropped_accept),
                  AX_FLAVOURS(pipe_errors),
                  AX_FLAVOURS(shutdown_with_open_objects));
}
