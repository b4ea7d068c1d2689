/* Internal: one listening socket per worker, for the kernel to spread
 * connections over (SO_REUSEPORT).  Only where the kernel balances such
 * sockets (Linux): reuseport_linux.c; elsewhere reuseport_none.c says no,
 * and a listener has one socket whose loop accepts every connection. */
#ifndef AX_IO_REUSEPORT_H
#define AX_IO_REUSEPORT_H

#include <uv.h>

/* 1 when several sockets may listen on one port and share its load. */
int ax__reuseport_available(void);
/* A nonblocking socket bound to addr with SO_REUSEPORT, for uv_tcp_open:
 * 0 or a negative error. */
int ax__reuseport_socket(const struct sockaddr *addr, int ipv6_only,
                         uv_os_sock_t *out);
/* Closes such a socket that libuv did not take. */
void ax__reuseport_close(uv_os_sock_t fd);

#endif
