/* An HTTP/1.0 client: resolve, connect, send a request, read to the end,
 * all under one timeout.
 *
 *   async fn get(host: &str, port: u16, path: &str) -> io::Result<Vec<u8>> {
 *       let mut s = TcpStream::connect((host, port)).await?;
 *       s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes()).await?;
 *       let mut body = Vec::new();
 *       s.read_to_end(&mut body).await?;
 *       Ok(body)
 *   }
 *   match timeout(Duration::from_secs(5), get(host, port, path)).await { ... }
 *
 * usage: http_get HOST PORT [PATH] [--timeout MS]
 * Prints the status line and the size of the response, then the body.
 */
#include <axle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RESPONSE (16u << 20)

typedef struct {               /* async fn get(host, port, path) */
  ax_async_t co;
  const char *host, *path;     /* in */
  uint16_t port;               /* in */
  ax_tcp_connect_t conn;
  ax_write_t wr;
  ax_read_to_end_t rd;
  char request[512];
  int result;                  /* out: 0 or an error */
  ax_bytes_t response;         /* out: the whole response */
} get_t;

AX_ASYNC(get, get_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_tcp_connect(&self->conn, self->host, self->port, NULL));
  if ((self->result = self->conn.result) != 0) AX_RETURN();
  snprintf(self->request, sizeof self->request,
           "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n",
           self->path, self->host);
  AX_AWAIT(ax_write_all(&self->wr, self->conn.stream, self->request,
                        strlen(self->request)));
  if ((self->result = self->wr.result) != 0) AX_RETURN();
  AX_AWAIT(ax_read_to_end(&self->rd, self->conn.stream, &self->response,
                          MAX_RESPONSE));
  self->result = self->rd.result;
  AX_END();
}

/* Runs on completion and on cancellation (the timeout drops it). */
AX_ASYNC_DROP(get_drop, get_t, self) { ax_stream_close(self->conn.stream); }

typedef struct {               /* main */
  ax_async_t co;
  get_t get;
  ax_timeout_t limit;
  uint64_t timeout_ms;
  int status;                  /* out: the process's exit status */
} app_t;

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_timeout(&self->limit,
                      AX_FUTURE_DROP(get, get_drop, &self->get),
                      self->timeout_ms));
  if (self->limit.result == AX_ETIMEDOUT) {
    printf("timed out after %llu ms\n", (unsigned long long)self->timeout_ms);
    self->status = 1;
  } else if (self->get.result != 0) {
    printf("error: %s\n", ax_strerror(self->get.result));
    self->status = 1;
  } else {
    const char *r = self->get.response.data;
    size_t n = self->get.response.len;
    const char *eol = r != NULL ? (const char *)memchr(r, '\r', n) : NULL;
    const char *body = NULL;
    size_t i;
    for (i = 0; r != NULL && i + 3 < n; i++)
      if (memcmp(r + i, "\r\n\r\n", 4) == 0) {
        body = r + i + 4;
        break;
      }
    printf("%.*s\n", eol ? (int)(eol - r) : 0, r ? r : "");
    printf("%zu bytes\n", n);
    if (body != NULL) fwrite(body, 1, n - (size_t)(body - r), stdout);
    printf("\n");
  }
  ax_drop(&self->limit.base);  /* done with the request (and the timer) */
  AX_END();
}

AX_ASYNC_DROP(app_drop, app_t, self) {
  ax_drop(&self->limit.base);  /* a second drop does nothing */
  ax_bytes_free(&self->get.response);
}

int main(int argc, char **argv) {
  static app_t st;
  int i, pos = 0;
  st.timeout_ms = 5000;
  st.get.path = "/";
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
      st.timeout_ms = strtoull(argv[++i], NULL, 10);
    else if (pos == 0)
      st.get.host = argv[i], pos++;
    else if (pos == 1)
      st.get.port = (uint16_t)atoi(argv[i]), pos++;
    else if (pos == 2)
      st.get.path = argv[i], pos++;
  }
  if (pos < 2) {
    fprintf(stderr, "usage: %s HOST PORT [PATH] [--timeout MS]\n", argv[0]);
    return 2;
  }
  if (ax_main(AX_FUTURE_DROP(app, app_drop, &st)) != 0) return 1;
  return st.status;
}
