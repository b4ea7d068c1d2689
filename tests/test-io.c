/* I/O: streams (include/axle/io.h) and TCP (include/axle/net.h), on both
 * runtime flavours (current-thread, and multi-thread with 2 workers), over
 * loopback only.
 *
 * Nothing here passes or fails on time: tests wait for events (a join, a
 * state a stream reaches) and assert bytes, counts and error codes; a hang
 * is turned into a failure by Check's per-case timeout.  Every byte sent
 * is a known pattern (seed, offset), so a byte lost, duplicated or
 * reordered anywhere is caught where it is read.
 *
 * Some tests look inside a libuv stream (src/io/uvstream.h): which state a
 * read is in, how full the stash is, which path the bytes took.  That is
 * how the bridge's paths (zero-copy, stash, bytes given back by a dropped
 * read, a drop on another thread waiting for libuv) are shown to have run,
 * rather than hoped to.
 *
 * Checks made off the test's thread (on workers, inside tasks) are
 * recorded (IO_CHECK) and asserted on the test's thread once the runtime
 * is done: Check's assertions must run there when it does not fork
 * (valgrind, Windows).  This file uses only libuv, axle and helpers.h (it
 * builds for Windows too).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#  include <sys/resource.h>
#endif

#include "helpers.h"
#include "core/spin.h"
#include "io/uvstream.h"

#define KiB 1024u
#define MiB (1024u * 1024u)

/* ==== helpers =========================================================== */

/* ---- failures recorded on any thread ----------------------------------- */

static uv_once_t fail_once = UV_ONCE_INIT;
static uv_mutex_t fail_lock;
static char fail_msg[600];
static _Atomic int fail_count;

static void fail_init(void) { uv_mutex_init(&fail_lock); }

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void io_fail(const char *file, int line, const char *fmt, ...) {
  char msg[480];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  uv_once(&fail_once, fail_init);
  uv_mutex_lock(&fail_lock);
  if (atomic_fetch_add(&fail_count, 1) == 0)
    snprintf(fail_msg, sizeof fail_msg, "%s:%d: %s", file, line, msg);
  uv_mutex_unlock(&fail_lock);
}

#define IO_CHECK(cond)                                                       \
  do {                                                                       \
    if (!(cond)) io_fail(__FILE__, __LINE__, "%s", #cond);                   \
  } while (0)
#define IO_CHECK_EQ(a, b)                                                    \
  do {                                                                       \
    long long io__a = (long long)(a), io__b = (long long)(b);                \
    if (io__a != io__b)                                                      \
      io_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, io__a,   \
              io__b);                                                        \
  } while (0)
/* An error code: names both in the message. */
#define IO_CHECK_RC(rc, want)                                                \
  do {                                                                       \
    int io__r = (rc), io__w = (want);                                        \
    if (io__r != io__w)                                                      \
      io_fail(__FILE__, __LINE__, "%s: got %s (%d), expected %s", #rc,       \
              ax_err_name(io__r), io__r, ax_err_name(io__w));                \
  } while (0)

/* At the start of each test (Check may run them all in one process). */
static void io_begin(void) {
  uv_once(&fail_once, fail_init);
  uv_mutex_lock(&fail_lock);
  atomic_store(&fail_count, 0);
  fail_msg[0] = '\0';
  uv_mutex_unlock(&fail_lock);
}

/* On the test's thread, once nothing runs any more. */
static void io_end(void) {
  int n = atomic_load(&fail_count);
  ck_assert_msg(n == 0, "%d check(s) failed; the first: %s", n, fail_msg);
}

/* ---- runtimes ---------------------------------------------------------- */

/* Runs fut (an async function's state owned by the caller) to its end on
 * a fresh runtime of flavour `multi` (2 workers), then asserts that no
 * check failed on any thread meanwhile. */
static void io_run(int multi, ax_future_t *fut) {
  io_begin();
  th_run(multi, 2, fut);
  io_end();
}

/* ---- the byte pattern -------------------------------------------------- */

/* The bytes of stream `seed`: 8 at a time from a 64-bit mix of (seed,
 * offset / 8), so that no shift, loss or duplication of any length can
 * keep a run of bytes unchanged.  Little-endian by construction. */
static uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

static uint8_t pat_byte(uint32_t seed, uint64_t off) {
  return (uint8_t)(mix64(((uint64_t)seed << 40) ^ (off >> 3)) >>
                   (8 * (off & 7)));
}

static void pat_fill(void *buf, uint32_t seed, uint64_t off, size_t n) {
  uint8_t *p = buf;
  size_t i = 0;
  while (i < n && ((off + i) & 7) != 0) {
    p[i] = pat_byte(seed, off + i);
    i++;
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t v = mix64(((uint64_t)seed << 40) ^ ((off + i) >> 3));
    int k;
    for (k = 0; k < 8; k++) p[i + k] = (uint8_t)(v >> (8 * k));
  }
  for (; i < n; i++) p[i] = pat_byte(seed, off + i);
}

/* The index of the first byte of buf[0..n) that is not stream seed's from
 * offset off, or -1. */
static long long pat_check(const void *buf, uint32_t seed, uint64_t off,
                           size_t n) {
  const uint8_t *p = buf;
  uint8_t tmp[4096];
  size_t done = 0, i;
  while (done < n) {
    size_t k = n - done < sizeof tmp ? n - done : sizeof tmp;
    pat_fill(tmp, seed, off + done, k);
    if (memcmp(tmp, p + done, k) != 0) {
      for (i = 0; i < k; i++)
        if (tmp[i] != p[done + i]) return (long long)(done + i);
    }
    done += k;
  }
  return -1;
}

/* ---- addresses --------------------------------------------------------- */

static int addr_family(const struct sockaddr_storage *a) {
  return ((const struct sockaddr *)a)->sa_family;
}

static uint16_t addr_port(const struct sockaddr_storage *a) {
  return ax_addr_port((const struct sockaddr *)a);
}

static uint16_t listener_port(ax_tcp_listener_t *l) {
  struct sockaddr_storage a;
  if (ax_tcp_listener_addr(l, &a) != 0) return 0;
  return addr_port(&a);
}

/* ---- a look inside a libuv stream (src/io/uvstream.h) ------------------ */

typedef struct snap_s {
  int rstate, wstate, reading, rerr;
  size_t stash_len, stash_cap, rlen, ret_len;
  ax__uvs_stats_t st;
} snap_t;

static snap_t snap(ax_stream_t *s) {
  ax__uvs_t *u = ax__uvs_of(s, 0);
  snap_t r;
  memset(&r, 0, sizeof r);
  if (u == NULL) return r;
  ax__spin_lock(&u->lock);
  r.rstate = u->rstate;
  r.wstate = u->wstate;
  r.reading = u->reading;
  r.rerr = u->rerr;
  r.stash_len = u->stash_len;
  r.stash_cap = u->stash_cap;
  r.rlen = u->rlen;
  r.ret_len = u->ret_len;
  r.st = u->stats;
  ax__spin_unlock(&u->lock);
  return r;
}

/* Runs fn(arg) on s's home thread (where libuv calls on it are allowed)
 * and waits for it: from a thread that is not the home, by sleeping until
 * the op has run (the caller is an async function; see RUN_ON_HOME). */
typedef struct home_call_s {
  ax_home_op_t op;
  void (*fn)(void *arg);
  void *arg;
  _Atomic int done;
} home_call_t;

static void home_call_op(ax_home_op_t *op) {
  home_call_t *c = (home_call_t *)(void *)op;
  c->fn(c->arg);
  atomic_store_explicit(&c->done, 1, memory_order_release);
}

static void home_call_start(home_call_t *c, ax_stream_t *s,
                            void (*fn)(void *), void *arg) {
  ax__uvs_t *u = ax__uvs_of(s, 0);
  c->op.fn = home_call_op;
  c->fn = fn;
  c->arg = arg;
  atomic_init(&c->done, 0);
  ax_home_post((ax_home_t *)(void *)u->home, &c->op);
}

static int home_call_done(home_call_t *c) {
  return atomic_load_explicit(&c->done, memory_order_acquire);
}

/* Inside an async function with an ax_sleep_t `nap` field: runs fn(arg) on
 * s's home and waits for it. */
#define RUN_ON_HOME(self, call, s, fn, arg)                                  \
  do {                                                                       \
    home_call_start((call), (s), (fn), (arg));                               \
    while (!home_call_done(call)) AX_AWAIT(ax_sleep(&(self)->nap, 1));      \
  } while (0)

/* Small kernel buffers on a stream (home thread): a peer that does not read
 * then holds up a writer after a few hundred KiB instead of the tens of MiB
 * Linux's autotuning allows, which keeps the tests that need a stalled
 * writer small.  rc: libuv's answer (tests only rely on it when 0). */
typedef struct bufsize_s {
  ax_stream_t *s;
  int size, rc;
} bufsize_t;

static void set_bufsize(void *arg) {
  bufsize_t *b = arg;
  ax__uvs_t *u = ax__uvs_of(b->s, 0);
  int v = b->size, w = b->size;
  b->rc = uv_recv_buffer_size(&u->h.handle, &v);
  if (b->rc == 0) b->rc = uv_send_buffer_size(&u->h.handle, &w);
}

/* ---- closing what a state holds ----------------------------------------- */

/* Closes a stream a state holds (NULL: nothing to do) and forgets it. */
static void close_stream(ax_stream_t **s) {
  ax_stream_close(*s);
  *s = NULL;
}

/* Both ends of a connection. */
static void close_both(ax_stream_t **c, ax_stream_t **s) {
  close_stream(c);
  close_stream(s);
}

/* ---- a future that is pending n times (waking itself), then ready ------ */

typedef struct after_s {
  ax_future_t base;
  int left;
} after_t;

static ax_poll_t after_poll(ax_future_t *f, ax_cx_t *cx) {
  after_t *a = (after_t *)f;
  if (a->left <= 0) return AX_READY;
  a->left--;
  ax_waker_wake_by_ref(ax_cx_waker(cx));
  return AX_PENDING;
}
static const ax_future_vtable_t after_vtable = {after_poll, NULL, "after"};

static ax_future_t *after(after_t *a, int n) {
  a->base.vtable = &after_vtable;
  a->left = n;
  return &a->base;
}

/* ---- a future that is ready once cond(arg) holds (it polls it, waking
 * itself: for conditions nobody signals, such as a stream's state) ------- */

typedef struct until_s {
  ax_future_t base;
  int (*cond)(void *arg);
  void *arg;
} until_t;

static ax_poll_t until_poll(ax_future_t *f, ax_cx_t *cx) {
  until_t *u = (until_t *)f;
  if (u->cond(u->arg)) return AX_READY;
  ax_waker_wake_by_ref(ax_cx_waker(cx));
  return AX_PENDING;
}
static const ax_future_vtable_t until_vtable = {until_poll, NULL, "until"};

static ax_future_t *until(until_t *u, int (*cond)(void *), void *arg) {
  u->base.vtable = &until_vtable;
  u->cond = cond;
  u->arg = arg;
  return &u->base;
}

/* ---- a connected pair: bind, connect, accept --------------------------- */

/* Binds host:0 (opts), connects to it (by connect_host, or host), accepts,
 * and closes the listener: result 0 with client and server (the caller's),
 * or the first error (nothing left open). */
typedef struct pair_s {
  ax_async_t co;
  const char *host, *connect_host;
  ax_tcp_opts_t opts;
  ax_tcp_bind_t bind;
  ax_tcp_connect_t conn;
  ax_tcp_accept_t acc;
  ax_tcp_listener_t *l;
  uint16_t port;
  int result;
  ax_stream_t *client, *server;
} pair_t;

/* What pair_fn holds when it ends (or is dropped): the listener, and on
 * failure what it had connected or accepted. */
static void pair_release(pair_t *p) {
  ax_tcp_listener_close(p->l);
  p->l = NULL;
  if (p->result != 0) {
    close_both(&p->client, &p->server);
  }
}

AX_ASYNC(pair_fn, pair_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_tcp_bind(&self->bind, self->host, 0, &self->opts));
  if ((self->result = self->bind.result) != 0) AX_RETURN();
  self->l = self->bind.listener;
  self->port = listener_port(self->l);
  /* The kernel completes the handshake from the backlog: connect first,
   * then accept. */
  AX_AWAIT(ax_tcp_connect(&self->conn,
                          self->connect_host ? self->connect_host : self->host,
                          self->port, &self->opts));
  self->client = self->conn.stream;
  if ((self->result = self->conn.result) != 0) {
    pair_release(self);
    AX_RETURN();
  }
  AX_AWAIT(ax_tcp_accept(&self->acc, self->l));
  self->server = self->acc.stream;
  self->result = self->acc.result;
  /* Done with the listener either way (AX_AWAIT does not drop a child:
   * an inline pair must hold nothing once it is ready). */
  pair_release(self);
  AX_END();
}

AX_ASYNC_DROP(pair_drop, pair_t, self) {
  if (!ax_async_is_done(&self->co)) {
    self->result = self->result != 0 ? self->result : AX_ECANCELED;
    pair_release(self);
  }
}

static ax_future_t *pair(pair_t *p, const char *host,
                         const ax_tcp_opts_t *opts) {
  memset(p, 0, sizeof *p);
  p->host = host;
  if (opts != NULL) p->opts = *opts;
  return AX_FUTURE_DROP(pair_fn, pair_drop, p);
}

/* Inside an async function: connects the pair p over 127.0.0.1; a pair
 * that fails is a failed check, and ends the function. */
#define AWAIT_PAIR(p)                                                        \
  do {                                                                       \
    AX_AWAIT(pair((p), "127.0.0.1", NULL));                                  \
    IO_CHECK_RC((p)->result, 0);                                             \
    if ((p)->result != 0) AX_RETURN();                                       \
  } while (0)

/* ---- an echo server: an accept loop, a task per connection ------------- */

#define MAX_PEERS 64

typedef struct srv_s {
  _Atomic long accepted;          /* connections accepted */
  _Atomic long done;              /* their tasks ended */
  _Atomic long long echoed;       /* bytes echoed */
  _Atomic int peer_port[MAX_PEERS];  /* the first ones' peer ports */
} srv_t;

typedef struct echo_s {
  ax_async_t co;
  srv_t *srv;
  ax_stream_t *s;          /* ours: closed by the drop handler */
  ax_read_t rd;
  ax_write_t wr;
  char buf[4096];
} echo_t;

AX_ASYNC(echo_fn, echo_t, self) {
  AX_BEGIN(self);
  for (;;) {
    AX_AWAIT(ax_read(&self->rd, self->s, self->buf, sizeof self->buf));
    if (self->rd.result != 0 || self->rd.nread == 0) break;
    AX_AWAIT(ax_write_all(&self->wr, self->s, self->buf, self->rd.nread));
    if (self->wr.result != 0) break;
    atomic_fetch_add(&self->srv->echoed, (long long)self->rd.nread);
  }
  AX_END();
}

AX_ASYNC_DROP(echo_drop, echo_t, self) {
  close_stream(&self->s);
  atomic_fetch_add(&self->srv->done, 1);
}

typedef struct acceptor_s {
  ax_async_t co;
  ax_tcp_listener_t *l;    /* borrowed */
  srv_t *srv;
  ax_tcp_accept_t acc;
} acceptor_t;

AX_ASYNC(acceptor_fn, acceptor_t, self) {
  AX_BEGIN(self);
  for (;;) {
    AX_AWAIT(ax_tcp_accept(&self->acc, self->l));
    if (self->acc.result != 0) {
      io_fail(__FILE__, __LINE__, "accept: %s",
              ax_err_name(self->acc.result));
      break;
    }
    {
      long n = atomic_fetch_add(&self->srv->accepted, 1);
      echo_t e;
      int rc;
      if (n < MAX_PEERS)
        atomic_store(&self->srv->peer_port[n], addr_port(&self->acc.peer));
      memset(&e, 0, sizeof e);
      e.srv = self->srv;
      e.s = self->acc.stream;
      rc = ax_spawn(AX_FUTURE_DROP(echo_fn, echo_drop, &e), sizeof e, NULL);
      if (rc != 0) {
        io_fail(__FILE__, __LINE__, "spawn: %s", ax_err_name(rc));
        ax_stream_close(e.s);
        atomic_fetch_add(&self->srv->done, 1);
      }
    }
  }
  AX_END();
}

/* The server's parts, owned by the test's main future. */
typedef struct server_s {
  ax_tcp_listener_t *l;
  uint16_t port;
  ax_join_t acceptor;
  srv_t st;
} server_t;

/* Binds host:0 and spawns the accept loop. */
typedef struct server_up_s {
  ax_async_t co;
  server_t *sv;
  const char *host;
  ax_tcp_opts_t opts;
  ax_tcp_bind_t bind;
  int result;
} server_up_t;

AX_ASYNC(server_up_fn, server_up_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_tcp_bind(&self->bind, self->host, 0, &self->opts));
  if ((self->result = self->bind.result) == 0) {
    acceptor_t a;
    self->sv->l = self->bind.listener;
    self->sv->port = listener_port(self->sv->l);
    memset(&a, 0, sizeof a);
    a.l = self->sv->l;
    a.srv = &self->sv->st;
    self->result = ax_spawn(AX_FUTURE(acceptor_fn, &a), sizeof a,
                            &self->sv->acceptor);
  }
  AX_END();
}

