/* How far a stuck worker reaches into I/O (the I/O issue's question).
 *
 * An echo server and CONNS clients on one multi-thread runtime (2 workers
 * by default), over loopback.  Each client does a round trip every 5 ms.
 * Midway, one task blocks its worker for BLOCK_MS (uv_sleep: a blocking
 * call in async code, the mistake this measures).  For each connection
 * it prints whether its server side or its client side lives on the
 * blocked worker, and the longest time between two of its completed
 * round trips across the block.  The claim (docs/internals.md, "A stuck
 * worker"): a connection stalls for the block exactly when one of its
 * sides lives on the blocked worker; the others keep their pace.
 *
 * Which worker a side lives on is read from the stream's internal record
 * (io/uvstream.h): a benchmark of the runtime may look inside it.
 *
 *   axle-io-stuck [--threads N] [--conns C] [--block MS]
 * One JSON line per connection, then a summary line.  Timing, not a test.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <axle.h>
#include <axle/leaf.h>

#include "io/uvstream.h"   /* where a TCP stream lives */

#define MAX_CONNS 64
#define ROUNDS 200
#define GAP_MS 5

static ax_home_t *server_home[MAX_CONNS], *client_home[MAX_CONNS];
static _Atomic(ax_home_t *) blocked_home;
static _Atomic uint64_t block_start_ns, block_end_ns;

typedef struct {
  ax_async_t co;
  ax_stream_t *s;
  int id;
  ax_read_t rd;
  ax_write_t wr;
  char buf[64];
} echo_t;

AX_ASYNC(echo, echo_t, self) {
  AX_BEGIN(self);
  for (;;) {
    AX_AWAIT(ax_read(&self->rd, self->s, self->buf, sizeof self->buf));
    if (self->rd.nread == 0) break;
    AX_AWAIT(ax_write_all(&self->wr, self->s, self->buf, self->rd.nread));
  }
  AX_END();
}
AX_ASYNC_DROP(echo_drop, echo_t, self) { ax_stream_close(self->s); }

typedef struct {
  ax_async_t co;
  ax_stream_t *s;
  int id;
  ax_read_t rd;
  ax_write_t wr;
  ax_sleep_t gap;
  char msg[8];
  int rounds;
  ax_instant_t last;            /* when the previous round trip completed */
  uint64_t worst_gap_before;    /* longest gap before the block */
  uint64_t worst_gap_across;    /* longest gap overlapping the block */
} client_t;

AX_ASYNC(client, client_t, self) {
  AX_BEGIN(self);
  self->last = ax_instant_now();
  for (self->rounds = 0; self->rounds < ROUNDS; self->rounds++) {
    AX_AWAIT(ax_sleep(&self->gap, GAP_MS));
    snprintf(self->msg, sizeof self->msg, "%d", self->id);
    AX_AWAIT(ax_write_all(&self->wr, self->s, self->msg, sizeof self->msg));
    AX_AWAIT(ax_read_exact(&self->rd, self->s, self->msg, sizeof self->msg));
    {
      ax_instant_t now = ax_instant_now();
      uint64_t gap = now - self->last;
      uint64_t bs = atomic_load(&block_start_ns);
      uint64_t be = atomic_load(&block_end_ns);
      if (bs != 0 && now > bs && (be == 0 || self->last < be)) {
        if (gap > self->worst_gap_across) self->worst_gap_across = gap;
      } else if (bs == 0 && self->rounds > 0) {
        if (gap > self->worst_gap_before) self->worst_gap_before = gap;
      }
      self->last = now;
    }
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  unsigned ms;
} blocker_t;

AX_ASYNC(blocker, blocker_t, self) {
  AX_BEGIN(self);
  atomic_store(&blocked_home, ax_home_current());
  atomic_store(&block_start_ns, ax_instant_now());
  uv_sleep(self->ms);                 /* the blocking call in async code */
  atomic_store(&block_end_ns, ax_instant_now());
  AX_END();
}

static ax_home_t *home_of(ax_stream_t *s) {
  return (ax_home_t *)(void *)((ax__uvs_t *)(void *)s)->home;
}

typedef struct {
  ax_async_t co;
  int conns;
  unsigned block_ms;
  ax_tcp_bind_t bind;
  ax_tcp_connect_t conn;
  ax_tcp_accept_t acc;
  ax_sleep_t wait;
  ax_join_t clients[MAX_CONNS];
  ax_stream_t *cs[MAX_CONNS];
  client_t results[MAX_CONNS];
  int k;
  uint16_t port;
} main_t;

AX_ASYNC(main_fn, main_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_tcp_bind(&self->bind, "127.0.0.1", 0, NULL));
  {
    struct sockaddr_storage a;
    ax_tcp_listener_addr(self->bind.listener, &a);
    self->port = ax_addr_port((struct sockaddr *)&a);
  }
  for (self->k = 0; self->k < self->conns; self->k++) {
    AX_AWAIT(ax_tcp_connect(&self->conn, "127.0.0.1", self->port, NULL));
    self->cs[self->k] = self->conn.stream;
    client_home[self->k] = home_of(self->conn.stream);
    AX_AWAIT(ax_tcp_accept(&self->acc, self->bind.listener));
    server_home[self->k] = home_of(self->acc.stream);
    {
      echo_t e = AX_ZERO(echo_t);
      e.s = self->acc.stream;
      e.id = self->k;
      ax_spawn(AX_FUTURE_DROP(echo, echo_drop, &e), sizeof e, NULL);
    }
  }
  for (self->k = 0; self->k < self->conns; self->k++) {
    client_t c = AX_ZERO(client_t);
    c.s = self->cs[self->k];
    c.id = self->k;
    ax_spawn(AX_FUTURE(client, &c), sizeof c, &self->clients[self->k]);
  }
  AX_AWAIT(ax_sleep(&self->wait, ROUNDS * GAP_MS / 3));
  {
    blocker_t b = AX_ZERO(blocker_t);
    b.ms = self->block_ms;
    ax_spawn(AX_FUTURE(blocker, &b), sizeof b, NULL);
  }
  for (self->k = 0; self->k < self->conns; self->k++) {
    AX_AWAIT(ax_join_wait(&self->clients[self->k]));
    self->results[self->k] = *AX_JOIN_OUTPUT(&self->clients[self->k], client_t);
    ax_join_drop(&self->clients[self->k]);
    ax_stream_close(self->cs[self->k]);
  }
  ax_tcp_listener_close(self->bind.listener);
  AX_END();
}

