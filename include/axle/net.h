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
 * error (UV_ECONNREFUSED; UV_EAI_NONAME when the name does not resolve, or
 * another of libuv's UV_EAI_* codes, such as UV_EAI_AGAIN when DNS cannot
 * be reached...). */
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

/* ---- DNS ------------------------------------------------------------------- */

/* getaddrinfo through libuv (on its threadpool; Tokio's lookup_host):
 * node and service as for getaddrinfo(3), copied at the first poll.
 * result 0 and res (yours: ax_freeaddrinfo), or an error (UV_EAI_NONAME
 * when the name does not exist...).  Dropped early, the lookup's result is
 * freed when it comes. */
typedef struct ax_getaddrinfo_s {
  ax_future_t base;              /* the future */
  struct ax__hop_s *op;          /* private: the lookup in flight */
  const char *node, *service;    /* private: borrowed until the first poll */
  struct addrinfo hints;         /* private: a copy */
  int has_hints;                 /* private */
  int done;                      /* private */
  int result;                    /* read-only once ready */
  struct addrinfo *res;          /* read-only once ready: yours */
} ax_getaddrinfo_t;
AX_EXTERN ax_future_t *ax_getaddrinfo(ax_getaddrinfo_t *f, const char *node,
                                      const char *service,
                                      const struct addrinfo *hints);
/* Frees a list from ax_getaddrinfo.  NULL is ignored. */
AX_EXTERN void ax_freeaddrinfo(struct addrinfo *ai);

/* getnameinfo through libuv: the host and service names of an address
 * (flags as for getnameinfo(3), e.g. NI_NUMERICSERV).  result 0 and the
 * names, or an error. */
typedef struct ax_getnameinfo_s {
  ax_future_t base;              /* the future */
  struct ax__hop_s *op;          /* private: the lookup in flight */
  struct sockaddr_storage addr;  /* private: a copy */
  int flags;                     /* private */
  int done;                      /* private */
  int result;                    /* read-only once ready */
  char host[1025];               /* read-only once ready (NI_MAXHOST) */
  char service[32];              /* read-only once ready (NI_MAXSERV) */
} ax_getnameinfo_t;
AX_EXTERN ax_future_t *ax_getnameinfo(ax_getnameinfo_t *f,
                                      const struct sockaddr *addr, int flags);

/* ---- UDP ------------------------------------------------------------------- *
 *
 *   Tokio                                     axle
 *   UdpSocket::bind("0.0.0.0:0").await        AX_AWAIT(ax_udp_bind(&s->b, "0.0.0.0", 0, NULL)); s->b.socket
 *   sock.send_to(&buf, addr).await            AX_AWAIT(ax_udp_send_to(&s->tx, sock, buf, n, addr))
 *   sock.recv_from(&mut buf).await            AX_AWAIT(ax_udp_recv_from(&s->rx, sock, buf, sizeof buf))
 *   sock.connect(addr).await; send / recv     ax_udp_connect(sock, addr); ax_udp_send / ax_udp_recv
 *
 * A socket lives on the worker that bound it, as a stream does (io.h):
 * one receive and one send in flight at a time.  Datagrams that come while
 * nobody receives wait in the socket (at most AX_UDP_QUEUE of them; then
 * reading stops and the kernel's buffer, then the network, drops the
 * rest, as UDP does).  A dropped receive loses no datagram it had been
 * handed; a dropped send never reads the caller's buffer afterwards. */
#define AX_UDP_QUEUE 256

typedef struct ax_udp_s ax_udp_t;

typedef struct ax_udp_opts_s {
  int reuseaddr;          /* SO_REUSEADDR (several sockets on one port) */
  int ipv6_only;          /* bind "::": 1 refuses IPv4 (default: both) */
  int broadcast;          /* SO_BROADCAST */
} ax_udp_opts_t;

/* Binds host:port (numeric, a name, or NULL / "" for every address; port 0
 * picks one).  result 0 and socket (yours: ax_udp_close), or an error. */