static ax_future_t *server_up(server_up_t *u, server_t *sv, const char *host,
                              const ax_tcp_opts_t *opts) {
  memset(u, 0, sizeof *u);
  u->sv = sv;
  u->host = host;
  if (opts != NULL) u->opts = *opts;
  return AX_FUTURE(server_up_fn, u);
}

/* Stops the accept loop, closes the listener and waits for every
 * connection's task to end (their clients close them). */
typedef struct server_down_s {
  ax_async_t co;
  server_t *sv;
  ax_sleep_t nap;
} server_down_t;

AX_ASYNC(server_down_fn, server_down_t, self) {
  AX_BEGIN(self);
  ax_abort(&self->sv->acceptor);
  AX_AWAIT(ax_join_wait(&self->sv->acceptor));
  IO_CHECK_RC(self->sv->acceptor.result, AX_ECANCELED);
  ax_join_drop(&self->sv->acceptor);
  /* No accept is in flight any more: the aborted loop dropped its own. */
  ax_tcp_listener_close(self->sv->l);
  self->sv->l = NULL;
  while (atomic_load(&self->sv->st.done) < atomic_load(&self->sv->st.accepted))
    AX_AWAIT(ax_sleep(&self->nap, 1));
  AX_END();
}

static ax_future_t *server_down(server_down_t *d, server_t *sv) {
  memset(d, 0, sizeof *d);
  d->sv = sv;
  return AX_FUTURE(server_down_fn, d);
}

/* ---- an echo client ---------------------------------------------------- */

/* Connects to host:port, sends len bytes of stream seed while reading them
 * back (both at once: the echo cannot deadlock on full buffers), checks
 * every byte, closes.  ok = 1 when all of it held. */
typedef struct client_s {
  ax_async_t co;
  const char *host;
  uint16_t port;
  uint32_t seed;
  size_t len;
  ax_tcp_connect_t conn;
  ax_stream_t *s;
  ax_write_t wr;
  ax_read_t rd;
  ax_join_all_t both;
  char *out, *in;
  int ok;
} client_t;

static void client_release(client_t *c) {
  close_stream(&c->s);
  free(c->out);
  free(c->in);
  c->out = c->in = NULL;
}

AX_ASYNC(client_fn, client_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_tcp_connect(&self->conn, self->host, self->port, NULL));
  if (self->conn.result != 0) {
    io_fail(__FILE__, __LINE__, "client %u: connect: %s", self->seed,
            ax_err_name(self->conn.result));
    AX_RETURN();
  }
  self->s = self->conn.stream;
  self->out = malloc(self->len);
  self->in = malloc(self->len);
  if (self->out == NULL || self->in == NULL) {
    client_release(self);
    AX_RETURN();
  }
  pat_fill(self->out, self->seed, 0, self->len);
  AX_AWAIT(ax_join_all(&self->both,
                       ax_write_all(&self->wr, self->s, self->out, self->len),
                       ax_read_exact(&self->rd, self->s, self->in, self->len)));
  IO_CHECK_RC(self->wr.result, 0);
  IO_CHECK_RC(self->rd.result, 0);
  IO_CHECK_EQ(self->wr.nwritten, self->len);
  IO_CHECK_EQ(self->rd.nread, self->len);
  IO_CHECK_EQ(pat_check(self->in, self->seed, 0, self->len), -1);
  self->ok = self->wr.result == 0 && self->rd.result == 0 &&
             pat_check(self->in, self->seed, 0, self->len) == -1;
  client_release(self);   /* awaited inline, it is not dropped at once */
  AX_END();
}

AX_ASYNC_DROP(client_drop, client_t, self) { client_release(self); }

/* ==== 0. byte buffers and addresses (no runtime) ======================== */

/* io.h's byte buffer: append grows it, consume drops a prefix (all of it,
 * or more than it holds, empties it), free empties it; AX_ZERO and NULL
 * are valid. */
START_TEST(bytes_buffer) {
  ax_bytes_t b = AX_ZERO(ax_bytes_t);
  char big[10000];
  size_t i;
  ck_assert_int_eq(ax_bytes_append(&b, "hello", 5), 0);
  ck_assert_uint_eq(b.len, 5);
  ck_assert_uint_ge(b.cap, 5);
  ck_assert_int_eq(memcmp(b.data, "hello", 5), 0);
  ck_assert_int_eq(ax_bytes_append(&b, "", 0), 0);   /* nothing: fine */
  ck_assert_uint_eq(b.len, 5);
  ax_bytes_consume(&b, 2);
  ck_assert_uint_eq(b.len, 3);
  ck_assert_int_eq(memcmp(b.data, "llo", 3), 0);
  pat_fill(big, 1, 0, sizeof big);
  for (i = 0; i < sizeof big; i += 1000)
    ck_assert_int_eq(ax_bytes_append(&b, big + i, 1000), 0);
  ck_assert_uint_eq(b.len, 3 + sizeof big);
  ck_assert_int_eq(memcmp(b.data + 3, big, sizeof big), 0);
  ax_bytes_consume(&b, b.len + 10);  /* more than it holds: empty */
  ck_assert_uint_eq(b.len, 0);
  ax_bytes_free(&b);
  ck_assert_ptr_null(b.data);
  ck_assert_uint_eq(b.cap, 0);
  ax_bytes_free(&b);                 /* twice: fine */
  ax_bytes_free(NULL);
  ax_bytes_init(&b);
  ck_assert_uint_eq(b.len, 0);
}
END_TEST

/* net.h's address helpers: the two formats, the port, and AX_EINVAL for
 * what is neither IPv4 nor IPv6. */
START_TEST(address_format) {
  struct sockaddr_in a4;
  struct sockaddr_in6 a6;
  struct sockaddr_storage none;
  char buf[64];
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 8080, &a4), 0);
  ck_assert_int_eq(uv_ip6_addr("::1", 443, &a6), 0);
  ck_assert_int_eq(ax_addr_format((struct sockaddr *)&a4, buf, sizeof buf), 0);
  ck_assert_str_eq(buf, "127.0.0.1:8080");
  ck_assert_uint_eq(ax_addr_port((struct sockaddr *)&a4), 8080);
  ck_assert_int_eq(ax_addr_format((struct sockaddr *)&a6, buf, sizeof buf), 0);
  ck_assert_str_eq(buf, "[::1]:443");
  ck_assert_uint_eq(ax_addr_port((struct sockaddr *)&a6), 443);
  memset(&none, 0, sizeof none);
  ((struct sockaddr *)&none)->sa_family = AF_UNSPEC;
  ck_assert_int_eq(ax_addr_format((struct sockaddr *)&none, buf, sizeof buf),
                   AX_EINVAL);
  ck_assert_uint_eq(ax_addr_port((struct sockaddr *)&none), 0);
  ck_assert_int_eq(ax_addr_format(NULL, buf, sizeof buf), AX_EINVAL);
  ck_assert_int_eq(ax_addr_format((struct sockaddr *)&a4, NULL, 64), AX_EINVAL);
}
END_TEST

/* Misuse that needs no connection: NULL streams and listeners give
 * AX_EINVAL (or are ignored by the close calls), and bind / connect polled
 * outside any runtime complete with AX_ENORUNTIME. */
START_TEST(misuse_without_runtime) {
  struct sockaddr_storage a;
  ax_stream_t *r, *w;
  ax_read_t rd;
  ax_write_t wr;
  ax_shutdown_t sh;
  ax_tcp_accept_t acc;
  ax_tcp_bind_t bind;
  ax_tcp_connect_t conn;
  th_cx_t c;
  char buf[4];
  th_cx_init(&c);
  ck_assert_int_eq(ax_tcp_peer_addr(NULL, &a), AX_EINVAL);
  ck_assert_int_eq(ax_tcp_local_addr(NULL, &a), AX_EINVAL);
  ck_assert_int_eq(ax_tcp_set_nodelay(NULL, 1), AX_EINVAL);
  ck_assert_int_eq(ax_tcp_set_keepalive(NULL, 1, 10), AX_EINVAL);
  ck_assert_int_eq(ax_tcp_listener_addr(NULL, &a), AX_EINVAL);
  ck_assert_int_eq(ax_stream_split(NULL, &r, &w), AX_EINVAL);
  ax_stream_close(NULL);
  ax_tcp_listener_close(NULL);

  ck_assert_int_eq(ax_poll(ax_read(&rd, NULL, buf, sizeof buf), &c.cx),
                   AX_READY);
  ck_assert_int_eq(rd.result, AX_EINVAL);
  ax_drop(&rd.base);
  ck_assert_int_eq(ax_poll(ax_write(&wr, NULL, buf, sizeof buf), &c.cx),
                   AX_READY);
  ck_assert_int_eq(wr.result, AX_EINVAL);
  ax_drop(&wr.base);
  ck_assert_int_eq(ax_poll(ax_shutdown(&sh, NULL), &c.cx), AX_READY);
  ck_assert_int_eq(sh.result, AX_EINVAL);
  ax_drop(&sh.base);
  ck_assert_int_eq(ax_poll(ax_tcp_accept(&acc, NULL), &c.cx), AX_READY);
  ck_assert_int_eq(acc.result, AX_EINVAL);
  ax_drop(&acc.base);

  ck_assert_int_eq(ax_poll(ax_tcp_bind(&bind, "127.0.0.1", 0, NULL), &c.cx),
                   AX_READY);
  ck_assert_int_eq(bind.result, AX_ENORUNTIME);
  ck_assert_ptr_null(bind.listener);
  ax_drop(&bind.base);
  ck_assert_int_eq(ax_poll(ax_tcp_connect(&conn, "127.0.0.1", 1, NULL), &c.cx),
                   AX_READY);
  ck_assert_int_eq(conn.result, AX_ENORUNTIME);
  ck_assert_ptr_null(conn.stream);
  ax_drop(&conn.base);
  /* Never polled: dropping is all there is to do. */
  ax_drop(ax_tcp_bind(&bind, "127.0.0.1", 0, NULL));
  ax_drop(ax_tcp_connect(&conn, "127.0.0.1", 1, NULL));
  ck_assert_int_eq(atomic_load(&c.w.refs), 0);
}
END_TEST

/* ==== 1. echo round trips =============================================== */

/* Binds host:0 and reaches it by each of `names` (numeric, and by name),
 * echoing messages of 1, 1000 and 3000 bytes (write_all, read_exact).
 * Pins down: the listener's address (family, the port it picked, the
 * format), a stream's peer and local addresses (the server saw the
 * client's local port), nodelay/keepalive calls and options succeed (from
 * another thread than the home too: multi-thread's block_on), shutdown
 * then read gives the end of the stream once the echo closed. */
typedef struct echo_main_s {
  ax_async_t co;
  const char *host;
  const char *names[2];
  int family;
  ax_tcp_opts_t opts;
  server_t sv;
  server_up_t up;
  server_down_t down;
  ax_tcp_connect_t conn;
  ax_stream_t *c;
  ax_write_t wr;
  ax_read_t rd;
  ax_shutdown_t sh;
  int n, round, skipped, multi;
  size_t len;
  uint16_t local_port;
  home_call_t call, call2;
  ax_sleep_t nap;
  _Atomic int entered, gate;
  char out[3000], in[3000];
} echo_main_t;

static void nothing(void *arg) { (void)arg; }

/* Turning keepalive on: 0.  libuv sets TCP_KEEPALIVE on Windows, which
 * wine (where CI runs the Windows build) does not implement: there, that
 * error only. */
static int keepalive_ok(int rc) {
#ifdef _WIN32
  if (rc == UV_UNKNOWN || rc == UV_ENOPROTOOPT || rc == UV_ENOTSUP) return 1;
#endif
  return rc == 0;
}

/* On the home: keeps it busy until the gate opens. */
static void hold_home(void *arg) {
  echo_main_t *m = arg;
  atomic_store(&m->entered, 1);
  while (!atomic_load(&m->gate)) ax__cpu_yield();
}

static int opts_queued(ax_stream_t *s) {
  ax__uvs_t *u = ax__uvs_of(s, 0);
  int q;
  ax__spin_lock(&u->lock);
  q = u->opt_posted;
  ax__spin_unlock(&u->lock);
  return q;
}

static const size_t echo_lens[3] = {1, 1000, 3000};

AX_ASYNC(echo_main_fn, echo_main_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(server_up(&self->up, &self->sv, self->host, &self->opts));
  if (self->up.result != 0) {
    if (self->family == AF_INET6)
      self->skipped = self->up.result;   /* no IPv6 loopback here */
    else
      IO_CHECK_RC(self->up.result, 0);
    AX_RETURN();
  }
  {
    struct sockaddr_storage a;
    char buf[64], want[64];
    IO_CHECK_RC(ax_tcp_listener_addr(self->sv.l, &a), 0);
    IO_CHECK_EQ(addr_family(&a), self->family);
    IO_CHECK(self->sv.port != 0);
    IO_CHECK_RC(ax_addr_format((struct sockaddr *)&a, buf, sizeof buf), 0);
    snprintf(want, sizeof want,
             self->family == AF_INET ? "127.0.0.1:%u" : "[::1]:%u",
             (unsigned)self->sv.port);
    if (strcmp(buf, want) != 0)
      io_fail(__FILE__, __LINE__, "listener at %s, expected %s", buf, want);
  }
  for (self->n = 0; self->n < 2 && self->names[self->n] != NULL; self->n++) {
    AX_AWAIT(ax_tcp_connect(&self->conn, self->names[self->n], self->sv.port,
                            &self->opts));
    if (self->conn.result != 0) {
      io_fail(__FILE__, __LINE__, "connect %s: %s", self->names[self->n],
              ax_err_name(self->conn.result));
      continue;
    }
    self->c = self->conn.stream;
    {
      struct sockaddr_storage peer, local;
      IO_CHECK_RC(ax_tcp_peer_addr(self->c, &peer), 0);
      IO_CHECK_RC(ax_tcp_local_addr(self->c, &local), 0);
      IO_CHECK_EQ(addr_family(&peer), self->family);
      IO_CHECK_EQ(addr_family(&local), self->family);
      IO_CHECK_EQ(addr_port(&peer), self->sv.port);
      self->local_port = addr_port(&local);
      IO_CHECK(self->local_port != 0 && self->local_port != self->sv.port);
      IO_CHECK_RC(ax_tcp_local_addr(self->c, NULL), AX_EINVAL);
      /* Multi-thread: block_on's thread is not the stream's home, so each
       * is handed to the home; several in a row, as code that configures
       * a socket does. */
      IO_CHECK_RC(ax_tcp_set_nodelay(self->c, 1), 0);
      IO_CHECK(keepalive_ok(ax_tcp_set_keepalive(self->c, 1, 10)));
      IO_CHECK_RC(ax_tcp_set_nodelay(self->c, 0), 0);
      IO_CHECK_RC(ax_tcp_set_keepalive(self->c, 0, 0), 0);
    }
    if (self->multi) {
      /* The home busy: several calls are queued before it runs any (one
       * op carries them: an op cannot be queued twice). */
      atomic_store(&self->entered, 0);
      atomic_store(&self->gate, 0);
      home_call_start(&self->call, self->c, hold_home, self);
      while (!atomic_load(&self->entered)) ax__cpu_yield();
      IO_CHECK_RC(ax_tcp_set_nodelay(self->c, 1), 0);
      home_call_start(&self->call2, self->c, nothing, NULL);  /* between */
      IO_CHECK_RC(ax_tcp_set_keepalive(self->c, 1, 10), 0);
      IO_CHECK_RC(ax_tcp_set_nodelay(self->c, 0), 0);
      IO_CHECK(opts_queued(self->c));
      atomic_store(&self->gate, 1);
      while (!home_call_done(&self->call) || !home_call_done(&self->call2) ||
             opts_queued(self->c))
        AX_AWAIT(ax_sleep(&self->nap, 1));
    }
    for (self->round = 0; self->round < 3; self->round++) {
      self->len = echo_lens[self->round];
      pat_fill(self->out, (uint32_t)(10 * self->n + self->round), 0,
               self->len);
      memset(self->in, 0, sizeof self->in);
      AX_AWAIT(ax_write_all(&self->wr, self->c, self->out, self->len));
      IO_CHECK_RC(self->wr.result, 0);
      IO_CHECK_EQ(self->wr.nwritten, self->len);
      AX_AWAIT(ax_read_exact(&self->rd, self->c, self->in, self->len));
      IO_CHECK_RC(self->rd.result, 0);
      IO_CHECK_EQ(self->rd.nread, self->len);
      IO_CHECK(memcmp(self->in, self->out, self->len) == 0);
    }
    /* The echo answered, so it accepted us, from our local address. */
    IO_CHECK_EQ(atomic_load(&self->sv.st.accepted), self->n + 1);
    IO_CHECK_EQ(atomic_load(&self->sv.st.peer_port[self->n]),
                self->local_port);
    AX_AWAIT(ax_shutdown(&self->sh, self->c));
    IO_CHECK_RC(self->sh.result, 0);
    /* The echo reads the end, closes; we read the end. */
    AX_AWAIT(ax_read(&self->rd, self->c, self->in, sizeof self->in));
    IO_CHECK_RC(self->rd.result, 0);
    IO_CHECK_EQ(self->rd.nread, 0);
    close_stream(&self->c);
  }
  AX_AWAIT(server_down(&self->down, &self->sv));
  /* Every echo task has ended: their counts are final. */
  IO_CHECK_EQ(atomic_load(&self->sv.st.echoed), 4001 * self->n);
  AX_END();
}

