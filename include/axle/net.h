/* axle — networking: TCP (and addresses).
 *
 *   Tokio                                      axle
 *   TcpListener::bind("127.0.0.1:8080").await  AX_AWAIT(ax_tcp_bind(&s->bind, "127.0.0.1", 8080, NULL))
 *   listener.accept().await                    AX_AWAIT(ax_tcp_accept(&s->acc, listener))
 *   TcpStream::connect("host:80").await        AX_AWAIT(ax_tcp_connect(&s->conn, "host", 80, NULL))
 *   stream.set_nodelay(true)                   ax_tcp_set_nodelay(stream, 1)
 *   drop(listener)                             ax_tcp_listener_close(listener)
 *
 * A TCP connection is an ax_stream_t: read and write it with <axle/io.h>.
 * Every future here may be dropped in any state: a dropped accept leaks no
 * socket (a connection accepted for it stays queued for the next accept),
 * a dropped connect or bind closes what it had opened.
 *
 * Multi-thread servers use every worker: a listener has one listening
 * socket per worker where the kernel spreads connections over them
 * (SO_REUSEPORT on Linux), each accepting on its own worker's loop, so a
 * connection lives on the worker that accepted it, and the task spawned
 * for it runs there after its first read.  Elsewhere (or with
 * opts.one_socket) one socket accepts every connection on one loop.
 */
#ifndef AXLE_NET_H
#define AXLE_NET_H

#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- TCP -------------------------------------------------------------------- */
typedef struct ax_tcp_listener_s ax_tcp_listener_t;

/* Options for bind and connect (AX_ZERO(ax_tcp_opts_t) or NULL: defaults). */
typedef struct ax_tcp_opts_s {
  int backlog;            /* listen backlog; 0: SOMAXCONN */
  int nodelay;            /* 1: TCP_NODELAY on accepted / connected streams */
  unsigned keepalive_s;   /* >0: TCP keepalive, first probe after this */
  int ipv6_only;          /* bind "::": 1 refuses IPv4 (default: both) */
  int one_socket;         /* multi-thread runtime: 1 = one listening
                             socket; default (0): one per worker where the
                             system spreads connections (SO_REUSEPORT on
                             Linux), each accepting on its own loop */
} ax_tcp_opts_t;

/* Binds and listens on host:port.  host: a numeric address ("127.0.0.1",
 * "::1"), a name resolved through DNS (the first address that binds), or
 * NULL / "" for every address (dual-stack "::").  port 0 picks one (see
 * ax_tcp_listener_addr).  result 0 and listener (the caller's: close it
 * with ax_tcp_listener_close), or an error (UV_EADDRINUSE, UV_EACCES...). */
typedef struct ax_tcp_bind_s {
  ax_future_t base;              /* the future */
  struct ax__tcp_op_s *op;       /* private: the operation in flight */
  const char *host;              /* private: borrowed until ready */
  uint16_t port;                 /* private */
  ax_tcp_opts_t opts;            /* private: a copy */
  int result;                    /* read-only once ready */
  ax_tcp_listener_t *listener;   /* read-only once ready: yours */
} ax_tcp_bind_t;
AX_EXTERN ax_future_t *ax_tcp_bind(ax_tcp_bind_t *f, const char *host,
                                   uint16_t port, const ax_tcp_opts_t *opts);
/* Closes the listener (any thread; NULL is ignored); connections accepted
 * but not taken are closed.  No accept may be in flight on it. */
AX_EXTERN void ax_tcp_listener_close(ax_tcp_listener_t *l);
/* The address it listens on (the port it picked when bound to port 0). */
AX_EXTERN int ax_tcp_listener_addr(ax_tcp_listener_t *l,
                                   struct sockaddr_storage *out);

/* The next connection: result 0 and stream (yours: ax_stream_close), with
 * the peer's address, or an error.  One accept at a time per listener. */
typedef struct ax_tcp_accept_s {
  ax_future_t base;              /* the future */
  ax_tcp_listener_t *l;          /* private: borrowed */
  int phase;                     /* private */
  int result;                    /* read-only once ready */
  ax_stream_t *stream;           /* read-only once ready: yours */
  struct sockaddr_storage peer;  /* read-only once ready */
} ax_tcp_accept_t;
AX_EXTERN ax_future_t *ax_tcp_accept(ax_tcp_accept_t *f, ax_tcp_listener_t *l);

/* Connects to host:port (host numeric, or a name resolved through DNS,
 * whose addresses are tried in order).  result 0 and stream (yours), or an
 * error (UV_ECONNREFUSED, UV_ENOENT when the name does not resolve...). */
typedef struct ax_tcp_connect_s {
  ax_future_t base;              /* the future */
  struct ax__tcp_op_s *op;       /* private: the operation in flight */
  const char *host;              /* private: borrowed until ready */
  uint16_t port;                 /* private */
  ax_tcp_opts_t opts;            /* private: a copy */
  int result;                    /* read-only once ready */
  ax_stream_t *stream;           /* read-only once ready: yours */
} ax_tcp_connect_t;
AX_EXTERN ax_future_t *ax_tcp_connect(ax_tcp_connect_t *f, const char *host,
                                      uint16_t port,
                                      const ax_tcp_opts_t *opts);

/* A TCP stream's addresses (copied when it was connected or accepted):
 * 0, or AX_EINVAL when s is not a TCP stream. */