typedef struct ax_udp_bind_s {
  ax_future_t base;              /* the future */
  struct ax__hop_s *op;          /* private: the bind in flight */
  const char *host;              /* private: borrowed until ready */
  uint16_t port;                 /* private */
  ax_udp_opts_t opts;            /* private: a copy */
  int result;                    /* read-only once ready */
  ax_udp_t *socket;              /* read-only once ready: yours */
} ax_udp_bind_t;
AX_EXTERN ax_future_t *ax_udp_bind(ax_udp_bind_t *f, const char *host,
                                   uint16_t port, const ax_udp_opts_t *opts);
/* Closes the socket (any thread; NULL is ignored).  No future may use it
 * any more; datagrams still queued are dropped. */
AX_EXTERN void ax_udp_close(ax_udp_t *u);
/* The address it is bound to. */
AX_EXTERN int ax_udp_local_addr(ax_udp_t *u, struct sockaddr_storage *out);

/* Sends one datagram to addr (send_to) or to the connected peer (send).
 * buf is borrowed until ready or dropped.  result 0 (nsent = len) or an
 * error. */
typedef struct ax_udp_send_s {
  ax_future_t base;              /* the future */
  ax_udp_t *u;                   /* private: borrowed */
  const char *buf;               /* private: borrowed */
  size_t len;                    /* private */
  struct sockaddr_storage to;    /* private: a copy (send_to) */
  int has_to;                    /* private */
  int phase;                     /* private */
  int result;                    /* read-only once ready */
  size_t nsent;                  /* read-only once ready */
} ax_udp_send_t;
AX_EXTERN ax_future_t *ax_udp_send_to(ax_udp_send_t *f, ax_udp_t *u,
                                      const void *buf, size_t len,
                                      const struct sockaddr *addr);
AX_EXTERN ax_future_t *ax_udp_send(ax_udp_send_t *f, ax_udp_t *u,
                                   const void *buf, size_t len);

/* Receives one datagram into buf (the caller's, borrowed until ready or
 * dropped): result 0, nread bytes (0 for an empty datagram), the sender's
 * address, and truncated = 1 when the datagram did not fit (the rest is
 * lost, as recvfrom does); or an error. */
typedef struct ax_udp_recv_s {
  ax_future_t base;              /* the future */
  ax_udp_t *u;                   /* private: borrowed */
  char *buf;                     /* private: borrowed */
  size_t len;                    /* private */
  int phase;                     /* private */
  int result;                    /* read-only once ready */
  size_t nread;                  /* read-only once ready */
  int truncated;                 /* read-only once ready */
  struct sockaddr_storage from;  /* read-only once ready */
} ax_udp_recv_t;
AX_EXTERN ax_future_t *ax_udp_recv_from(ax_udp_recv_t *f, ax_udp_t *u,
                                        void *buf, size_t len);
/* Only from the connected peer (ax_udp_connect). */
AX_EXTERN ax_future_t *ax_udp_recv(ax_udp_recv_t *f, ax_udp_t *u, void *buf,
                                   size_t len);

/* Socket settings, applied on the socket's home: 0 or an error; from
 * another thread they are handed to the home, and 0 means "queued".
 * connect: peer NULL disconnects.  The multicast calls take numeric
 * addresses (interface NULL: the system's choice) and run only on the
 * socket's home (AX_EBUSY elsewhere: call them from the task that bound
 * it, before it awaits anything that could move it). */
AX_EXTERN int ax_udp_connect(ax_udp_t *u, const struct sockaddr *peer);
AX_EXTERN int ax_udp_set_broadcast(ax_udp_t *u, int on);
AX_EXTERN int ax_udp_set_ttl(ax_udp_t *u, int ttl);
AX_EXTERN int ax_udp_set_multicast_ttl(ax_udp_t *u, int ttl);
AX_EXTERN int ax_udp_set_multicast_loop(ax_udp_t *u, int on);
AX_EXTERN int ax_udp_set_multicast_interface(ax_udp_t *u,
                                             const char *interface_addr);
AX_EXTERN int ax_udp_join_multicast(ax_udp_t *u, const char *group,
                                    const char *interface_addr);
AX_EXTERN int ax_udp_leave_multicast(ax_udp_t *u, const char *group,
                                     const char *interface_addr);

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