AX_ASYNC_DROP(echo_main_drop, echo_main_t, self) {
  close_stream(&self->c);
  if (self->sv.l != NULL) {   /* stopped early: the test failed already */
    ax_abort(&self->sv.acceptor);
    ax_join_drop(&self->sv.acceptor);
  }
}

static void echo_main_init(echo_main_t *m, const char *host, int family) {
  memset(m, 0, sizeof *m);
  m->host = host;
  m->family = family;
  m->opts.nodelay = 1;
  m->opts.keepalive_s = 30;
}

START_TEST(echo_roundtrip) {
  echo_main_t m;
  echo_main_init(&m, "127.0.0.1", AF_INET);
  m.multi = _i;
  m.names[0] = "127.0.0.1";
  m.names[1] = "localhost";   /* may resolve to ::1 first: then the next */
  io_run(_i, AX_FUTURE_DROP(echo_main_fn, echo_main_drop, &m));
}
END_TEST

START_TEST(echo_roundtrip_ipv6) {
  echo_main_t m;
  echo_main_init(&m, "::1", AF_INET6);
  m.names[0] = "::1";
  io_run(_i, AX_FUTURE_DROP(echo_main_fn, echo_main_drop, &m));
  if (m.skipped != 0)
    printf("io: skipping echo_roundtrip_ipv6: IPv6 loopback (::1) is not "
           "available here (bind: %s)\n", ax_err_name(m.skipped));
}
END_TEST

/* Binding NULL (every address) listens on dual-stack "::": reachable at
 * 127.0.0.1 and ::1; with ipv6_only, 127.0.0.1 is refused. */
typedef struct any_main_s {
  ax_async_t co;
  ax_tcp_opts_t opts;
  server_t sv;
  server_up_t up;
  server_down_t down;
  client_t cl;
  ax_tcp_connect_t conn;
  int skipped;
} any_main_t;

static ax_future_t *client(client_t *c, const char *host, uint16_t port,
                           uint32_t seed, size_t len) {
  memset(c, 0, sizeof *c);
  c->host = host;
  c->port = port;
  c->seed = seed;
  c->len = len;
  return AX_FUTURE_DROP(client_fn, client_drop, c);
}

AX_ASYNC(any_main_fn, any_main_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(server_up(&self->up, &self->sv, NULL, &self->opts));
  if (self->up.result != 0) {
    self->skipped = self->up.result;
    AX_RETURN();
  }
  AX_AWAIT(client(&self->cl, "127.0.0.1", self->sv.port, 1, 100));
  IO_CHECK(self->cl.ok);
  AX_AWAIT(client(&self->cl, "::1", self->sv.port, 2, 100));
  IO_CHECK(self->cl.ok);
  AX_AWAIT(server_down(&self->down, &self->sv));
  /* Now IPv6 only. */
  memset(&self->sv, 0, sizeof self->sv);
  self->opts.ipv6_only = 1;
  AX_AWAIT(server_up(&self->up, &self->sv, "", &self->opts));
  IO_CHECK_RC(self->up.result, 0);
  if (self->up.result != 0) AX_RETURN();
  AX_AWAIT(client(&self->cl, "::1", self->sv.port, 3, 100));
  IO_CHECK(self->cl.ok);
  AX_AWAIT(ax_tcp_connect(&self->conn, "127.0.0.1", self->sv.port, NULL));
  IO_CHECK_RC(self->conn.result, UV_ECONNREFUSED);
  ax_stream_close(self->conn.stream);
  AX_AWAIT(server_down(&self->down, &self->sv));
  AX_END();
}

START_TEST(bind_any_address) {
  any_main_t m = {0};
  io_run(_i, AX_FUTURE(any_main_fn, &m));
  if (m.skipped != 0)
    printf("io: skipping bind_any_address: no dual-stack \"::\" here "
           "(bind: %s)\n", ax_err_name(m.skipped));
}
END_TEST

/* ==== 2. partial reads and writes ======================================= */

/* Reads stream seed from s in small, varied pieces (and one read_exact
 * of exact_len at offset exact_at) until the end, checking every byte. */
typedef struct sink_s {
  ax_async_t co;
  ax_stream_t *s;              /* borrowed */
  uint32_t seed;
  uint64_t exact_at;
  size_t exact_len;
  ax_read_t rd;
  char *big;
  size_t len;
  int k;
  char buf[4096];
  uint64_t got;                /* out */
  unsigned long reads;         /* out */
} sink_t;

static const size_t sink_lens[7] = {1, 7, 100, 1000, 4096, 1500, 3};

AX_ASYNC(sink_fn, sink_t, self) {
  AX_BEGIN(self);
  /* A read of nothing completes at once, with nothing. */
  AX_AWAIT(ax_read(&self->rd, self->s, self->buf, 0));
  IO_CHECK_RC(self->rd.result, 0);
  IO_CHECK_EQ(self->rd.nread, 0);
  for (;;) {
    if (self->exact_len != 0 && self->got == self->exact_at) {
      self->big = malloc(self->exact_len);
      AX_AWAIT(ax_read_exact(&self->rd, self->s, self->big, self->exact_len));
      IO_CHECK_RC(self->rd.result, 0);
      IO_CHECK_EQ(self->rd.nread, self->exact_len);
      IO_CHECK_EQ(pat_check(self->big, self->seed, self->got, self->rd.nread),
                  -1);
      self->got += self->rd.nread;
      self->reads++;
      free(self->big);
      self->big = NULL;
      continue;
    }
    self->len = sink_lens[self->k++ % 7];
    if (self->got < self->exact_at && self->len > self->exact_at - self->got)
      self->len = (size_t)(self->exact_at - self->got);
    AX_AWAIT(ax_read(&self->rd, self->s, self->buf, self->len));
    if (self->rd.result != 0) {
      io_fail(__FILE__, __LINE__, "read: %s", ax_err_name(self->rd.result));
      break;
    }
    if (self->rd.nread == 0) break;
    IO_CHECK(self->rd.nread <= self->len);
    if (pat_check(self->buf, self->seed, self->got, self->rd.nread) != -1) {
      io_fail(__FILE__, __LINE__, "wrong byte at %llu",
              (unsigned long long)(self->got +
                                   (uint64_t)pat_check(self->buf, self->seed,
                                                       self->got,
                                                       self->rd.nread)));
      break;
    }
    self->got += self->rd.nread;
    self->reads++;
  }
  AX_END();
}

AX_ASYNC_DROP(sink_drop, sink_t, self) {
  free(self->big);
  self->big = NULL;
}

/* 4 MiB from the client, read in pieces of 1 to 4096 bytes (and a 2 MiB
 * read_exact in the middle).  Pins down ax_write's partial semantics (it
 * completes once some bytes are taken: 1 <= nwritten <= len, and with
 * small kernel buffers on the home thread fewer than asked), that the rest
 * written after follows in order, that a write of nothing completes with
 * nothing, and that every byte arrives once, in order. */
typedef struct partial_main_s {
  ax_async_t co;
  int multi;
  pair_t pair;
  ax_stream_t *c, *s;
  home_call_t call;
  bufsize_t bs;
  ax_sleep_t nap;
  ax_write_t wr;
  ax_shutdown_t sh;
  ax_join_t h;
  char *big;
  size_t first;
} partial_main_t;

#define PARTIAL_LEN (4u * MiB)

AX_ASYNC(partial_main_fn, partial_main_t, self) {
  AX_BEGIN(self);
  AWAIT_PAIR(&self->pair);
  self->c = self->pair.client;
  self->s = self->pair.server;
  self->bs.s = self->c;
  self->bs.size = 64 * KiB;
  RUN_ON_HOME(self, &self->call, self->c, set_bufsize, &self->bs);
  {
    sink_t k;
    memset(&k, 0, sizeof k);
    k.s = self->s;
    k.seed = 21;
    k.exact_at = 1 * MiB;
    k.exact_len = 2 * MiB;
    IO_CHECK_RC(ax_spawn(AX_FUTURE_DROP(sink_fn, sink_drop, &k), sizeof k,
                         &self->h), 0);
  }
  self->big = malloc(PARTIAL_LEN);
  pat_fill(self->big, 21, 0, PARTIAL_LEN);
  AX_AWAIT(ax_write(&self->wr, self->c, self->big, PARTIAL_LEN));
  IO_CHECK_RC(self->wr.result, 0);
  IO_CHECK(self->wr.nwritten >= 1 && self->wr.nwritten <= PARTIAL_LEN);
  /* On the home thread, a write takes what the kernel takes at once; a
   * Linux kernel cannot take 4 MiB in 64 KiB buffers (another thread's
   * write is copied whole and completes when the home wrote it). */
#ifndef _WIN32
  if (!self->multi && self->bs.rc == 0)
    IO_CHECK(self->wr.nwritten < PARTIAL_LEN);
#endif
  self->first = self->wr.nwritten;
  AX_AWAIT(ax_write(&self->wr, self->c, self->big, 0));
  IO_CHECK_RC(self->wr.result, 0);
  IO_CHECK_EQ(self->wr.nwritten, 0);
  AX_AWAIT(ax_write_all(&self->wr, self->c, self->big + self->first,
                        PARTIAL_LEN - self->first));
  IO_CHECK_RC(self->wr.result, 0);
  IO_CHECK_EQ(self->wr.nwritten, PARTIAL_LEN - self->first);
  AX_AWAIT(ax_shutdown(&self->sh, self->c));
  IO_CHECK_RC(self->sh.result, 0);
  AX_AWAIT(ax_join_wait(&self->h));
  IO_CHECK_RC(self->h.result, 0);
  if (self->h.result == 0) {
    sink_t *k = AX_JOIN_OUTPUT(&self->h, sink_t);
    IO_CHECK_EQ(k->got, PARTIAL_LEN);
    IO_CHECK(k->reads > 1000);   /* small pieces indeed */
  }
  ax_join_drop(&self->h);
  AX_END();
}

AX_ASYNC_DROP(partial_main_drop, partial_main_t, self) {
  ax_join_drop(&self->h);
  close_both(&self->c, &self->s);
  free(self->big);
  self->big = NULL;
}

START_TEST(partial_reads_writes) {
  partial_main_t m = {0};
  m.multi = _i;
  io_run(_i, AX_FUTURE_DROP(partial_main_fn, partial_main_drop, &m));
}
END_TEST

/* ==== 3. a peer that resets or closes mid-stream ======================== */

static int is_reset(int rc) {
  return rc == UV_EPIPE || rc == UV_ECONNRESET || rc == UV_ECONNABORTED;
}

/* Reads `n` bytes of s, then closes it (with more unread: a reset), or
 * waits until `wait_for` is reading and then closes. */
typedef struct closer_s {
  ax_async_t co;
  ax_stream_t *s;              /* ours */
  size_t n;
  ax_stream_t *wait_for;       /* NULL, or close once it waits in a read */
  ax_read_t rd;
  ax_sleep_t nap;
  char buf[1000];
} closer_t;

AX_ASYNC(closer_fn, closer_t, self) {
  AX_BEGIN(self);
  if (self->n != 0) {
    AX_AWAIT(ax_read_exact(&self->rd, self->s, self->buf, self->n));
    IO_CHECK_RC(self->rd.result, 0);
  }
  if (self->wait_for != NULL) {
    while (snap(self->wait_for).rstate != AX__UVS_R_ARMED &&
           snap(self->wait_for).rstate != AX__UVS_R_WAIT)
      AX_AWAIT(ax_sleep(&self->nap, 1));
  }
  close_stream(&self->s);
  AX_END();
}

AX_ASYNC_DROP(closer_drop, closer_t, self) {
  close_stream(&self->s);
}

static int spawn_closer(ax_stream_t *s, size_t n, ax_stream_t *wait_for,
                        ax_join_t *h) {
  closer_t k;
  memset(&k, 0, sizeof k);
  k.s = s;
  k.n = n;
  k.wait_for = wait_for;
  return ax_spawn(AX_FUTURE_DROP(closer_fn, closer_drop, &k), sizeof k, h);
}

/* Pins down: when the peer goes away mid-stream, a write fails with
 * UV_EPIPE or UV_ECONNRESET (never a crash, never SIGPIPE), a read gets
 * the end of the stream or UV_ECONNRESET, whether the peer reset (closed
 * with bytes unread) while we wrote, closed cleanly before we wrote, or
 * reset while we waited in a read. */
typedef struct reset_main_s {
  ax_async_t co;
  pair_t pair;
  ax_stream_t *c;
  ax_join_t h;
  ax_write_t wr;
  ax_read_t rd;
  ax_sleep_t nap;
  int rounds, werr;
  char *big;
  char buf[1000];
} reset_main_t;

AX_ASYNC(reset_main_fn, reset_main_t, self) {
  AX_BEGIN(self);
  self->big = malloc(1 * MiB);
  pat_fill(self->big, 31, 0, 1 * MiB);

  /* a) The peer reads 1000 bytes and closes with more unread: it resets. */
  AWAIT_PAIR(&self->pair);
  self->c = self->pair.client;
  IO_CHECK_RC(spawn_closer(self->pair.server, 1000, NULL, &self->h), 0);
  for (self->rounds = 0; self->rounds < 10000; self->rounds++) {
    AX_AWAIT(ax_write_all(&self->wr, self->c, self->big, 1 * MiB));
    if (self->wr.result != 0) break;
  }
  if (!is_reset(self->wr.result))
    io_fail(__FILE__, __LINE__, "a) write after the reset: %s",
            ax_err_name(self->wr.result));
  AX_AWAIT(ax_read(&self->rd, self->c, self->buf, sizeof self->buf));
  if (!(self->rd.result == UV_ECONNRESET ||
        (self->rd.result == 0 && self->rd.nread == 0)))
    io_fail(__FILE__, __LINE__, "a) read after the reset: %s, %llu bytes",
            ax_err_name(self->rd.result),
            (unsigned long long)self->rd.nread);
  AX_AWAIT(ax_join_wait(&self->h));
  ax_join_drop(&self->h);
  close_stream(&self->c);

  /* b) The peer closes cleanly: we read the end, then our writes fail. */
  AWAIT_PAIR(&self->pair);
  self->c = self->pair.client;
  IO_CHECK_RC(spawn_closer(self->pair.server, 0, NULL, &self->h), 0);
  AX_AWAIT(ax_read(&self->rd, self->c, self->buf, sizeof self->buf));
  IO_CHECK_RC(self->rd.result, 0);
  IO_CHECK_EQ(self->rd.nread, 0);
  for (self->rounds = 0; self->rounds < 100000; self->rounds++) {
    /* The first writes may be taken before the peer's reset comes back:
     * give it the time it needs, a loop turn at a time. */
    AX_AWAIT(ax_write_all(&self->wr, self->c, self->big, 1000));
    if (self->wr.result != 0) break;
    AX_AWAIT(ax_sleep(&self->nap, 1));
  }
  if (!is_reset(self->wr.result))
    io_fail(__FILE__, __LINE__, "b) write after the close: %s",
            ax_err_name(self->wr.result));
  AX_AWAIT(ax_join_wait(&self->h));
  ax_join_drop(&self->h);
  close_stream(&self->c);

  /* c) We wait in a read when the peer resets. */
  AWAIT_PAIR(&self->pair);
  self->c = self->pair.client;
  AX_AWAIT(ax_write_all(&self->wr, self->c, self->big, 100));  /* unread */
  IO_CHECK_RC(self->wr.result, 0);
  IO_CHECK_RC(spawn_closer(self->pair.server, 0, self->c, &self->h), 0);
  AX_AWAIT(ax_read(&self->rd, self->c, self->buf, sizeof self->buf));
  if (!(self->rd.result == UV_ECONNRESET ||
        (self->rd.result == 0 && self->rd.nread == 0)))
    io_fail(__FILE__, __LINE__, "c) read during the reset: %s, %llu bytes",
            ax_err_name(self->rd.result),
            (unsigned long long)self->rd.nread);
  /* The end (or the error) stays: the next read says the same. */
  self->werr = self->rd.result;
  AX_AWAIT(ax_read(&self->rd, self->c, self->buf, sizeof self->buf));
  IO_CHECK_EQ(self->rd.nread, 0);
  AX_AWAIT(ax_join_wait(&self->h));
  ax_join_drop(&self->h);
  close_stream(&self->c);
  AX_END();
}

AX_ASYNC_DROP(reset_main_drop, reset_main_t, self) {
  ax_join_drop(&self->h);
  close_stream(&self->c);
  free(self->big);
  self->big = NULL;
}

