/* Systems whose kernel does not balance SO_REUSEPORT sockets (see
 * reuseport.h): a listener keeps one socket. */
#include "io/reuseport.h"

int ax__reuseport_available(void) { return 0; }

int ax__reuseport_socket(const struct sockaddr *addr, int ipv6_only,
                         uv_os_sock_t *out) {
  (void)addr;
  (void)ipv6_only;
  (void)out;
  return UV_ENOTSUP;
}

void ax__reuseport_close(uv_os_sock_t fd) { (void)fd; }
