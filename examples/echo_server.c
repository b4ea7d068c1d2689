/* An echo server: one task per connection.
 *
 *   let listener = TcpListener::bind("127.0.0.1:8080").await?;
 *   tokio::spawn(async move {
 *       loop {
 *           let (mut socket, _) = listener.accept().await?;
 *           socket.set_nodelay(true)?;
 *           tokio::spawn(async move {
 *               let mut buf = [0; 4096];
 *               loop {
 *                   let n = socket.read(&mut buf).await?;
 *                   if n == 0 { return; }
 *                   socket.write_all(&buf[..n]).await?;
 *               }
 *           });
 *       }
 *   });
 *
 * usage: echo_server [--port P] [--threads N | --current]
 * It behaves as the anchors' tcp_echo servers (shared/anchors/README.md),
 * so the same load generator drives it; bench/compare.sh does.
 */
#include <axle.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {               /* one connection */
  ax_async_t co;
  ax_stream_t *socket;         /* ours: closed by the drop handler */
  ax_read_t rd;
  ax_write_t wr;
  char buf[4096];
} conn_t;

AX_ASYNC(conn, conn_t, self) {
  AX_BEGIN(self);
  for (;;) {
    AX_AWAIT(ax_read(&self->rd, self->socket, self->buf, sizeof self->buf));
    if (self->rd.result != 0 || self->rd.nread == 0) break;  /* error, EOF */
    AX_AWAIT(ax_write_all(&self->wr, self->socket, self->buf, self->rd.nread));
    if (self->wr.result != 0) break;
  }
  AX_END();
}

AX_ASYNC_DROP(conn_drop, conn_t, self) { ax_stream_close(self->socket); }

typedef struct {               /* the accept loop */
  ax_async_t co;
  uint16_t port;
  ax_tcp_bind_t bind;
  ax_tcp_listener_t *listener;
  ax_tcp_accept_t accept;
} server_t;

AX_ASYNC(server, server_t, self) {
  AX_BEGIN(self);
  {
    ax_tcp_opts_t opts = AX_ZERO(ax_tcp_opts_t);
    opts.nodelay = 1;          /* every accepted socket */
    ax_tcp_bind(&self->bind, "127.0.0.1", self->port, &opts);  /* copies opts */
  }
  AX_AWAIT(&self->bind.base);
  if (self->bind.result != 0) {
    fprintf(stderr, "echo_server: bind: %s\n", ax_strerror(self->bind.result));
    AX_RETURN();
  }
  self->listener = self->bind.listener;
  for (;;) {
    AX_AWAIT(ax_tcp_accept(&self->accept, self->listener));
    if (self->accept.result != 0) continue;  /* e.g. too many open files */
    {
      conn_t c;
      memset(&c, 0, sizeof c);
      c.socket = self->accept.stream;
      if (ax_spawn(AX_FUTURE_DROP(conn, conn_drop, &c), sizeof c, NULL) != 0)
        ax_stream_close(c.socket);
    }
  }
  AX_END();
}

AX_ASYNC_DROP(server_drop, server_t, self) {
  ax_tcp_listener_close(self->listener);
}

/* bench/net.sh stops a server with SIGINT and reads its workers' counters
 * (the cross-thread hops per request) from $AXLE_STATS_FILE. */
static void write_stats(void) {
  const char *path = getenv("AXLE_STATS_FILE");
  ax_runtime_t *rt = ax_runtime_current();
  ax_worker_stats_t st;
  unsigned i;
  FILE *f;
  if (path == NULL || *path == '\0' || (f = fopen(path, "w")) == NULL) return;
  for (i = 0; i < ax_runtime_workers(rt); i++)
    if (ax_runtime_worker_stats(rt, i, &st) == 0)
      fprintf(f, "worker %u polls=%" PRIu64 " steals=%" PRIu64 " hops=%" PRIu64
              "\n", i, st.polls, st.steals, st.hops);
  fclose(f);
}

typedef struct {               /* main: the server until it fails or ctrl-c */
  ax_async_t co;
  server_t srv;
  ax_join_t handle;
  ax_by_ref_t wait;
  ax_ctrl_c_t cc;
  ax_select_t race;
} app_t;

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  ax_spawn(AX_FUTURE_DROP(server, server_drop, &self->srv), sizeof self->srv,
           &self->handle);
  AX_AWAIT(ax_select(&self->race, ax_by_ref(&self->wait,
                                            ax_join_wait(&self->handle)),
                     ax_ctrl_c(&self->cc)));
  if (self->race.winner == 1) {  /* ctrl-c: count, then stop serving */
    write_stats();
    ax_abort(&self->handle);
  }
  ax_join_drop(&self->handle);
  AX_END();
}

int main(int argc, char **argv) {
  ax_builder_t b;
  app_t st;
  int i;
  memset(&st, 0, sizeof st);
  st.srv.port = 8080;
  ax_builder_init(&b, AX_MULTI_THREAD);
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
      st.srv.port = (uint16_t)atoi(argv[++i]);
    else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      b.worker_threads = (unsigned)atoi(argv[++i]);
    else if (strcmp(argv[i], "--current") == 0)
      b.flavor = AX_CURRENT_THREAD;
    else {
      fprintf(stderr, "usage: %s [--port P] [--threads N | --current]\n",
              argv[0]);
      return 2;
    }
  }
  return ax_main_with(&b, AX_FUTURE(app, &st)) == 0 ? 0 : 1;
}