START_TEST(peer_resets_mid_stream) {
  reset_main_t m = {0};
  io_run(_i, AX_FUTURE_DROP(reset_main_fn, reset_main_drop, &m));
}
END_TEST

/* ==== 4. errors: refused, in use, no such address, no such name ========= */

/* A name that does not resolve: UV_EAI_NONAME, or what a resolver that
 * cannot be reached says instead (net.h). */
static int is_dns_error(int rc) {
  return rc == UV_EAI_NONAME || rc == UV_EAI_AGAIN || rc == UV_EAI_NODATA ||
         rc == UV_EAI_FAIL;
}

/* Pins down the error codes net.h promises: a closed port refuses
 * (UV_ECONNREFUSED), a port another listener holds is in use
 * (UV_EADDRINUSE) whichever of the two was a one_socket listener, an
 * address the host does not have cannot be bound (UV_EADDRNOTAVAIL), a
 * name that does not resolve is an error (no stream, no listener). */
typedef struct errors_main_s {
  ax_async_t co;
  ax_tcp_opts_t one;
  ax_tcp_bind_t bind, bind2;
  ax_tcp_connect_t conn;
  ax_sleep_t nap;
  uint16_t port;
  int tries;
} errors_main_t;

AX_ASYNC(errors_main_fn, errors_main_t, self) {
  AX_BEGIN(self);
  self->one.one_socket = 1;

  /* A port nobody listens on any more refuses.  The close reaches the
   * listener's home asynchronously: until then a connect may still get
   * in (and is closed again). */
  AX_AWAIT(ax_tcp_bind(&self->bind, "127.0.0.1", 0, NULL));
  IO_CHECK_RC(self->bind.result, 0);
  if (self->bind.result != 0) AX_RETURN();
  self->port = listener_port(self->bind.listener);
  ax_tcp_listener_close(self->bind.listener);
  for (self->tries = 0;; self->tries++) {
    AX_AWAIT(ax_tcp_connect(&self->conn, "127.0.0.1", self->port, NULL));
    /* Queued in the closing listener's backlog: reset by its close. */
    if (self->conn.result != 0 && self->conn.result != UV_ECONNRESET) break;
    ax_stream_close(self->conn.stream);
    AX_AWAIT(ax_sleep(&self->nap, 1));
  }
  IO_CHECK_RC(self->conn.result, UV_ECONNREFUSED);
  IO_CHECK(self->conn.stream == NULL);

  /* In use: a one_socket listener, then a plain bind on its port... */
  AX_AWAIT(ax_tcp_bind(&self->bind, "127.0.0.1", 0, &self->one));
  IO_CHECK_RC(self->bind.result, 0);
  if (self->bind.result != 0) AX_RETURN();
  self->port = listener_port(self->bind.listener);
  AX_AWAIT(ax_tcp_bind(&self->bind2, "127.0.0.1", self->port, NULL));
  IO_CHECK_RC(self->bind2.result, UV_EADDRINUSE);
  IO_CHECK(self->bind2.listener == NULL);
  ax_tcp_listener_close(self->bind2.listener);
  ax_tcp_listener_close(self->bind.listener);
  /* ...and a plain listener, then a one_socket bind on its port. */
  AX_AWAIT(ax_tcp_bind(&self->bind, "127.0.0.1", 0, NULL));
  IO_CHECK_RC(self->bind.result, 0);
  if (self->bind.result != 0) AX_RETURN();
  self->port = listener_port(self->bind.listener);
  AX_AWAIT(ax_tcp_bind(&self->bind2, "127.0.0.1", self->port, &self->one));
  IO_CHECK_RC(self->bind2.result, UV_EADDRINUSE);
  IO_CHECK(self->bind2.listener == NULL);
  ax_tcp_listener_close(self->bind2.listener);
  ax_tcp_listener_close(self->bind.listener);

  /* An address this host does not have (TEST-NET-1, RFC 5737). */
  AX_AWAIT(ax_tcp_bind(&self->bind, "192.0.2.1", 0, NULL));
  IO_CHECK_RC(self->bind.result, UV_EADDRNOTAVAIL);
  IO_CHECK(self->bind.listener == NULL);

  /* Names that do not resolve (.invalid never does, RFC 6761). */
  AX_AWAIT(ax_tcp_connect(&self->conn, "nonexistent.invalid", 80, NULL));
  if (!is_dns_error(self->conn.result))
    io_fail(__FILE__, __LINE__, "connect to no name: %s",
            ax_err_name(self->conn.result));
  IO_CHECK(self->conn.stream == NULL);
  AX_AWAIT(ax_tcp_bind(&self->bind, "nonexistent.invalid", 0, NULL));
  if (!is_dns_error(self->bind.result))
    io_fail(__FILE__, __LINE__, "bind to no name: %s",
            ax_err_name(self->bind.result));
  IO_CHECK(self->bind.listener == NULL);
  AX_END();
}

START_TEST(connect_and_bind_errors) {
  errors_main_t m = {0};
  io_run(_i, AX_FUTURE(errors_main_fn, &m));
}
END_TEST

/* ==== 5. cancellation: every byte accounted for ========================= */

/* ---- the bridge's read paths, one at a time (white-box) ---------------- */

/* The hook (uvstream.h) holds the home inside libuv's read into a waiting
 * read's buffer until the drop on the canceler thread is seen waiting for
 * it: the drop then meets R_IN_USE every time, not by luck. */
static _Atomic(ax__uvs_t *) hook_target;
static _Atomic unsigned long hook_waits_before;
static _Atomic int hook_entered;

static void in_use_hook(ax__uvs_t *u) {
  ax__uvs_t *want = u;
  unsigned long n;
  if (!atomic_compare_exchange_strong(&hook_target, &want, NULL)) return;
  atomic_store(&hook_entered, 1);
  for (;;) {
    ax__spin_lock(&u->lock);
    n = u->stats.cancel_waits;
    ax__spin_unlock(&u->lock);
    if (n > atomic_load(&hook_waits_before)) break;
    ax__cpu_yield();
  }
}

typedef struct canceler_s {
  ax_read_t *rd;               /* the read to drop */
  _Atomic int dropped;
  uv_thread_t th;
} canceler_t;

static void canceler_main(void *arg) {
  canceler_t *c = arg;
  while (!atomic_load(&hook_entered)) ax__cpu_yield();
  ax_drop(&c->rd->base);
  atomic_store(&c->dropped, 1);
}

typedef struct paths_main_s {
  ax_async_t co;
  int multi;
  pair_t pair;
  ax_stream_t *c, *s;
  ax_write_t wr;
  ax_read_t rd, armed;
  ax_join_all_t both;
  ax_sleep_t nap;
  home_call_t call;
  th_cx_t cx;   /* a counting waker: the armed read is polled by hand */
  int poll_rc;
  snap_t before, sn;
  canceler_t cn;
  char out[1000], in[4096];
} paths_main_t;

/* On the home thread: a read that waits there, with its buffer. */
static void arm_read(void *arg) {
  paths_main_t *p = arg;
  p->poll_rc =
      ax_poll(ax_read(&p->armed, p->s, p->in, sizeof p->in), &p->cx.cx);
}

/* Pins down each path of uvstream.h's bridge, and that none loses,
 * duplicates or reorders a byte:
 *   1. zero-copy: a read waiting on the home thread gets libuv's read in
 *      its own buffer (R_ARMED -> R_FILLED), and completes anywhere;
 *   2. the stash: with no read waiting, libuv reads into the stream's
 *      buffer (reading stays on between reads), and the next read takes it;
 *   3. a read dropped after libuv filled its buffer gives the bytes back:
 *      the next reads return them first, in order;
 *   4. a read dropped on another thread while libuv reads into its buffer
 *      (R_IN_USE) waits for that read to end, then gives the bytes back;
 *   5. a read polled off the home (multi-thread: block_on's thread) waits
 *      for the stash and never lends its buffer to libuv. */
AX_ASYNC(paths_main_fn, paths_main_t, self) {
  AX_BEGIN(self);
  AWAIT_PAIR(&self->pair);
  self->c = self->pair.client;
  self->s = self->pair.server;
  th_cx_init(&self->cx);

  /* 1. zero-copy */
  self->before = snap(self->s);
  IO_CHECK(!self->before.reading);   /* nobody asked for bytes yet */
  RUN_ON_HOME(self, &self->call, self->s, arm_read, self);
  IO_CHECK_EQ(self->poll_rc, AX_PENDING);
  self->sn = snap(self->s);
  IO_CHECK_EQ(self->sn.rstate, AX__UVS_R_ARMED);
  IO_CHECK_EQ(self->sn.rlen, sizeof self->in);
  IO_CHECK(self->sn.reading);
  pat_fill(self->out, 1, 0, 1000);
  AX_AWAIT(ax_write_all(&self->wr, self->c, self->out, 1000));
  IO_CHECK_RC(self->wr.result, 0);
  while (snap(self->s).rstate != AX__UVS_R_FILLED)
    AX_AWAIT(ax_sleep(&self->nap, 1));
  IO_CHECK(atomic_load(&self->cx.w.wakes) >= 1);
  IO_CHECK_EQ(ax_poll(&self->armed.base, &self->cx.cx), AX_READY);
  IO_CHECK_RC(self->armed.result, 0);
  IO_CHECK(self->armed.nread >= 1 && self->armed.nread <= 1000);
  IO_CHECK_EQ(pat_check(self->in, 1, 0, self->armed.nread), -1);
  ax_drop(&self->armed.base);
  if (self->armed.nread < 1000) {   /* the segment came in two reads */
    AX_AWAIT(ax_read_exact(&self->rd, self->s, self->in + self->armed.nread,
                           1000 - self->armed.nread));
    IO_CHECK_EQ(pat_check(self->in, 1, 0, 1000), -1);
  }
  self->sn = snap(self->s);
  IO_CHECK_EQ(self->sn.rstate, AX__UVS_R_IDLE);
  IO_CHECK_EQ(self->sn.st.zero_copy, self->before.st.zero_copy + 1);
  IO_CHECK_EQ(atomic_load(&self->cx.w.refs), 0);

  /* 2. the stash */
  self->before = snap(self->s);
  IO_CHECK(self->before.reading);    /* still on, with no read waiting */
  pat_fill(self->out, 2, 0, 1000);
  AX_AWAIT(ax_write_all(&self->wr, self->c, self->out, 1000));
  while (snap(self->s).stash_len < 1000) AX_AWAIT(ax_sleep(&self->nap, 1));
  self->sn = snap(self->s);
  IO_CHECK_EQ(self->sn.stash_len, 1000);
  IO_CHECK(self->sn.st.stashed > self->before.st.stashed);
  IO_CHECK_EQ(self->sn.st.zero_copy, self->before.st.zero_copy);
  memset(self->in, 0, sizeof self->in);
  AX_AWAIT(ax_read(&self->rd, self->s, self->in, sizeof self->in));
  IO_CHECK_RC(self->rd.result, 0);
  IO_CHECK_EQ(self->rd.nread, 1000);
  IO_CHECK_EQ(pat_check(self->in, 2, 0, 1000), -1);
  IO_CHECK_EQ(snap(self->s).stash_len, 0);

  /* 3. given back by a dropped read (multi: dropped off the home) */
  self->before = snap(self->s);
  RUN_ON_HOME(self, &self->call, self->s, arm_read, self);
  IO_CHECK_EQ(self->poll_rc, AX_PENDING);
  pat_fill(self->out, 3, 0, 1000);
  AX_AWAIT(ax_write_all(&self->wr, self->c, self->out, 1000));
  while (snap(self->s).rstate != AX__UVS_R_FILLED)
    AX_AWAIT(ax_sleep(&self->nap, 1));
  ax_drop(&self->armed.base);
  self->sn = snap(self->s);
  IO_CHECK_EQ(self->sn.rstate, AX__UVS_R_IDLE);
  IO_CHECK_EQ(self->sn.st.given_back, self->before.st.given_back + 1);
  IO_CHECK(self->sn.ret_len >= 1);
  memset(self->in, 0, sizeof self->in);
  AX_AWAIT(ax_read(&self->rd, self->s, self->in, 10));
  IO_CHECK_RC(self->rd.result, 0);
  IO_CHECK_EQ(self->rd.nread, 10);
  AX_AWAIT(ax_read_exact(&self->rd, self->s, self->in + 10, 990));
  IO_CHECK_RC(self->rd.result, 0);
  IO_CHECK_EQ(pat_check(self->in, 3, 0, 1000), -1);
  IO_CHECK_EQ(atomic_load(&self->cx.w.refs), 0);

  /* 4. dropped on another thread while libuv reads into it */
  self->before = snap(self->s);
  RUN_ON_HOME(self, &self->call, self->s, arm_read, self);
  IO_CHECK_EQ(self->poll_rc, AX_PENDING);
  atomic_store(&hook_entered, 0);
  atomic_store(&hook_waits_before, self->before.st.cancel_waits);
  atomic_store(&hook_target, ax__uvs_of(self->s, 0));
  atomic_store(&ax__uvs_in_use_hook, in_use_hook);
  self->cn.rd = &self->armed;
  atomic_store(&self->cn.dropped, 0);
  IO_CHECK_RC(uv_thread_create(&self->cn.th, canceler_main, &self->cn), 0);
  pat_fill(self->out, 4, 0, 1000);
  AX_AWAIT(ax_write_all(&self->wr, self->c, self->out, 1000));
  while (!atomic_load(&self->cn.dropped)) AX_AWAIT(ax_sleep(&self->nap, 1));
  uv_thread_join(&self->cn.th);
  atomic_store(&ax__uvs_in_use_hook, NULL);
  self->sn = snap(self->s);
  IO_CHECK_EQ(self->sn.rstate, AX__UVS_R_IDLE);
  IO_CHECK_EQ(self->sn.st.cancel_waits, self->before.st.cancel_waits + 1);
  IO_CHECK_EQ(self->sn.st.zero_copy, self->before.st.zero_copy + 1);
  IO_CHECK_EQ(self->sn.st.given_back, self->before.st.given_back + 1);
  memset(self->in, 0, sizeof self->in);
  AX_AWAIT(ax_read_exact(&self->rd, self->s, self->in, 1000));
  IO_CHECK_RC(self->rd.result, 0);
  IO_CHECK_EQ(pat_check(self->in, 4, 0, 1000), -1);

  /* 5. polled off the home (current-thread: on it, which is path 1) */
  self->before = snap(self->s);
  pat_fill(self->out, 5, 0, 1000);
  memset(self->in, 0, sizeof self->in);
  AX_AWAIT(ax_join_all(&self->both,
                       ax_read_exact(&self->rd, self->s, self->in, 1000),
                       ax_write_all(&self->wr, self->c, self->out, 1000)));
  IO_CHECK_RC(self->rd.result, 0);
  IO_CHECK_EQ(pat_check(self->in, 5, 0, 1000), -1);
  if (self->multi)
    IO_CHECK_EQ(snap(self->s).st.zero_copy, self->before.st.zero_copy);
  /* ...and dropped there while it waits: nothing is lost either. */
  IO_CHECK_EQ(ax_poll(ax_read(&self->armed, self->s, self->in, 100),
                      &self->cx.cx), AX_PENDING);
  ax_drop(&self->armed.base);
  IO_CHECK_EQ(snap(self->s).rstate, AX__UVS_R_IDLE);
  pat_fill(self->out, 6, 0, 1000);
  AX_AWAIT(ax_join_all(&self->both,
                       ax_read_exact(&self->rd, self->s, self->in, 1000),
                       ax_write_all(&self->wr, self->c, self->out, 1000)));
  IO_CHECK_EQ(pat_check(self->in, 6, 0, 1000), -1);
  IO_CHECK_EQ(atomic_load(&self->cx.w.refs), 0);
  AX_END();
}

AX_ASYNC_DROP(paths_main_drop, paths_main_t, self) {
  atomic_store(&ax__uvs_in_use_hook, NULL);
  close_both(&self->c, &self->s);
}

START_TEST(read_paths) {
  paths_main_t m = {0};
  m.multi = _i;
  io_run(_i, AX_FUTURE_DROP(paths_main_fn, paths_main_drop, &m));
}
END_TEST

/* ---- a stream read with every read raced against a timer --------------- */

/* Writes `total` bytes of stream seed in chunks of varied sizes, then shuts
 * down. */
typedef struct streamer_s {
  ax_async_t co;
  ax_stream_t *s;              /* borrowed */
  uint32_t seed;
  uint64_t total, sent;
  ax_write_t wr;
  ax_shutdown_t sh;
  ax_yield_t y;
  char *buf;
  size_t n;
  int k;
} streamer_t;

static const size_t streamer_lens[6] = {65536, 1, 3000, 17, 40000, 1448};

AX_ASYNC(streamer_fn, streamer_t, self) {
  AX_BEGIN(self);
  self->buf = malloc(64 * KiB);
  while (self->sent < self->total) {
    self->n = streamer_lens[self->k++ % 6];
    if (self->n > self->total - self->sent)
      self->n = (size_t)(self->total - self->sent);
    pat_fill(self->buf, self->seed, self->sent, self->n);
    AX_AWAIT(ax_write_all(&self->wr, self->s, self->buf, self->n));
    if (self->wr.result != 0) {
      io_fail(__FILE__, __LINE__, "write: %s", ax_err_name(self->wr.result));
      AX_RETURN();
    }
    self->sent += self->n;
    if (self->k % 5 == 0) AX_AWAIT(ax_yield_now(&self->y));
  }
  AX_AWAIT(ax_shutdown(&self->sh, self->s));
  IO_CHECK_RC(self->sh.result, 0);
  AX_END();
}

