/* Linux: listening sockets sharing a port (see reuseport.h). */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/reuseport.h"

int ax__reuseport_available(void) { return 1; }

int ax__reuseport_socket(const struct sockaddr *addr, int ipv6_only,
                         uv_os_sock_t *out) {
  int on = 1, fd, err;
  socklen_t len = addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
  fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)
    goto fail;
  if (addr->sa_family == AF_INET6) {
    int only = ipv6_only != 0;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof(only)) != 0)
      goto fail;
  }
  if (bind(fd, addr, len) != 0) goto fail;
  *out = fd;
  return 0;
fail:
  err = -errno;
  close(fd);
  return err;
}

void ax__reuseport_close(uv_os_sock_t fd) { close(fd); }