int main(int argc, char **argv) {
  static main_t m;
  ax_builder_t b;
  int i;
  int stalled_homed = 0, stalled_elsewhere = 0, homed = 0, elsewhere = 0;
  uint64_t worst_elsewhere = 0;
  ax_home_t *bh;
  ax_builder_init(&b, AX_MULTI_THREAD);
  b.worker_threads = 2;
  m.conns = 8;
  m.block_ms = 200;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      b.worker_threads = (unsigned)atoi(argv[++i]);
    else if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc)
      m.conns = atoi(argv[++i]);
    else if (strcmp(argv[i], "--block") == 0 && i + 1 < argc)
      m.block_ms = (unsigned)atoi(argv[++i]);
  }
  if (m.conns < 1) m.conns = 1;
  if (m.conns > MAX_CONNS) m.conns = MAX_CONNS;
  if (ax_main_with(&b, AX_FUTURE(main_fn, &m)) != 0) return 1;
  bh = atomic_load(&blocked_home);
  for (i = 0; i < m.conns; i++) {
    client_t *c = &m.results[i];
    int srv = server_home[i] == bh, cli = client_home[i] == bh;
    /* Stalled: a gap of at least half the block between round trips. */
    int stalled = c->worst_gap_across >= (uint64_t)m.block_ms * 500000u;
    printf("{\"conn\":%d,\"server_on_blocked\":%s,\"client_on_blocked\":%s,"
           "\"worst_gap_before_ms\":%.2f,\"worst_gap_across_ms\":%.2f,"
           "\"stalled\":%s}\n",
           i, srv ? "true" : "false", cli ? "true" : "false",
           c->worst_gap_before / 1e6, c->worst_gap_across / 1e6,
           stalled ? "true" : "false");
    if (srv || cli) {
      homed++;
      stalled_homed += stalled;
    } else {
      elsewhere++;
      stalled_elsewhere += stalled;
      if (c->worst_gap_across > worst_elsewhere)
        worst_elsewhere = c->worst_gap_across;
    }
  }
  printf("{\"workload\":\"io_stuck\",\"threads\":%u,\"conns\":%d,\"block_ms\":%u,"
         "\"on_blocked\":%d,\"on_blocked_stalled\":%d,"
         "\"elsewhere\":%d,\"elsewhere_stalled\":%d,"
         "\"elsewhere_worst_gap_ms\":%.2f}\n",
         b.worker_threads, m.conns, m.block_ms, homed, stalled_homed,
         elsewhere, stalled_elsewhere, worst_elsewhere / 1e6);
  return 0;
}