AX_ASYNC_DROP(streamer_drop, streamer_t, self) {
  free(self->buf);
  self->buf = NULL;
}

/* Reads stream seed to its end, each read in a select against a 0 or 1 ms
 * sleep or a yield: reads lose again and again, in every state. */
typedef struct dropper_s {
  ax_async_t co;
  ax_stream_t *s;              /* borrowed */
  uint32_t seed;
  ax_select_t sel;
  ax_read_t rd;
  ax_sleep_t nap;
  ax_yield_t y;
  size_t len;
  int k;
  char buf[8192];
  uint64_t got;                /* out */
  unsigned long wins, losses, off_home;
} dropper_t;

static const size_t dropper_lens[5] = {8192, 1, 700, 4096, 33};

AX_ASYNC(dropper_fn, dropper_t, self) {
  AX_BEGIN(self);
  for (;;) {
    self->len = dropper_lens[self->k % 5];
    self->k++;
    if (!ax_home_is_current((ax_home_t *)(void *)ax__uvs_of(self->s, 0)->home))
      self->off_home++;
    if (self->k % 3 == 0)
      AX_AWAIT(ax_select(&self->sel,
                         ax_read(&self->rd, self->s, self->buf, self->len),
                         ax_yield_now(&self->y)));
    else
      AX_AWAIT(ax_select(&self->sel,
                         ax_read(&self->rd, self->s, self->buf, self->len),
                         ax_sleep(&self->nap, (uint64_t)(self->k % 2))));
    if (self->sel.winner != 0) {
      self->losses++;
      continue;
    }
    if (self->rd.result != 0) {
      io_fail(__FILE__, __LINE__, "read: %s", ax_err_name(self->rd.result));
      break;
    }
    if (self->rd.nread == 0) break;
    if (pat_check(self->buf, self->seed, self->got, self->rd.nread) != -1) {
      io_fail(__FILE__, __LINE__, "wrong byte at %llu (read %lu, %llu bytes)",
              (unsigned long long)(self->got +
                                   (uint64_t)pat_check(self->buf, self->seed,
                                                       self->got,
                                                       self->rd.nread)),
              self->wins, (unsigned long long)self->rd.nread);
      break;
    }
    self->got += self->rd.nread;
    self->wins++;
  }
  AX_END();
}

/* Mode 0: current-thread; 1: multi-thread, the reader a task (on whichever
 * worker); 2: multi-thread, the reader block_on's future, never on the
 * stream's home. */
typedef struct cancel_main_s {
  ax_async_t co;
  int mode;
  uint64_t total;
  pair_t pair;
  ax_stream_t *c, *s;
  ax_join_t wh, rh;
  dropper_t d;
} cancel_main_t;

/* Pins down "a dropped read loses nothing": a stream read only through
 * reads that lose races (dropped armed, filled, in libuv's hands, waiting
 * off the home...) delivers every byte exactly once, in order. */
AX_ASYNC(cancel_main_fn, cancel_main_t, self) {
  AX_BEGIN(self);
  AWAIT_PAIR(&self->pair);
  self->c = self->pair.client;
  self->s = self->pair.server;
  {
    streamer_t w;
    memset(&w, 0, sizeof w);
    w.s = self->c;
    w.seed = 51;
    w.total = self->total;
    IO_CHECK_RC(ax_spawn(AX_FUTURE_DROP(streamer_fn, streamer_drop, &w),
                         sizeof w, &self->wh), 0);
  }
  memset(&self->d, 0, sizeof self->d);
  self->d.s = self->s;
  self->d.seed = 51;
  if (self->mode == 2) {
    AX_AWAIT(AX_FUTURE(dropper_fn, &self->d));
    IO_CHECK_EQ(self->d.got, self->total);
    IO_CHECK_EQ(self->d.off_home, self->d.k);
    /* Never on the home: libuv never read into a read's own buffer. */
    IO_CHECK_EQ(snap(self->s).st.zero_copy, 0);
  } else {
    IO_CHECK_RC(ax_spawn(AX_FUTURE(dropper_fn, &self->d), sizeof self->d,
                         &self->rh), 0);
    AX_AWAIT(ax_join_wait(&self->rh));
    IO_CHECK_RC(self->rh.result, 0);
    if (self->rh.result == 0)
      IO_CHECK_EQ(AX_JOIN_OUTPUT(&self->rh, dropper_t)->got, self->total);
    ax_join_drop(&self->rh);
  }
  AX_AWAIT(ax_join_wait(&self->wh));
  IO_CHECK_RC(self->wh.result, 0);
  ax_join_drop(&self->wh);
  AX_END();
}

AX_ASYNC_DROP(cancel_main_drop, cancel_main_t, self) {
  ax_join_drop(&self->wh);
  ax_join_drop(&self->rh);
  close_both(&self->c, &self->s);
}

START_TEST(read_cancel_stream) {
  cancel_main_t m = {0};
  m.mode = _i;
  m.total = ax_test_iters(8 * MiB);
  if (m.total < 512 * KiB) m.total = 512 * KiB;
  io_run(_i != 0, AX_FUTURE_DROP(cancel_main_fn, cancel_main_drop, &m));
}
END_TEST

/* ---- writes dropped mid-way -------------------------------------------- */

#define WROUNDS 64
#define WCHUNK (4u * MiB)

/* Waits for `go`, then reads whole rounds (WCHUNK bytes: the round's
 * number in 8 bytes, then stream <round>) to the end. */
typedef struct wsink_s {
  ax_async_t co;
  ax_stream_t *s;              /* borrowed */
  _Atomic int *go;
  ax_read_t rd;
  ax_sleep_t nap;
  char *buf;
  long last;                   /* out: the last round seen */
  long count;                  /* out */
  unsigned char seen[WROUNDS]; /* out */
} wsink_t;

static uint64_t get_le64(const char *p) {
  uint64_t v = 0;
  int k;
  for (k = 7; k >= 0; k--) v = v << 8 | (uint8_t)p[k];
  return v;
}

static void put_le64(char *p, uint64_t v) {
  int k;
  for (k = 0; k < 8; k++) p[k] = (char)(uint8_t)(v >> (8 * k));
}

AX_ASYNC(wsink_fn, wsink_t, self) {
  AX_BEGIN(self);
  self->buf = malloc(WCHUNK);
  self->last = -1;
  while (!atomic_load(self->go)) AX_AWAIT(ax_sleep(&self->nap, 1));
  for (;;) {
    AX_AWAIT(ax_read_exact(&self->rd, self->s, self->buf, WCHUNK));
    if (self->rd.result == AX_EOF && self->rd.nread == 0) break;
    if (self->rd.result != 0) {
      io_fail(__FILE__, __LINE__, "after round %ld: %s with %llu bytes",
              self->last, ax_err_name(self->rd.result),
              (unsigned long long)self->rd.nread);
      break;
    }
    {
      uint64_t r = get_le64(self->buf);
      if (r >= WROUNDS || (long)r <= self->last) {
        io_fail(__FILE__, __LINE__, "round %llu after round %ld",
                (unsigned long long)r, self->last);
        break;
      }
      if (pat_check(self->buf + 8, (uint32_t)r, 8, WCHUNK - 8) != -1) {
        io_fail(__FILE__, __LINE__, "round %llu: wrong bytes",
                (unsigned long long)r);
        break;
      }
      self->seen[r] = 1;
      self->last = (long)r;
      self->count++;
    }
  }
  AX_END();
}

AX_ASYNC_DROP(wsink_drop, wsink_t, self) {
  free(self->buf);
  self->buf = NULL;
}

typedef struct wcancel_main_s {
  ax_async_t co;
  pair_t pair;
  ax_stream_t *c, *s;
  home_call_t call;
  bufsize_t bs;
  ax_sleep_t nap;
  ax_select_t sel;
  ax_write_t wr;
  ax_shutdown_t sh;
  ax_join_t h;
  _Atomic int go;
  char *buf;
  int round, drops;
  unsigned char done[WROUNDS];
} wcancel_main_t;

static char *wround(int round) {
  char *b = malloc(WCHUNK);
  put_le64(b, (uint64_t)round);
  pat_fill(b + 8, (uint32_t)round, 8, WCHUNK - 8);
  return b;
}

/* Pins down "a dropped write never lets libuv read the caller's buffer
 * afterwards" (each buffer is freed as soon as its write is dropped:
 * ASan and valgrind watch), that what a dropped write had taken is still
 * sent whole, in order, and nothing of it twice (a dropped write_all
 * arrives whole or, if it never started, not at all), and that the next
 * write after a dropped one waits for it and goes out (no AX_EBUSY).
 * Multi-thread: the writer is block_on's future, off the stream's home. */
AX_ASYNC(wcancel_main_fn, wcancel_main_t, self) {
  AX_BEGIN(self);
  AWAIT_PAIR(&self->pair);
  self->c = self->pair.client;
  self->s = self->pair.server;
  self->bs.s = self->c;
  self->bs.size = 64 * KiB;
  RUN_ON_HOME(self, &self->call, self->c, set_bufsize, &self->bs);
  self->bs.s = self->s;
  RUN_ON_HOME(self, &self->call, self->s, set_bufsize, &self->bs);
  {
    wsink_t k;
    memset(&k, 0, sizeof k);
    k.s = self->s;
    k.go = &self->go;
    IO_CHECK_RC(ax_spawn(AX_FUTURE_DROP(wsink_fn, wsink_drop, &k), sizeof k,
                         &self->h), 0);
  }
  /* Nobody reads yet: the kernel's buffers fill, a write must wait, and
   * the timer wins.  Biased: the write is always polled first, so a
   * dropped write had started. */
  for (self->round = 0; self->drops < 3 && self->round < WROUNDS - 1;
       self->round++) {
    self->buf = wround(self->round);
    AX_AWAIT(ax_select_biased(&self->sel,
                              ax_write_all(&self->wr, self->c, self->buf,
                                           WCHUNK),
                              ax_sleep(&self->nap, 1)));
    if (self->sel.winner == 0) {
      IO_CHECK_RC(self->wr.result, 0);
      self->done[self->round] = 1;
    } else {
      self->drops++;
    }
    free(self->buf);
    self->buf = NULL;
  }
  IO_CHECK_EQ(self->drops, 3);
  atomic_store(&self->go, 1);
  /* The next write: waits for what the dropped ones left in flight. */
  self->buf = wround(self->round);
  AX_AWAIT(ax_write_all(&self->wr, self->c, self->buf, WCHUNK));
  IO_CHECK_RC(self->wr.result, 0);
  IO_CHECK_EQ(self->wr.nwritten, WCHUNK);
  self->done[self->round] = 1;
  free(self->buf);
  self->buf = NULL;
  AX_AWAIT(ax_shutdown(&self->sh, self->c));
  IO_CHECK_RC(self->sh.result, 0);
  AX_AWAIT(ax_join_wait(&self->h));
  IO_CHECK_RC(self->h.result, 0);
  if (self->h.result == 0) {
    wsink_t *k = AX_JOIN_OUTPUT(&self->h, wsink_t);
    int r;
    for (r = 0; r <= self->round; r++)
      if (self->done[r] && !k->seen[r])
        io_fail(__FILE__, __LINE__, "round %d was written, never read", r);
    IO_CHECK_EQ(k->last, self->round);
  }
  ax_join_drop(&self->h);
  AX_END();
}

AX_ASYNC_DROP(wcancel_main_drop, wcancel_main_t, self) {
  ax_join_drop(&self->h);
  close_both(&self->c, &self->s);
  free(self->buf);
  self->buf = NULL;
}

START_TEST(write_cancel) {
  wcancel_main_t m = {0};
  io_run(_i, AX_FUTURE_DROP(wcancel_main_fn, wcancel_main_drop, &m));
}
END_TEST

/* ==== 6. many concurrent connections ==================================== */

/* Raises the open-file limit to what n connections (two ends each) need,
 * if it is lower and may be raised; returns how many connections fit. */
static unsigned long fit_connections(unsigned long n) {
#ifndef _WIN32
  struct rlimit rl;
  rlim_t want = (rlim_t)(2 * n + 64);
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return n;
  if (rl.rlim_cur < want) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want
                      ? want : rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return n;
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    unsigned long fit = rl.rlim_cur > 64 ? (unsigned long)(rl.rlim_cur - 64) / 2
                                         : 1;
    printf("io: %lu connections, not %lu: the open-file limit is %lu\n", fit,
           n, (unsigned long)rl.rlim_cur);
    return fit;
  }
#endif
  return n;
}

typedef struct many_main_s {
  ax_async_t co;
  unsigned long n, i, ok;
  server_t sv;
  server_up_t up;
  server_down_t down;
  ax_join_t *h;
} many_main_t;

/* Pins down that a server and n clients on one runtime (each client its
 * own task: connect, send 1..8 KiB while reading the echo) all complete,
 * every byte right, each connection accepted once. */
AX_ASYNC(many_main_fn, many_main_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(server_up(&self->up, &self->sv, "127.0.0.1", NULL));
  IO_CHECK_RC(self->up.result, 0);
  if (self->up.result != 0) AX_RETURN();
  self->h = calloc(self->n, sizeof *self->h);
  for (self->i = 0; self->i < self->n; self->i++) {
    client_t c;
    client(&c, "127.0.0.1", self->sv.port, (uint32_t)(1000 + self->i),
           1 + (self->i * 977) % (8 * KiB));
    IO_CHECK_RC(ax_spawn(AX_FUTURE_DROP(client_fn, client_drop, &c), sizeof c,
                         &self->h[self->i]), 0);
  }
  for (self->i = 0; self->i < self->n; self->i++) {
    AX_AWAIT(ax_join_wait(&self->h[self->i]));
    IO_CHECK_RC(self->h[self->i].result, 0);
    if (self->h[self->i].result == 0 &&
        AX_JOIN_OUTPUT(&self->h[self->i], client_t)->ok)
      self->ok++;
    ax_join_drop(&self->h[self->i]);
  }
  IO_CHECK_EQ(self->ok, self->n);
  AX_AWAIT(server_down(&self->down, &self->sv));
  IO_CHECK_EQ(atomic_load(&self->sv.st.accepted), self->n);
  AX_END();
}

AX_ASYNC_DROP(many_main_drop, many_main_t, self) {
  unsigned long i;
  if (self->h != NULL)
    for (i = 0; i < self->n; i++) ax_join_drop(&self->h[i]);
  free(self->h);
  self->h = NULL;
}

START_TEST(many_connections) {
  many_main_t m = {0};
  unsigned long n = ax_test_iters(1000);
  if (n < 100) n = 100;
  m.n = fit_connections(n);
  io_run(_i, AX_FUTURE_DROP(many_main_fn, many_main_drop, &m));
}
END_TEST

/* ==== 7. shutdown, read_to_end, copy, split, the buffered reader ======== */

/* Writes n bytes of stream seed to s, then (shut) shuts s down; with
 * wait_armed it stops after `n`, waits until `peer` waits in a read, and
 * then writes `more` bytes (and shuts down). */
typedef struct feeder_s {
  ax_async_t co;
  ax_stream_t *s;              /* borrowed */
  uint32_t seed;
  size_t n, more;
  int shut;
  ax_stream_t *peer;           /* NULL, or wait until it reads */
  ax_write_t wr;
  ax_shutdown_t sh;
  ax_sleep_t nap;
  char *buf;
} feeder_t;

/* A read_to_end on s that has all the bytes sent (one loopback segment)
 * waits for one more: on the home, armed with a 1-byte buffer; elsewhere,
 * waiting after the stash it emptied. */
static int probe_waits(ax_stream_t *s) {
  snap_t sn = snap(s);
  return (sn.rstate == AX__UVS_R_ARMED && sn.rlen == 1) ||
         (sn.rstate == AX__UVS_R_WAIT && sn.st.stashed > 0 &&
          sn.stash_len == 0);
}

AX_ASYNC(feeder_fn, feeder_t, self) {
  AX_BEGIN(self);
  self->buf = malloc(self->n + self->more + 1);
  pat_fill(self->buf, self->seed, 0, self->n + self->more);
  AX_AWAIT(ax_write_all(&self->wr, self->s, self->buf, self->n));
  IO_CHECK_RC(self->wr.result, 0);
  if (self->peer != NULL) {
    /* The peer's read_to_end has all n bytes and probes for the end. */
    while (!probe_waits(self->peer)) AX_AWAIT(ax_sleep(&self->nap, 1));
  }
  if (self->more != 0) {
    AX_AWAIT(ax_write_all(&self->wr, self->s, self->buf + self->n, self->more));
    IO_CHECK_RC(self->wr.result, 0);
  }
  if (self->shut) {
    AX_AWAIT(ax_shutdown(&self->sh, self->s));
    IO_CHECK_RC(self->sh.result, 0);
  }
  AX_END();
}

