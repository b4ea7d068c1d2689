/* An HTTP/1.1 server: one task per connection, keep-alive and pipelining,
 * "Hello, world!" for every request.  (The chapter's next chapter builds an
 * HTTP server on Axum; this is the same shape on axle.)
 *
 *   loop {
 *       let (socket, _) = listener.accept().await?;
 *       tokio::spawn(serve(socket));        // parse requests, answer each
 *   }
 *
 * Requests are parsed by http_parser (Debian's libhttp-parser, the parser
 * Node.js used for years), fed as the bytes come.  A malformed request gets
 * 400, a request head over 8 KiB 431, and the connection closes; a client
 * that goes away mid-request only ends its own task.
 *
 * usage: http_server [--port P] [--threads N | --current]
 * It answers as the anchors' http_hello servers do (shared/anchors/README.md),
 * so the same wrk command line drives it; bench/net.sh does.
 */
#include <axle.h>
#include <inttypes.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESPONSE                                                             \
  "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n"    \
  "\r\nHello, world!"
#define RESPONSE_LEN (sizeof(RESPONSE) - 1)
#define MAX_HEAD 8192          /* the longest request head we accept */
#define BATCH 52               /* responses written at once (about 4 KiB) */

static const char bad_request[] =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
static const char head_too_large[] =
    "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
    "Connection: close\r\n\r\n";

/* BATCH responses back to back: pipelined requests are answered with one
 * write of as many as came, without copying per connection. */
static char responses[BATCH * RESPONSE_LEN];

typedef struct {               /* one connection */
  ax_async_t co;
  ax_stream_t *socket;         /* ours: closed by the drop handler */
  ax_read_t rd;
  ax_write_t wr;
  http_parser parser;
  size_t answered;             /* complete requests not answered yet */
  size_t batch;                /* of which the write in flight answers */
  int keep_alive;              /* the last request allows another */
  const char *refusal;         /* 400 / 431 to send before closing */
  char buf[8192];
} conn_t;

static int on_message_complete(http_parser *p) {
  conn_t *c = (conn_t *)p->data;
  c->answered++;
  c->keep_alive = http_should_keep_alive(p);
  return 0;
}

static const http_parser_settings settings = {
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, on_message_complete, NULL, NULL,
};

AX_ASYNC(serve, conn_t, self) {
  AX_BEGIN(self);
  http_parser_init(&self->parser, HTTP_REQUEST);
  self->parser.data = self;
  self->keep_alive = 1;
  while (self->keep_alive) {
    AX_AWAIT(ax_read(&self->rd, self->socket, self->buf, sizeof self->buf));
    if (self->rd.result != 0 || self->rd.nread == 0) break;  /* gone, EOF */
    {
      size_t n = http_parser_execute(&self->parser, &settings, self->buf,
                                     self->rd.nread);
      enum http_errno e = HTTP_PARSER_ERRNO(&self->parser);
      if (e == HPE_HEADER_OVERFLOW)       /* a head over MAX_HEAD bytes */
        self->refusal = head_too_large;
      else if (e != HPE_OK || n != self->rd.nread)
        self->refusal = bad_request;
    }
    while (self->answered > 0) {       /* answer what came, in order */
      self->batch = self->answered < BATCH ? self->answered : BATCH;
      AX_AWAIT(ax_write_all(&self->wr, self->socket, responses,
                            self->batch * RESPONSE_LEN));
      if (self->wr.result != 0) AX_RETURN();
      self->answered -= self->batch;
    }
    if (self->refusal != NULL) {
      AX_AWAIT(ax_write_all(&self->wr, self->socket, self->refusal,
                            strlen(self->refusal)));
      break;
    }
  }
  AX_END();
}

AX_ASYNC_DROP(serve_drop, conn_t, self) { ax_stream_close(self->socket); }

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
    opts.nodelay = 1;
    ax_tcp_bind(&self->bind, "127.0.0.1", self->port, &opts);  /* copies opts */
  }
  AX_AWAIT(&self->bind.base);
  if (self->bind.result != 0) {
    fprintf(stderr, "http_server: bind: %s\n", ax_strerror(self->bind.result));
    AX_RETURN();
  }
  self->listener = self->bind.listener;
  for (;;) {
    AX_AWAIT(ax_tcp_accept(&self->accept, self->listener));
    if (self->accept.result != 0) continue;
    {
      conn_t *c = (conn_t *)calloc(1, sizeof *c);  /* 8 KiB: not on the stack */
      if (c == NULL) {
        ax_stream_close(self->accept.stream);
        continue;
      }
      c->socket = self->accept.stream;
      if (ax_spawn(AX_FUTURE_DROP(serve, serve_drop, c), sizeof *c, NULL) != 0)
        ax_stream_close(c->socket);
      free(c);
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
  for (i = 0; i < BATCH; i++)
    memcpy(responses + (size_t)i * RESPONSE_LEN, RESPONSE, RESPONSE_LEN);
  http_parser_set_max_header_size(MAX_HEAD);
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
