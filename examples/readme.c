#include <axle.h>
#include <stdio.h>

typedef struct {                             /* async fn echo(socket) */
  ax_async_t co;
  ax_stream_t *socket;
  ax_read_t rd;
  ax_write_t wr;
  char buf[256];
} echo_t;

AX_ASYNC(echo, echo_t, self) {               /* echo until the peer is done */
  AX_BEGIN(self);
  for (;;) {
    AX_AWAIT(ax_read(&self->rd, self->socket, self->buf, sizeof self->buf));
    if (self->rd.nread == 0) break;          /* end of stream (or an error) */
    AX_AWAIT(ax_write_all(&self->wr, self->socket, self->buf, self->rd.nread));
  }
  AX_END();
}

AX_ASYNC_DROP(echo_drop, echo_t, self) { ax_stream_close(self->socket); }

typedef struct {                             /* async fn main() */
  ax_async_t co;
  ax_tcp_bind_t bind;
  ax_tcp_connect_t conn;
  ax_tcp_accept_t accept;
  ax_write_t wr;
  ax_read_t rd;
  char reply[16];
} app_t;

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_tcp_bind(&self->bind, "127.0.0.1", 0, NULL));  /* any free port */
  if (self->bind.result != 0) ax_panic("bind: %s", ax_strerror(self->bind.result));
  {
    struct sockaddr_storage addr;
    ax_tcp_listener_addr(self->bind.listener, &addr);
    ax_tcp_connect(&self->conn, "127.0.0.1", ax_addr_port((struct sockaddr *)&addr), NULL);
  }
  AX_AWAIT(&self->conn.base);                /* TcpStream::connect(addr).await */
  AX_AWAIT(ax_tcp_accept(&self->accept, self->bind.listener));
  {                                          /* tokio::spawn(echo(socket)) */
    echo_t e = AX_ZERO(echo_t);
    e.socket = self->accept.stream;
    ax_spawn(AX_FUTURE_DROP(echo, echo_drop, &e), sizeof e, NULL);
  }
  puts("hello from axle");
  AX_AWAIT(ax_write_all(&self->wr, self->conn.stream, "hello\n", 6));
  AX_AWAIT(ax_read_exact(&self->rd, self->conn.stream, self->reply, 6));
  printf("the echo task sent back: %.6s", self->reply);
  AX_END();
}

AX_ASYNC_DROP(app_drop, app_t, self) {        /* drop(stream); drop(listener) */
  ax_stream_close(self->conn.stream);
  ax_tcp_listener_close(self->bind.listener);
}

int main(void) {                             /* #[tokio::main] */
  static app_t state;
  return ax_main(AX_FUTURE_DROP(app, app_drop, &state)) == 0 ? 0 : 1;
}