AX_ASYNC_DROP(feeder_drop, feeder_t, self) {
  free(self->buf);
  self->buf = NULL;
}

static int spawn_feeder(ax_stream_t *s, uint32_t seed, size_t n, size_t more,
                        int shut, ax_stream_t *peer, ax_join_t *h) {
  feeder_t f;
  memset(&f, 0, sizeof f);
  f.s = s;
  f.seed = seed;
  f.n = n;
  f.more = more;
  f.shut = shut;
  f.peer = peer;
  return ax_spawn(AX_FUTURE_DROP(feeder_fn, feeder_drop, &f), sizeof f, h);
}

typedef struct rte_main_s {
  ax_async_t co;
  pair_t pair;
  ax_stream_t *c, *s;
  ax_join_t h;
  ax_read_to_end_t rte;
  ax_read_t rd;
  ax_write_t wr;
  ax_shutdown_t sh;
  ax_select_t sel;
  until_t until;
  ax_bytes_t out;
  int step;
  char buf[16];
} rte_main_t;

/* read_to_end has its max and waits for one more byte (or the end). */
static int probing(void *arg) {
  rte_main_t *m = arg;
  snap_t sn = snap(m->s);
  return m->out.len == 4096 &&
         (sn.rstate == AX__UVS_R_ARMED || sn.rstate == AX__UVS_R_WAIT);
}

/* Pins down read_to_end (appends to *out up to the end; UV_ENOBUFS with
 * exactly max bytes kept when more came; exactly max bytes then the end is
 * no error, also when the end comes while it probes for it; dropped while
 * it probes, it keeps what it appended and loses nothing), read_exact
 * across the end (AX_EOF with the bytes that came), the end staying the
 * end, and shutdown (the peer reads the end, we can still read; a second
 * shutdown says the same; a write after it fails). */
AX_ASYNC(rte_main_fn, rte_main_t, self) {
  AX_BEGIN(self);
  for (self->step = 0; self->step < 6; self->step++) {
    AWAIT_PAIR(&self->pair);
    self->c = self->pair.client;
    self->s = self->pair.server;
    ax_bytes_free(&self->out);
    if (self->step == 0) {
      /* Everything to the end, after what *out already held. */
      IO_CHECK_RC(spawn_feeder(self->c, 71, 100000, 0, 1, NULL, &self->h), 0);
      IO_CHECK_RC(ax_bytes_append(&self->out, "abc", 3), 0);
      AX_AWAIT(ax_read_to_end(&self->rte, self->s, &self->out, 1 * MiB));
      IO_CHECK_RC(self->rte.result, 0);
      IO_CHECK_EQ(self->out.len, 100003);
      IO_CHECK(memcmp(self->out.data, "abc", 3) == 0);
      IO_CHECK_EQ(pat_check(self->out.data + 3, 71, 0, 100000), -1);
    } else if (self->step == 1) {
      /* More than max. */
      IO_CHECK_RC(spawn_feeder(self->c, 72, 5000, 0, 1, NULL, &self->h), 0);
      AX_AWAIT(ax_read_to_end(&self->rte, self->s, &self->out, 4096));
      IO_CHECK_RC(self->rte.result, UV_ENOBUFS);
      IO_CHECK_EQ(self->out.len, 4096);
      IO_CHECK_EQ(pat_check(self->out.data, 72, 0, 4096), -1);
    } else if (self->step == 2) {
      /* Exactly max, and the end comes while it probes. */
      IO_CHECK_RC(spawn_feeder(self->c, 73, 4096, 0, 1, self->s, &self->h),
                  0);
      AX_AWAIT(ax_read_to_end(&self->rte, self->s, &self->out, 4096));
      IO_CHECK_RC(self->rte.result, 0);
      IO_CHECK_EQ(self->out.len, 4096);
      IO_CHECK_EQ(pat_check(self->out.data, 73, 0, 4096), -1);
    } else if (self->step == 3) {
      /* Max, and one byte more comes while it probes. */
      IO_CHECK_RC(spawn_feeder(self->c, 74, 4096, 1, 1, self->s, &self->h),
                  0);
      AX_AWAIT(ax_read_to_end(&self->rte, self->s, &self->out, 4096));
      IO_CHECK_RC(self->rte.result, UV_ENOBUFS);
      IO_CHECK_EQ(self->out.len, 4096);
      IO_CHECK_EQ(pat_check(self->out.data, 74, 0, 4096), -1);
    } else if (self->step == 4) {
      /* Dropped while it probes: the byte that comes is the next read's. */
      IO_CHECK_RC(spawn_feeder(self->c, 75, 4096, 1, 0, self->s, &self->h),
                  0);
      AX_AWAIT(ax_select_biased(
          &self->sel, ax_read_to_end(&self->rte, self->s, &self->out, 4096),
          until(&self->until, probing, self)));
      IO_CHECK_EQ(self->out.len, 4096);
      IO_CHECK_EQ(pat_check(self->out.data, 75, 0, 4096), -1);
      if (self->sel.winner == 0) {
        /* Multi-thread: the byte came before the probe was seen. */
        IO_CHECK_RC(self->rte.result, UV_ENOBUFS);
      } else {
        AX_AWAIT(ax_read_exact(&self->rd, self->s, self->buf, 1));
        IO_CHECK_RC(self->rd.result, 0);
        IO_CHECK_EQ(pat_check(self->buf, 75, 4096, 1), -1);
      }
    } else {
      /* read_exact across the end; the end stays; shutdown both ways. */
      IO_CHECK_RC(spawn_feeder(self->c, 76, 5, 0, 1, NULL, &self->h), 0);
      AX_AWAIT(ax_read_exact(&self->rd, self->s, self->buf, 10));
      IO_CHECK_RC(self->rd.result, AX_EOF);
      IO_CHECK_EQ(self->rd.nread, 5);
      IO_CHECK_EQ(pat_check(self->buf, 76, 0, 5), -1);
      AX_AWAIT(ax_read_exact(&self->rd, self->s, self->buf, 10));
      IO_CHECK_RC(self->rd.result, AX_EOF);
      IO_CHECK_EQ(self->rd.nread, 0);
      AX_AWAIT(ax_read(&self->rd, self->s, self->buf, 10));
      IO_CHECK_RC(self->rd.result, 0);
      IO_CHECK_EQ(self->rd.nread, 0);
      /* Its write side still works: the client reads it, then the end. */
      AX_AWAIT(ax_write_all(&self->wr, self->s, "bye", 3));
      IO_CHECK_RC(self->wr.result, 0);
      AX_AWAIT(ax_shutdown(&self->sh, self->s));
      IO_CHECK_RC(self->sh.result, 0);
      AX_AWAIT(ax_shutdown(&self->sh, self->s));   /* again: same answer */
      IO_CHECK_RC(self->sh.result, 0);
      AX_AWAIT(ax_write_all(&self->wr, self->s, "late", 4));
      IO_CHECK(self->wr.result < 0);                /* after shutdown */
      AX_AWAIT(ax_read_to_end(&self->rte, self->c, &self->out, 100));
      IO_CHECK_RC(self->rte.result, 0);
      IO_CHECK(self->out.len == 3 && memcmp(self->out.data, "bye", 3) == 0);
    }
    AX_AWAIT(ax_join_wait(&self->h));
    IO_CHECK_RC(self->h.result, 0);
    ax_join_drop(&self->h);
    close_both(&self->c, &self->s);
  }
  AX_END();
}

AX_ASYNC_DROP(rte_main_drop, rte_main_t, self) {
  ax_join_drop(&self->h);
  close_both(&self->c, &self->s);
  ax_bytes_free(&self->out);
}

START_TEST(read_to_end_and_shutdown) {
  rte_main_t m = {0};
  io_run(_i, AX_FUTURE_DROP(rte_main_fn, rte_main_drop, &m));
}
END_TEST

/* ---- copy -------------------------------------------------------------- */

/* Copies from -> to, then shuts `to` down. */
typedef struct copier_s {
  ax_async_t co;
  ax_stream_t *from, *to;      /* borrowed */
  ax_copy_t cp;
  ax_shutdown_t sh;
} copier_t;

AX_ASYNC(copier_fn, copier_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_copy(&self->cp, self->from, self->to));
  AX_AWAIT(ax_shutdown(&self->sh, self->to));
  IO_CHECK_RC(self->sh.result, 0);
  AX_END();
}

/* ax_copy's drop frees its buffer: the task drops it when it ends. */
AX_ASYNC_DROP(copier_drop, copier_t, self) { ax_drop(&self->cp.base); }

typedef struct copy_main_s {
  ax_async_t co;
  pair_t px, py;
  ax_stream_t *xc, *xs, *yc, *ys;
  ax_join_t wh, ch;
  ax_read_to_end_t rte;
  ax_bytes_t out;
} copy_main_t;

#define COPY_LEN (1u * MiB + 12345u)

/* Pins down ax_copy: what one connection's client sends comes out of
 * another connection's server, every byte, `copied` counts them, and the
 * copy ends (result 0) at the end of its source. */
AX_ASYNC(copy_main_fn, copy_main_t, self) {
  AX_BEGIN(self);
  AWAIT_PAIR(&self->px);
  self->xc = self->px.client;
  self->xs = self->px.server;
  AWAIT_PAIR(&self->py);
  self->yc = self->py.client;
  self->ys = self->py.server;
  IO_CHECK_RC(spawn_feeder(self->xc, 81, COPY_LEN, 0, 1, NULL, &self->wh), 0);
  {
    copier_t k;
    memset(&k, 0, sizeof k);
    k.from = self->xs;
    k.to = self->yc;
    IO_CHECK_RC(ax_spawn(AX_FUTURE_DROP(copier_fn, copier_drop, &k), sizeof k,
                         &self->ch), 0);
  }
  AX_AWAIT(ax_read_to_end(&self->rte, self->ys, &self->out, 2 * COPY_LEN));
  IO_CHECK_RC(self->rte.result, 0);
  IO_CHECK_EQ(self->out.len, COPY_LEN);
  IO_CHECK_EQ(pat_check(self->out.data, 81, 0, self->out.len), -1);
  AX_AWAIT(ax_join_wait(&self->ch));
  IO_CHECK_RC(self->ch.result, 0);
  if (self->ch.result == 0) {
    copier_t *k = AX_JOIN_OUTPUT(&self->ch, copier_t);
    IO_CHECK_RC(k->cp.result, 0);
    IO_CHECK_EQ(k->cp.copied, COPY_LEN);
  }
  AX_AWAIT(ax_join_wait(&self->wh));
  IO_CHECK_RC(self->wh.result, 0);
  AX_END();
}

AX_ASYNC_DROP(copy_main_drop, copy_main_t, self) {
  ax_join_drop(&self->wh);
  ax_join_drop(&self->ch);
  close_both(&self->xc, &self->xs);
  close_both(&self->yc, &self->ys);
  ax_bytes_free(&self->out);
}

START_TEST(copy_between_connections) {
  copy_main_t m = {0};
  io_run(_i, AX_FUTURE_DROP(copy_main_fn, copy_main_drop, &m));
}
END_TEST

/* ---- split ------------------------------------------------------------- */

/* The read half's task: reads stream seed to the end, closes its half,
 * tells the write half's task. */
typedef struct half_reader_s {
  ax_async_t co;
  ax_stream_t *rd;             /* ours */
  _Atomic int *closed;
  uint32_t seed;
  ax_read_t r;
  char buf[5000];
  uint64_t got;                /* out */
} half_reader_t;

AX_ASYNC(half_reader_fn, half_reader_t, self) {
  AX_BEGIN(self);
  for (;;) {
    AX_AWAIT(ax_read(&self->r, self->rd, self->buf, sizeof self->buf));
    if (self->r.result != 0 || self->r.nread == 0) break;
    IO_CHECK_EQ(pat_check(self->buf, self->seed, self->got, self->r.nread),
                -1);
    self->got += self->r.nread;
  }
  IO_CHECK_RC(self->r.result, 0);
  /* One half closed: the connection stays up for the other. */
  close_stream(&self->rd);
  atomic_store(self->closed, 1);
  AX_END();
}

AX_ASYNC_DROP(half_reader_drop, half_reader_t, self) {
  close_stream(&self->rd);
}

/* The write half's task: once the read half is closed, writes stream seed
 * and shuts down, then closes its half (the connection closes). */
typedef struct half_writer_s {
  ax_async_t co;
  ax_stream_t *wr;             /* ours */
  _Atomic int *closed;
  uint32_t seed;
  size_t len;
  ax_write_t w;
  ax_shutdown_t sh;
  ax_sleep_t nap;
  char *buf;
} half_writer_t;

AX_ASYNC(half_writer_fn, half_writer_t, self) {
  AX_BEGIN(self);
  while (!atomic_load(self->closed)) AX_AWAIT(ax_sleep(&self->nap, 1));
  self->buf = malloc(self->len);
  pat_fill(self->buf, self->seed, 0, self->len);
  AX_AWAIT(ax_write_all(&self->w, self->wr, self->buf, self->len));
  IO_CHECK_RC(self->w.result, 0);
  AX_AWAIT(ax_shutdown(&self->sh, self->wr));
  IO_CHECK_RC(self->sh.result, 0);
  AX_END();
}

AX_ASYNC_DROP(half_writer_drop, half_writer_t, self) {
  close_stream(&self->wr);
  free(self->buf);
  self->buf = NULL;
}

typedef struct split_main_s {
  ax_async_t co;
  pair_t pair;
  ax_stream_t *c, *rd, *wr;
  ax_join_t rh, wh, fh;
  ax_read_t r;
  ax_write_t w;
  ax_shutdown_t sh;
  ax_read_to_end_t rte;
  ax_sleep_t nap;
  ax_bytes_t out;
  _Atomic int closed;
  int i;
  char buf[4];
} split_main_t;

#define SPLIT_LEN (300u * KiB)

/* Pins down ax_stream_split: each half does only its own side (the other
 * calls give AX_EINVAL), the TCP calls see through a half, two tasks use
 * the halves at once, closing one half leaves the connection to the
 * other, and closing both closes it. */
AX_ASYNC(split_main_fn, split_main_t, self) {
  AX_BEGIN(self);
  AWAIT_PAIR(&self->pair);
  self->c = self->pair.client;
  IO_CHECK_RC(ax_stream_split(self->pair.server, &self->rd, &self->wr), 0);
  {
    struct sockaddr_storage a, b;
    IO_CHECK_RC(ax_tcp_peer_addr(self->rd, &a), 0);
    IO_CHECK_RC(ax_tcp_local_addr(self->c, &b), 0);
    IO_CHECK_EQ(addr_port(&a), addr_port(&b));
    IO_CHECK_RC(ax_tcp_local_addr(self->wr, &a), 0);
    IO_CHECK_RC(ax_tcp_peer_addr(self->c, &b), 0);
    IO_CHECK_EQ(addr_port(&a), addr_port(&b));
    IO_CHECK_RC(ax_tcp_set_nodelay(self->wr, 1), 0);
  }
  AX_AWAIT(ax_write(&self->w, self->rd, "x", 1));
  IO_CHECK_RC(self->w.result, AX_EINVAL);
  AX_AWAIT(ax_read(&self->r, self->wr, self->buf, 1));
  IO_CHECK_RC(self->r.result, AX_EINVAL);
  AX_AWAIT(ax_shutdown(&self->sh, self->rd));
  IO_CHECK_RC(self->sh.result, AX_EINVAL);
  {
    half_reader_t hr;
    half_writer_t hw;
    memset(&hr, 0, sizeof hr);
    hr.rd = self->rd;
    hr.closed = &self->closed;
    hr.seed = 91;
    memset(&hw, 0, sizeof hw);
    hw.wr = self->wr;
    hw.closed = &self->closed;
    hw.seed = 92;
    hw.len = SPLIT_LEN;
    self->rd = self->wr = NULL;   /* the tasks' now */
    IO_CHECK_RC(ax_spawn(AX_FUTURE_DROP(half_reader_fn, half_reader_drop,
                                        &hr), sizeof hr, &self->rh), 0);
    IO_CHECK_RC(ax_spawn(AX_FUTURE_DROP(half_writer_fn, half_writer_drop,
                                        &hw), sizeof hw, &self->wh), 0);
  }
  IO_CHECK_RC(spawn_feeder(self->c, 91, SPLIT_LEN, 0, 1, NULL, &self->fh), 0);
  AX_AWAIT(ax_read_to_end(&self->rte, self->c, &self->out, 2 * SPLIT_LEN));
  IO_CHECK_RC(self->rte.result, 0);
  IO_CHECK_EQ(self->out.len, SPLIT_LEN);
  IO_CHECK_EQ(pat_check(self->out.data, 92, 0, self->out.len), -1);
  AX_AWAIT(ax_join_wait(&self->rh));
  IO_CHECK_RC(self->rh.result, 0);
  if (self->rh.result == 0)
    IO_CHECK_EQ(AX_JOIN_OUTPUT(&self->rh, half_reader_t)->got, SPLIT_LEN);
  AX_AWAIT(ax_join_wait(&self->wh));
  IO_CHECK_RC(self->wh.result, 0);
  AX_AWAIT(ax_join_wait(&self->fh));
  IO_CHECK_RC(self->fh.result, 0);
  /* Both halves closed: the connection is gone.  Our writes fail in the
   * end (the first ones may be taken before the peer's reset is back). */
  for (self->i = 0; self->i < 100000; self->i++) {
    AX_AWAIT(ax_write_all(&self->w, self->c, "ping", 4));
    if (self->w.result != 0) break;
    AX_AWAIT(ax_sleep(&self->nap, 1));
  }
  if (!is_reset(self->w.result))
    io_fail(__FILE__, __LINE__, "write to the closed halves: %s",
            ax_err_name(self->w.result));
  AX_END();
}