AX_EXTERN int ax_tcp_peer_addr(ax_stream_t *s, struct sockaddr_storage *out);
AX_EXTERN int ax_tcp_local_addr(ax_stream_t *s, struct sockaddr_storage *out);
/* Socket options, applied on the stream's home: 0 or an error; from
 * another thread they are handed to the home and 0 means "queued". */
AX_EXTERN int ax_tcp_set_nodelay(ax_stream_t *s, int on);
AX_EXTERN int ax_tcp_set_keepalive(ax_stream_t *s, int on, unsigned delay_s);

/* ---- Addresses ------------------------------------------------------------ */
/* "1.2.3.4:80" / "[::1]:80" into buf (at least 64 bytes): 0 or AX_EINVAL. */
AX_EXTERN int ax_addr_format(const struct sockaddr *sa, char *buf,
                             size_t len);
/* The port of an IPv4 or IPv6 address (host order), 0 for others. */
AX_EXTERN uint16_t ax_addr_port(const struct sockaddr *sa);

/* ---- Local sockets: Unix domain sockets and Windows named pipes ---------
 *
 *   Tokio                                      axle
 *   UnixListener::bind(path)?                  AX_AWAIT(ax_pipe_bind(&s->bind, path, NULL))
 *   listener.accept().await                    AX_AWAIT(ax_pipe_accept(&s->acc, listener))
 *   UnixStream::connect(path).await            AX_AWAIT(ax_pipe_connect(&s->conn, path))
 *   named_pipe::ServerOptions / ClientOptions  the same calls, path "\\\\.\\pipe\\name"
 *   drop(listener)                             ax_pipe_listener_close(listener)
 *
 * A path names a Unix domain socket on POSIX systems (at most 107 bytes on
 * Linux, 103 on macOS: longer is UV_ENAMETOOLONG) and a named pipe on
 * Windows ("\\\\.\\pipe\\name"): libuv's uv_pipe_t is both.  A
 * connection is an ax_stream_t like a TCP one: read and write it with
 * <axle/io.h>.
 * Binding fails with UV_EADDRINUSE when the path exists (a socket file
 * left behind by a process that died: remove it first); closing the
 * listener removes its socket file (libuv does).  A listener has one
 * socket, on the home of the task that bound it, and a connection lives on
 * that home too.  The futures may be dropped in any state, as TCP's:
 * a dropped accept leaks nothing (a connection accepted for it waits for
 * the next accept), a dropped bind or connect closes what it had opened.
 * POSIX: the first local socket makes SIGPIPE ignored if it had its
 * default action (see <axle/process.h>): a write to a peer that is gone
 * fails with UV_EPIPE.
 */
typedef struct ax_pipe_listener_s ax_pipe_listener_t;

/* Options for ax_pipe_bind (NULL or AX_ZERO(ax_pipe_opts_t): defaults). */
typedef struct ax_pipe_opts_s {
  int backlog;                   /* listen backlog; 0: SOMAXCONN */
} ax_pipe_opts_t;

/* Binds path and listens.  result 0 and listener (the caller's: close it
 * with ax_pipe_listener_close), or an error (UV_EADDRINUSE, UV_EACCES,
 * UV_ENOENT when the directory does not exist, UV_ENAMETOOLONG,
 * AX_ENORUNTIME outside a runtime). */
typedef struct ax_pipe_bind_s {
  ax_future_t base;              /* the future */
  struct ax__pipe_op_s *op;      /* private: the operation in flight */
  const char *path;              /* private: borrowed until ready */
  ax_pipe_opts_t opts;           /* private: a copy */
  int result;                    /* read-only once ready */
  ax_pipe_listener_t *listener;  /* read-only once ready: yours */
} ax_pipe_bind_t;
AX_EXTERN ax_future_t *ax_pipe_bind(ax_pipe_bind_t *f, const char *path,
                                    const ax_pipe_opts_t *opts);
/* Closes the listener and removes its socket file (any thread; NULL is
 * ignored); connections accepted but not taken are closed.  No accept may
 * be in flight on it. */
AX_EXTERN void ax_pipe_listener_close(ax_pipe_listener_t *l);

/* The next connection: result 0 and stream (yours: ax_stream_close), or
 * an error.  One accept at a time per listener. */
typedef struct ax_pipe_accept_s {
  ax_future_t base;              /* the future */
  ax_pipe_listener_t *l;         /* private: borrowed */
  int phase;                     /* private */
  int result;                    /* read-only once ready */
  ax_stream_t *stream;           /* read-only once ready: yours */
} ax_pipe_accept_t;
AX_EXTERN ax_future_t *ax_pipe_accept(ax_pipe_accept_t *f,
                                      ax_pipe_listener_t *l);

/* Connects to the socket or named pipe at path: result 0 and stream
 * (yours), or an error (UV_ENOENT: nothing there; UV_ECONNREFUSED: a
 * socket file nobody listens on; UV_ENAMETOOLONG; AX_ENORUNTIME). */
typedef struct ax_pipe_connect_s {
  ax_future_t base;              /* the future */
  struct ax__pipe_op_s *op;      /* private: the operation in flight */
  const char *path;              /* private: borrowed until ready */
  int result;                    /* read-only once ready */
  ax_stream_t *stream;           /* read-only once ready: yours */
} ax_pipe_connect_t;
AX_EXTERN ax_future_t *ax_pipe_connect(ax_pipe_connect_t *f,
                                       const char *path);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_NET_H */