AX_ASYNC_DROP(split_main_drop, split_main_t, self) {
  ax_join_drop(&self->rh);
  ax_join_drop(&self->wh);
  ax_join_drop(&self->fh);
  close_stream(&self->c);
  close_both(&self->rd, &self->wr);   /* the server's two halves */
  ax_bytes_free(&self->out);
}

START_TEST(split_halves) {
  split_main_t m = {0};
  io_run(_i, AX_FUTURE_DROP(split_main_fn, split_main_drop, &m));
}
END_TEST

/* ---- the buffered reader ----------------------------------------------- */

/* Writes the pieces in order, a loop turn between two, then shuts down. */
typedef struct scripter_s {
  ax_async_t co;
  ax_stream_t *s;              /* borrowed */
  const char *const *pieces;   /* NULL-terminated */
  int bytewise;                /* one byte at a time instead */
  ax_write_t wr;
  ax_shutdown_t sh;
  ax_sleep_t nap;
  size_t i, off;
} scripter_t;

AX_ASYNC(scripter_fn, scripter_t, self) {
  AX_BEGIN(self);
  for (self->i = 0; self->pieces[self->i] != NULL; self->i++) {
    if (!self->bytewise) {
      AX_AWAIT(ax_write_all(&self->wr, self->s, self->pieces[self->i],
                            strlen(self->pieces[self->i])));
      IO_CHECK_RC(self->wr.result, 0);
      AX_AWAIT(ax_sleep(&self->nap, 1));
      continue;
    }
    for (self->off = 0; self->pieces[self->i][self->off] != '\0';
         self->off++) {
      AX_AWAIT(ax_write_all(&self->wr, self->s,
                            self->pieces[self->i] + self->off, 1));
      IO_CHECK_RC(self->wr.result, 0);
      if (self->off % 3 == 0) AX_AWAIT(ax_sleep(&self->nap, 1));
    }
  }
  AX_AWAIT(ax_shutdown(&self->sh, self->s));
  IO_CHECK_RC(self->sh.result, 0);
  AX_END();
}

static int spawn_scripter(ax_stream_t *s, const char *const *pieces,
                          int bytewise, ax_join_t *h) {
  scripter_t k;
  memset(&k, 0, sizeof k);
  k.s = s;
  k.pieces = pieces;
  k.bytewise = bytewise;
  return ax_spawn(AX_FUTURE(scripter_fn, &k), sizeof k, h);
}

static const char *const lines_pieces[] = {
    "hello\nwor", "ld\n",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\na\r\n", "\n", "one,two,", "tail", NULL};
static const char *const lines_expected[] = {
    "hello\n", "world\n",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
    "a\r\n", "\n", NULL};
static const char *const slow_pieces[] = {"line one\nline two\n",
                                          "no newline at the end", NULL};
static const char *const max_pieces[] = {"0123456789abcde\n",
                                         "0123456789abcdefXYZ\n", NULL};

typedef struct lines_main_s {
  ax_async_t co;
  pair_t pair;
  ax_stream_t *c, *s;
  ax_join_t h;
  ax_bufreader_t r;
  ax_read_until_t ru;
  ax_select_t sel;
  ax_yield_t y;
  ax_bytes_t out;
  int i, losses;
} lines_main_t;

static int bytes_is(const ax_bytes_t *b, const char *s) {
  return b->len == strlen(s) &&
         (b->len == 0 || memcmp(b->data, s, b->len) == 0);
}

/* Pins down the buffered reader: read_line returns each line with its
 * newline whatever the chunks it came in (split across them, several in
 * one, an empty line, \r kept), read_until stops at its own delimiter,
 * the last item without a delimiter comes at the end (then nread 0),
 * read_line dropped mid-line loses nothing, a line longer than the
 * reader's max is UV_ENOBUFS with nothing appended, a line of exactly max
 * bytes is not. */
AX_ASYNC(lines_main_fn, lines_main_t, self) {
  AX_BEGIN(self);
  /* a) lines across chunks */
  AWAIT_PAIR(&self->pair);
  self->c = self->pair.client;
  self->s = self->pair.server;
  IO_CHECK_RC(spawn_scripter(self->c, lines_pieces, 0, &self->h), 0);
  ax_bufreader_init(&self->r, self->s, 0);
  for (self->i = 0; lines_expected[self->i] != NULL; self->i++) {
    ax_bytes_consume(&self->out, self->out.len);
    AX_AWAIT(ax_read_line(&self->ru, &self->r, &self->out));
    IO_CHECK_RC(self->ru.result, 0);
    IO_CHECK_EQ(self->ru.nread, strlen(lines_expected[self->i]));
    if (!bytes_is(&self->out, lines_expected[self->i]))
      io_fail(__FILE__, __LINE__, "line %d: \"%.*s\"", self->i,
              (int)self->out.len, self->out.data);
  }
  ax_bytes_consume(&self->out, self->out.len);
  AX_AWAIT(ax_read_until(&self->ru, &self->r, ',', &self->out));
  IO_CHECK(bytes_is(&self->out, "one,"));
  ax_bytes_consume(&self->out, self->out.len);
  AX_AWAIT(ax_read_until(&self->ru, &self->r, ',', &self->out));
  IO_CHECK(bytes_is(&self->out, "two,"));
  ax_bytes_consume(&self->out, self->out.len);
  AX_AWAIT(ax_read_line(&self->ru, &self->r, &self->out));
  IO_CHECK_RC(self->ru.result, 0);
  IO_CHECK_EQ(self->ru.nread, 4);
  IO_CHECK(bytes_is(&self->out, "tail"));
  AX_AWAIT(ax_read_line(&self->ru, &self->r, &self->out));
  IO_CHECK_RC(self->ru.result, 0);
  IO_CHECK_EQ(self->ru.nread, 0);
  IO_CHECK(bytes_is(&self->out, "tail"));   /* nothing appended */
  ax_bufreader_free(&self->r);
  AX_AWAIT(ax_join_wait(&self->h));
  ax_join_drop(&self->h);
  close_both(&self->c, &self->s);

  /* b) a byte at a time, every read_line raced against a yield */
  AWAIT_PAIR(&self->pair);
  self->c = self->pair.client;
  self->s = self->pair.server;
  IO_CHECK_RC(spawn_scripter(self->c, slow_pieces, 1, &self->h), 0);
  ax_bufreader_init(&self->r, self->s, 0);
  ax_bytes_consume(&self->out, self->out.len);
  for (self->i = 0; self->i < 3;) {
    AX_AWAIT(ax_select(&self->sel,
                       ax_read_line(&self->ru, &self->r, &self->out),
                       ax_yield_now(&self->y)));
    if (self->sel.winner != 0) {
      self->losses++;
      continue;
    }
    IO_CHECK_RC(self->ru.result, 0);
    if (self->i == 0) IO_CHECK(bytes_is(&self->out, "line one\n"));
    if (self->i == 1) IO_CHECK(bytes_is(&self->out, "line two\n"));
    if (self->i == 2) IO_CHECK(bytes_is(&self->out, "no newline at the end"));
    ax_bytes_consume(&self->out, self->out.len);
    self->i++;
  }
  IO_CHECK(self->losses > 0);
  ax_bufreader_free(&self->r);
  AX_AWAIT(ax_join_wait(&self->h));
  ax_join_drop(&self->h);
  close_both(&self->c, &self->s);

  /* c) the reader's max (16) */
  AWAIT_PAIR(&self->pair);
  self->c = self->pair.client;
  self->s = self->pair.server;
  IO_CHECK_RC(spawn_scripter(self->c, max_pieces, 0, &self->h), 0);
  ax_bufreader_init(&self->r, self->s, 16);
  ax_bytes_consume(&self->out, self->out.len);
  AX_AWAIT(ax_read_line(&self->ru, &self->r, &self->out));
  IO_CHECK_RC(self->ru.result, 0);
  IO_CHECK(bytes_is(&self->out, "0123456789abcde\n"));   /* 16: fits */
  ax_bytes_consume(&self->out, self->out.len);
  AX_AWAIT(ax_read_line(&self->ru, &self->r, &self->out));
  IO_CHECK_RC(self->ru.result, UV_ENOBUFS);
  IO_CHECK_EQ(self->out.len, 0);
  AX_AWAIT(ax_read_line(&self->ru, &self->r, &self->out));
  IO_CHECK_RC(self->ru.result, UV_ENOBUFS);              /* still too long */
  IO_CHECK_EQ(self->out.len, 0);
  ax_bufreader_free(&self->r);
  AX_AWAIT(ax_join_wait(&self->h));
  ax_join_drop(&self->h);
  AX_END();
}

AX_ASYNC_DROP(lines_main_drop, lines_main_t, self) {
  ax_join_drop(&self->h);
  close_both(&self->c, &self->s);
  ax_bufreader_free(&self->r);
  ax_bytes_free(&self->out);
}

START_TEST(bufreader_lines) {
  lines_main_t m = {0};
  io_run(_i, AX_FUTURE_DROP(lines_main_fn, lines_main_drop, &m));
}
END_TEST

/* ==== 8. accept, bind and connect dropped =============================== */

/* Connects, sends its id (one byte), waits for one byte back, closes. */
typedef struct knocker_s {
  ax_async_t co;
  uint16_t port;
  unsigned char id;
  ax_tcp_connect_t conn;
  ax_stream_t *s;
  ax_write_t wr;
  ax_read_t rd;
  char b;
} knocker_t;

AX_ASYNC(knocker_fn, knocker_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_tcp_connect(&self->conn, "127.0.0.1", self->port, NULL));
  IO_CHECK_RC(self->conn.result, 0);
  if (self->conn.result != 0) AX_RETURN();
  self->s = self->conn.stream;
  AX_AWAIT(ax_write_all(&self->wr, self->s, &self->id, 1));
  IO_CHECK_RC(self->wr.result, 0);
  AX_AWAIT(ax_read_exact(&self->rd, self->s, &self->b, 1));
  IO_CHECK_RC(self->rd.result, 0);
  IO_CHECK_EQ((unsigned char)self->b, self->id);
  AX_END();
}

AX_ASYNC_DROP(knocker_drop, knocker_t, self) {
  close_stream(&self->s);
}

#define KNOCKERS 24

typedef struct accept_main_s {
  ax_async_t co;
  ax_tcp_bind_t bind;
  ax_tcp_listener_t *l;
  ax_tcp_accept_t acc;
  ax_select_t sel;
  ax_sleep_t nap;
  ax_yield_t y;
  ax_stream_t *s;
  ax_read_t rd;
  ax_write_t wr;
  ax_join_t h[KNOCKERS];
  int i, accepted, losses, multi;
  unsigned char id;
  unsigned char seen[KNOCKERS];
} accept_main_t;

/* Pins down "a dropped accept leaks no socket (a connection accepted for
 * it stays queued for the next accept)": accepts that lose a race against
 * a sleep or a yield, before and while connections arrive, never lose or
 * duplicate one; each is accepted once and talks to its own client. */
AX_ASYNC(accept_main_fn, accept_main_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_tcp_bind(&self->bind, "127.0.0.1", 0, NULL));
  IO_CHECK_RC(self->bind.result, 0);
  if (self->bind.result != 0) AX_RETURN();
  self->l = self->bind.listener;
  /* Nobody connects yet: the sleep wins, the accept is dropped waiting. */
  for (self->i = 0; self->i < 3; self->i++) {
    AX_AWAIT(ax_select(&self->sel, ax_tcp_accept(&self->acc, self->l),
                       ax_sleep(&self->nap, 1)));
    IO_CHECK_EQ(self->sel.winner, 1);
  }
  for (self->i = 0; self->i < KNOCKERS; self->i++) {
    knocker_t k;
    memset(&k, 0, sizeof k);
    k.port = listener_port(self->l);
    k.id = (unsigned char)self->i;
    IO_CHECK_RC(ax_spawn(AX_FUTURE_DROP(knocker_fn, knocker_drop, &k),
                         sizeof k, &self->h[self->i]), 0);
  }
  for (self->i = 0; self->accepted < KNOCKERS; self->i++) {
    if (self->i % 2 == 0)
      AX_AWAIT(ax_select(&self->sel, ax_tcp_accept(&self->acc, self->l),
                         ax_yield_now(&self->y)));
    else
      AX_AWAIT(ax_select(&self->sel, ax_tcp_accept(&self->acc, self->l),
                         ax_sleep(&self->nap, (uint64_t)(self->i % 4 == 1))));
    if (self->sel.winner != 0) {
      self->losses++;
      continue;
    }
    IO_CHECK_RC(self->acc.result, 0);
    if (self->acc.result != 0) break;
    self->accepted++;
    self->s = self->acc.stream;
    AX_AWAIT(ax_read_exact(&self->rd, self->s, &self->id, 1));
    IO_CHECK_RC(self->rd.result, 0);
    if (self->id >= KNOCKERS || self->seen[self->id])
      io_fail(__FILE__, __LINE__, "connection %u twice", self->id);
    else
      self->seen[self->id] = 1;
    AX_AWAIT(ax_write_all(&self->wr, self->s, &self->id, 1));
    close_stream(&self->s);
  }
  IO_CHECK_EQ(self->accepted, KNOCKERS);
  /* Current-thread: the first accept waits (the knockers have not run
   * yet) and its yield wins; elsewhere losses are likely, not certain. */
  if (!self->multi) IO_CHECK(self->losses > 0);
  for (self->i = 0; self->i < KNOCKERS; self->i++) {
    AX_AWAIT(ax_join_wait(&self->h[self->i]));
    IO_CHECK_RC(self->h[self->i].result, 0);
    ax_join_drop(&self->h[self->i]);
  }
  AX_END();
}

AX_ASYNC_DROP(accept_main_drop, accept_main_t, self) {
  int i;
  for (i = 0; i < KNOCKERS; i++) ax_join_drop(&self->h[i]);
  close_stream(&self->s);
  ax_tcp_listener_close(self->l);
  self->l = NULL;
}

START_TEST(accept_dropped) {
  accept_main_t m = {0};
  m.multi = _i;
  io_run(_i, AX_FUTURE_DROP(accept_main_fn, accept_main_drop, &m));
}
END_TEST

/* A blocking job that holds its pool thread until the gate opens. */
typedef struct gate_s {
  _Atomic int open;
  _Atomic int started;
} gate_t;

static void *gate_job(void *arg) {
  gate_t *g = arg;
  atomic_fetch_add(&g->started, 1);
  while (!atomic_load(&g->open)) uv_sleep(1);
  return NULL;
}

/* libuv's pool: what UV_THREADPOOL_SIZE says, else 4 (blocking.h). */
static int pool_size(void) {
  const char *s = getenv("UV_THREADPOOL_SIZE");
  int n = s != NULL ? atoi(s) : 0;
  return n > 0 ? (n > 1024 ? 1024 : n) : 4;
}

#define MAX_POOL 64

typedef struct drops_main_s {
  ax_async_t co;
  ax_tcp_bind_t bind, b2;
  ax_tcp_listener_t *l;
  ax_tcp_connect_t conn;
  ax_select_t sel;
  after_t after;
  ax_sleep_t nap;
  uint16_t port;
  int k, won, pool;
  gate_t gate;
  ax_join_t jobs[MAX_POOL];
} drops_main_t;

/* Pins down "a dropped connect or bind closes what it had opened": bind
 * and connect futures dropped never polled, and after each of 0..40 polls
 * (so at every point they can wait: handed to the home, binding the other
 * workers' sockets, connecting), and in the middle of resolving a name
 * (libuv's pool held by blocking jobs, so the lookup cannot have ended),
 * leak nothing (ASan, valgrind) and leave the runtime sound: a bind and a
 * connect by name afterwards work. */
AX_ASYNC(drops_main_fn, drops_main_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_tcp_bind(&self->bind, "127.0.0.1", 0, NULL));
  IO_CHECK_RC(self->bind.result, 0);
  if (self->bind.result != 0) AX_RETURN();
  self->l = self->bind.listener;
  self->port = listener_port(self->l);
  ax_drop(ax_tcp_connect(&self->conn, "127.0.0.1", self->port, NULL));
  ax_drop(ax_tcp_bind(&self->b2, "127.0.0.1", 0, NULL));
  for (self->k = 0; self->k <= 40; self->k++) {
    AX_AWAIT(ax_select_biased(&self->sel,
                              ax_tcp_connect(&self->conn, "127.0.0.1",
                                             self->port, NULL),
                              after(&self->after, self->k)));
    if (self->sel.winner == 0) {
      self->won++;
      IO_CHECK_RC(self->conn.result, 0);
      ax_stream_close(self->conn.stream);
    }
    AX_AWAIT(ax_select_biased(&self->sel,
                              ax_tcp_bind(&self->b2, "127.0.0.1", 0, NULL),
                              after(&self->after, self->k)));
    if (self->sel.winner == 0) {
      IO_CHECK_RC(self->b2.result, 0);
      ax_tcp_listener_close(self->b2.listener);
    }
  }
  /* Mid-DNS: every pool thread held, then a lookup queued behind them. */
  self->pool = pool_size();
  if (self->pool > MAX_POOL) self->pool = MAX_POOL;
  for (self->k = 0; self->k < self->pool; self->k++)
    IO_CHECK_RC(ax_spawn_blocking(gate_job, &self->gate, &self->jobs[self->k]),
                0);
  while (atomic_load(&self->gate.started) < self->pool)
    AX_AWAIT(ax_sleep(&self->nap, 1));
  for (self->k = 0; self->k < 4; self->k++) {
    AX_AWAIT(ax_select_biased(&self->sel,
                              ax_tcp_connect(&self->conn, "localhost",
                                             self->port, NULL),
                              after(&self->after, self->k)));
    IO_CHECK_EQ(self->sel.winner, 1);   /* the lookup cannot have ended */
    AX_AWAIT(ax_select_biased(&self->sel,
                              ax_tcp_bind(&self->b2, "localhost", 0, NULL),
                              after(&self->after, self->k)));
    IO_CHECK_EQ(self->sel.winner, 1);
  }
  atomic_store(&self->gate.open, 1);
  for (self->k = 0; self->k < self->pool; self->k++) {
    AX_AWAIT(ax_join_wait(&self->jobs[self->k]));
    ax_join_drop(&self->jobs[self->k]);
  }
  /* Sound afterwards. */
  AX_AWAIT(ax_tcp_connect(&self->conn, "localhost", self->port, NULL));
  IO_CHECK_RC(self->conn.result, 0);
  ax_stream_close(self->conn.stream);
  AX_AWAIT(ax_tcp_bind(&self->b2, "localhost", 0, NULL));
  IO_CHECK_RC(self->b2.result, 0);
  ax_tcp_listener_close(self->b2.listener);
  AX_END();
}

AX_ASYNC_DROP(drops_main_drop, drops_main_t, self) {
  int k;
  atomic_store(&self->gate.open, 1);
  for (k = 0; k < MAX_POOL; k++) ax_join_drop(&self->jobs[k]);
  ax_tcp_listener_close(self->l);
  self->l = NULL;
}

START_TEST(bind_connect_dropped) {
  drops_main_t m = {0};
  io_run(_i, AX_FUTURE_DROP(drops_main_fn, drops_main_drop, &m));
}
END_TEST

/* ==== 9. runtime shutdown with I/O open ================================= */

/* Writes stream seed to s forever (until an error). */
typedef struct flooder_s {
  ax_async_t co;
  ax_stream_t *s;              /* ours */
  _Atomic long long *sent;
  ax_write_t wr;
  char *buf;
} flooder_t;

AX_ASYNC(flooder_fn, flooder_t, self) {
  AX_BEGIN(self);
  self->buf = malloc(1 * MiB);
  pat_fill(self->buf, 99, 0, 1 * MiB);
  for (;;) {
    AX_AWAIT(ax_write_all(&self->wr, self->s, self->buf, 1 * MiB));
    if (self->wr.result != 0) break;
    atomic_fetch_add(self->sent, (long long)MiB);
  }
  AX_END();
}

AX_ASYNC_DROP(flooder_drop, flooder_t, self) {
  close_stream(&self->s);
  free(self->buf);
  self->buf = NULL;
}

/* Waits in a read forever (nobody writes). */
typedef struct waiter_s {
  ax_async_t co;
  ax_stream_t *s;              /* ours */
  _Atomic int *started;
  ax_read_t rd;
  char buf[100];
} waiter_t;

AX_ASYNC(waiter_fn, waiter_t, self) {
  AX_BEGIN(self);
  atomic_store(self->started, 1);
  AX_AWAIT(ax_read(&self->rd, self->s, self->buf, sizeof self->buf));
  AX_END();
}

AX_ASYNC_DROP(waiter_drop, waiter_t, self) {
  close_stream(&self->s);
}

#define ECHOERS 4

typedef struct shut_main_s {
  ax_async_t co;
  server_t sv;
  server_up_t up;
  pair_t pair;
  ax_tcp_bind_t bind;
  ax_tcp_connect_t conn;
  ax_sleep_t nap;
  ax_join_t h;
  _Atomic long long sent;
  _Atomic int started;
  int i;
  /* Held outside any task: closed by the test after ax_runtime_free. */
  ax_tcp_listener_t *held_listener;
  ax_stream_t *held_stream, *held_peer, *held_unread;
  ax_stream_t *flood_stream;   /* the writer task's: only looked at */
  home_call_t call;
  bufsize_t bs;
} shut_main_t;

/* Sets up a runtime full of I/O: an echo server (listener open, accept in
 * flight) with clients streaming through it, a writer stuck on a peer that
 * never reads (its write in flight with a copy), a reader waiting on a
 * peer that never writes, and, held outside any task, a listener with a
 * connection nobody accepted and two connected streams. */
AX_ASYNC(shut_main_fn, shut_main_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(server_up(&self->up, &self->sv, "127.0.0.1", NULL));
  IO_CHECK_RC(self->up.result, 0);
  if (self->up.result != 0) AX_RETURN();
  for (self->i = 0; self->i < ECHOERS; self->i++) {
    client_t c;
    client(&c, "127.0.0.1", self->sv.port, (uint32_t)(200 + self->i),
           16 * MiB);
    IO_CHECK_RC(ax_spawn(AX_FUTURE_DROP(client_fn, client_drop, &c), sizeof c,
                         NULL), 0);
  }
  /* A writer whose peer (held) never reads. */
  AWAIT_PAIR(&self->pair);
  self->held_peer = self->pair.server;
  self->flood_stream = self->pair.client;
  self->bs.size = 64 * KiB;   /* its write waits in libuv sooner */
  self->bs.s = self->held_peer;
  RUN_ON_HOME(self, &self->call, self->held_peer, set_bufsize, &self->bs);
  self->bs.s = self->flood_stream;
  RUN_ON_HOME(self, &self->call, self->flood_stream, set_bufsize, &self->bs);
  {
    flooder_t f;
    memset(&f, 0, sizeof f);
    f.s = self->pair.client;
    f.sent = &self->sent;
    IO_CHECK_RC(ax_spawn(AX_FUTURE_DROP(flooder_fn, flooder_drop, &f),
                         sizeof f, NULL), 0);
  }
  /* A reader whose peer (held) never writes. */
  AWAIT_PAIR(&self->pair);
  self->held_stream = self->pair.client;
  {
    waiter_t w;
    memset(&w, 0, sizeof w);
    w.s = self->pair.server;
    w.started = &self->started;
    IO_CHECK_RC(ax_spawn(AX_FUTURE_DROP(waiter_fn, waiter_drop, &w),
                         sizeof w, NULL), 0);
  }
  /* A listener (held) with a connection nobody accepts (held). */
  AX_AWAIT(ax_tcp_bind(&self->bind, "127.0.0.1", 0, NULL));
  IO_CHECK_RC(self->bind.result, 0);
  self->held_listener = self->bind.listener;
  AX_AWAIT(ax_tcp_connect(&self->conn, "127.0.0.1",
                          listener_port(self->held_listener), NULL));
  IO_CHECK_RC(self->conn.result, 0);
  self->held_unread = self->conn.stream;
  /* Everything is under way: bytes echo, the reader waits, the writer's
   * write waits in libuv with its copy. */
  while (atomic_load(&self->sv.st.echoed) < 1 * MiB ||
         atomic_load(&self->started) == 0 ||
         snap(self->flood_stream).wstate != AX__UVS_W_BUSY)
    AX_AWAIT(ax_sleep(&self->nap, 1));
  AX_END();
}

/* Pins down the shutdown promises for I/O: ax_runtime_free with all that
 * open returns (no hang: every handle is closed, every request ends), frees
 * everything (valgrind, ASan), and what the user held outside any task was
 * closed by the loop's close, so that their later ax_stream_close and
 * ax_tcp_listener_close only free it. */
START_TEST(runtime_free_with_io_open) {
  shut_main_t m = {0};
  io_run(_i, AX_FUTURE(shut_main_fn, &m));
  ax_stream_close(m.held_stream);
  ax_stream_close(m.held_peer);
  ax_stream_close(m.held_unread);
  ax_tcp_listener_close(m.held_listener);
  /* The echo server's listener: its accept loop was cancelled by the
   * shutdown, the listener itself held here. */
  ax_tcp_listener_close(m.sv.l);
  ax_join_drop(&m.sv.acceptor);
}
END_TEST

/* ==== 10. backpressure ================================================== */

typedef struct bp_main_s {
  ax_async_t co;
  uint64_t total;
  pair_t pair;
  ax_stream_t *c, *s;
  home_call_t call;
  bufsize_t bs;
  ax_sleep_t nap;
  ax_read_t rd;
  ax_write_t wr;
  ax_join_all_t both;
  ax_join_t h;
  _Atomic long long sent;
  snap_t sn;
  int i, small;
  uint64_t got;
  char buf[64 * 1024];
} bp_main_t;

/* Writes `total` bytes of stream seed in 1 MiB pieces, counting them. */
typedef struct bulk_s {
  ax_async_t co;
  ax_stream_t *s;              /* borrowed */
  uint64_t total, off;
  _Atomic long long *sent;
  ax_write_t wr;
  ax_shutdown_t sh;
  char *buf;
  size_t n;
} bulk_t;

AX_ASYNC(bulk_fn, bulk_t, self) {
  AX_BEGIN(self);
  self->buf = malloc(1 * MiB);
  for (self->off = 0; self->off < self->total; self->off += self->n) {
    self->n = self->total - self->off < MiB ? (size_t)(self->total - self->off)
                                            : MiB;
    pat_fill(self->buf, 111, self->off, self->n);
    AX_AWAIT(ax_write_all(&self->wr, self->s, self->buf, self->n));
    IO_CHECK_RC(self->wr.result, 0);
    if (self->wr.result != 0) AX_RETURN();
    atomic_fetch_add(self->sent, (long long)self->n);
  }
  AX_AWAIT(ax_shutdown(&self->sh, self->s));
  AX_END();
}

AX_ASYNC_DROP(bulk_drop, bulk_t, self) {
  free(self->buf);
  self->buf = NULL;
}

/* Pins down io.h's backpressure: a stream nobody reads buffers at most
 * AX_STREAM_BUFFER bytes and then stops reading (so its memory stays
 * bounded whatever the peer sends), the peer's writes then stall instead
 * of completing, and once the reader reads, everything comes through, in
 * order. */
AX_ASYNC(bp_main_fn, bp_main_t, self) {
  AX_BEGIN(self);
  AWAIT_PAIR(&self->pair);
  self->c = self->pair.client;
  self->s = self->pair.server;
  self->bs.size = 64 * KiB;
  self->bs.s = self->c;
  RUN_ON_HOME(self, &self->call, self->c, set_bufsize, &self->bs);
  self->small = self->bs.rc == 0;
  self->bs.s = self->s;
  RUN_ON_HOME(self, &self->call, self->s, set_bufsize, &self->bs);
  self->small = self->small && self->bs.rc == 0;
  /* One read turns the stream's reading on; then nobody reads. */
  AX_AWAIT(ax_join_all(&self->both,
                       ax_read(&self->rd, self->s, self->buf, 1),
                       ax_write_all(&self->wr, self->c, "!", 1)));
  IO_CHECK_RC(self->rd.result, 0);
  IO_CHECK_EQ(self->rd.nread, 1);
  {
    bulk_t b;
    memset(&b, 0, sizeof b);
    b.s = self->c;
    b.total = self->total;
    b.sent = &self->sent;
    IO_CHECK_RC(ax_spawn(AX_FUTURE_DROP(bulk_fn, bulk_drop, &b), sizeof b,
                         &self->h), 0);
  }
  /* The stash fills to its bound and the reading stops. */
  for (;;) {
    self->sn = snap(self->s);
    IO_CHECK(self->sn.stash_cap <= AX_STREAM_BUFFER);
    if (!self->sn.reading) break;
    AX_AWAIT(ax_sleep(&self->nap, 1));
  }
  IO_CHECK_EQ(self->sn.stash_len, AX_STREAM_BUFFER);
  IO_CHECK_EQ(self->sn.stash_cap, AX_STREAM_BUFFER);
  IO_CHECK(self->sn.st.full_stops >= 1);
  IO_CHECK_RC(self->sn.rerr, 0);
  if (self->small) {
    /* With small kernel buffers the writer is now stuck: its write waits
     * in libuv, and stays there while nobody reads. */
    while (snap(self->c).wstate != AX__UVS_W_BUSY)
      AX_AWAIT(ax_sleep(&self->nap, 1));
    for (self->i = 0; self->i < 20; self->i++) {
      AX_AWAIT(ax_sleep(&self->nap, 1));
      self->sn = snap(self->s);
      IO_CHECK(!self->sn.reading);
      IO_CHECK_EQ(self->sn.stash_len, AX_STREAM_BUFFER);
    }
    /* Kernel buffers of a few hundred KiB and 64 KiB of stash: the
     * writer cannot be near its end. */
    IO_CHECK(atomic_load(&self->sent) + (long long)MiB <
             (long long)self->total);
    IO_CHECK(!ax_join_is_finished(&self->h));
    /* The stuck write holds a copy of what the kernel did not take: no
     * more than the writer's own 1 MiB piece (io.h). */
    self->sn = snap(self->c);
    IO_CHECK(self->sn.st.copies >= 1);
    IO_CHECK(self->sn.st.copy_max <= MiB);
  }
  /* Now read: everything comes, in order, and the writer finishes. */
  for (;;) {
    AX_AWAIT(ax_read(&self->rd, self->s, self->buf, sizeof self->buf));
    if (self->rd.result != 0 || self->rd.nread == 0) break;
    if (pat_check(self->buf, 111, self->got, self->rd.nread) != -1) {
      io_fail(__FILE__, __LINE__, "wrong byte after %llu",
              (unsigned long long)self->got);
      break;
    }
    self->got += self->rd.nread;
    IO_CHECK(snap(self->s).stash_cap <= AX_STREAM_BUFFER);
  }
  IO_CHECK_RC(self->rd.result, 0);
  IO_CHECK_EQ(self->got, self->total);
  AX_AWAIT(ax_join_wait(&self->h));
  IO_CHECK_RC(self->h.result, 0);
  IO_CHECK_EQ(atomic_load(&self->sent), (long long)self->total);
  IO_CHECK(snap(self->c).st.copy_max <= MiB);
  AX_END();
}

AX_ASYNC_DROP(bp_main_drop, bp_main_t, self) {
  ax_join_drop(&self->h);
  close_both(&self->c, &self->s);
}

START_TEST(backpressure) {
  bp_main_t *m = calloc(1, sizeof *m);
  ck_assert_ptr_nonnull(m);
  m->total = ax_test_iters(16 * MiB);
  if (m->total < 2 * MiB) m->total = 2 * MiB;
  io_run(_i, AX_FUTURE_DROP(bp_main_fn, bp_main_drop, m));
  free(m);
}
END_TEST

/* ==== the suite ========================================================= */

/* Each loop test runs on the current-thread runtime (_i = 0) and the
 * multi-thread one with 2 workers (_i = 1); read_cancel_stream has a
 * third mode (see cancel_main_t). */
Suite *ax_io_suite(void) {
  return AX_SUITE("io",
                  AX_CASE("basics", 0),
                  AX_ONCE(bytes_buffer),
                  AX_ONCE(address_format),
                  AX_ONCE(misuse_without_runtime),
                  AX_CASE("tcp", 60),
                  AX_FLAVOURS(echo_roundtrip),
                  AX_FLAVOURS(echo_roundtrip_ipv6),
                  AX_FLAVOURS(bind_any_address),
                  AX_FLAVOURS(partial_reads_writes),
                  AX_FLAVOURS(peer_resets_mid_stream),
                  AX_FLAVOURS(connect_and_bind_errors),
                  AX_FLAVOURS(many_connections),
                  AX_CASE("cancel", 60),
                  AX_FLAVOURS(read_paths),
                  AX_LOOP(read_cancel_stream, 0, 3),
                  AX_FLAVOURS(write_cancel),
                  AX_FLAVOURS(accept_dropped),
                  AX_FLAVOURS(bind_connect_dropped),
                  AX_CASE("helpers", 60),
                  AX_FLAVOURS(read_to_end_and_shutdown),
                  AX_FLAVOURS(copy_between_connections),
                  AX_FLAVOURS(split_halves),
                  AX_FLAVOURS(bufreader_lines),
                  AX_CASE("life", 60),
                  AX_FLAVOURS(runtime_free_with_io_open),
                  AX_FLAVOURS(backpressure));
}
