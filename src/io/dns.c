/* DNS through libuv's getaddrinfo / getnameinfo requests, started on the
 * calling task's home (hop.h). */
#include <string.h>

#include "axle/net.h"
#include "core/alloc.h"
#include "core/list.h"
#include "io/hop.h"

/* ---- getaddrinfo --------------------------------------------------------------- */

typedef struct {
  ax__hop_t hop;
  uv_getaddrinfo_t req;
  char *node, *service;         /* copies */
  struct addrinfo hints;
  int has_hints;
  struct addrinfo *res;         /* the answer, until taken */
} gai_t;

static void gai_free(ax__hop_t *h) {
  gai_t *g = (gai_t *)h;
  ax__free(g->node);
  ax__free(g->service);
  ax__free(g);
}

static void gai_discard(ax__hop_t *h) {
  gai_t *g = (gai_t *)h;
  if (g->res != NULL) uv_freeaddrinfo(g->res);
  g->res = NULL;
}

static void gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  gai_t *g = req->data;
  g->res = res;
  ax__hop_finish(&g->hop, status);
}

static void gai_start(ax__op_t *op) {
  gai_t *g = ax__container_of(op, gai_t, hop.op);
  int rc;
  g->req.data = g;
  rc = uv_getaddrinfo(g->hop.home->loop, &g->req, gai_cb, g->node, g->service,
                      g->has_hints ? &g->hints : NULL);
  if (rc != 0) ax__hop_finish(&g->hop, rc);
}

static ax_poll_t gai_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_getaddrinfo_t *a = (ax_getaddrinfo_t *)f;
  gai_t *g = (gai_t *)(void *)a->op;
  int first = 0, rc;
  if (a->done) return AX_READY;
  if (g == NULL) {
    if ((g = ax__calloc(1, sizeof(*g))) == NULL ||
        (a->node != NULL && (g->node = ax__strdup(a->node)) == NULL) ||
        (a->service != NULL && (g->service = ax__strdup(a->service)) == NULL)) {
      if (g != NULL) gai_free(&g->hop);
      a->result = AX_ENOMEM;
      a->done = 1;
      return AX_READY;
    }
    g->hints = a->hints;
    g->has_hints = a->has_hints;
    if ((rc = ax__hop_init(&g->hop, gai_start, gai_discard, gai_free)) != 0) {
      gai_free(&g->hop);
      a->result = rc;
      a->done = 1;
      return AX_READY;
    }
    a->op = &g->hop;
    first = 1;
  }
  if (!ax__hop_poll(&g->hop, cx, first)) return AX_PENDING;
  a->result = g->hop.result;
  a->res = g->res;
  g->res = NULL;
  ax__hop_done(&g->hop);
  a->op = NULL;
  a->done = 1;
  return AX_READY;
}

static void gai_drop(ax_future_t *f) {
  ax_getaddrinfo_t *a = (ax_getaddrinfo_t *)f;
  if (a->op != NULL) ax__hop_abandon(a->op);
  a->op = NULL;
}

static const ax_future_vtable_t gai_vtable = {gai_poll, gai_drop,
                                              "ax_getaddrinfo"};

ax_future_t *ax_getaddrinfo(ax_getaddrinfo_t *f, const char *node,
                            const char *service,
                            const struct addrinfo *hints) {
  f->base.vtable = &gai_vtable;
  f->op = NULL;
  f->node = node;
  f->service = service;
  memset(&f->hints, 0, sizeof(f->hints));
  f->has_hints = hints != NULL;
  if (hints != NULL) f->hints = *hints;
  f->done = 0;
  f->result = 0;
  f->res = NULL;
  return &f->base;
}

void ax_freeaddrinfo(struct addrinfo *ai) {
  if (ai != NULL) uv_freeaddrinfo(ai);
}

/* ---- getnameinfo --------------------------------------------------------------- */

typedef struct {
  ax__hop_t hop;
  uv_getnameinfo_t req;
  struct sockaddr_storage addr;
  int flags;
  char host[1025], service[32];
} gni_t;

static void gni_free(ax__hop_t *h) { ax__free(h); }

static void gni_cb(uv_getnameinfo_t *req, int status, const char *host,
                   const char *service) {
  gni_t *g = req->data;
  if (status == 0) {
    snprintf(g->host, sizeof(g->host), "%s", host ? host : "");
    snprintf(g->service, sizeof(g->service), "%s", service ? service : "");
  }
  ax__hop_finish(&g->hop, status);
}

static void gni_start(ax__op_t *op) {
  gni_t *g = ax__container_of(op, gni_t, hop.op);
  int rc;
  g->req.data = g;
  rc = uv_getnameinfo(g->hop.home->loop, &g->req, gni_cb,
                      (const struct sockaddr *)&g->addr, g->flags);
  if (rc != 0) ax__hop_finish(&g->hop, rc);
}

static ax_poll_t gni_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_getnameinfo_t *n = (ax_getnameinfo_t *)f;
  gni_t *g = (gni_t *)(void *)n->op;
  int first = 0, rc;
  if (n->done) return AX_READY;
  if (g == NULL) {
    if ((g = ax__calloc(1, sizeof(*g))) == NULL) {
      n->result = AX_ENOMEM;
      n->done = 1;
      return AX_READY;
    }
    g->addr = n->addr;
    g->flags = n->flags;
    if ((rc = ax__hop_init(&g->hop, gni_start, NULL, gni_free)) != 0) {
      gni_free(&g->hop);
      n->result = rc;
      n->done = 1;
      return AX_READY;
    }
    n->op = &g->hop;
    first = 1;
  }
  if (!ax__hop_poll(&g->hop, cx, first)) return AX_PENDING;
  n->result = g->hop.result;
  memcpy(n->host, g->host, sizeof(n->host));
  memcpy(n->service, g->service, sizeof(n->service));
  ax__hop_done(&g->hop);
  n->op = NULL;
  n->done = 1;
  return AX_READY;
}

static void gni_drop(ax_future_t *f) {
  ax_getnameinfo_t *n = (ax_getnameinfo_t *)f;
  if (n->op != NULL) ax__hop_abandon(n->op);
  n->op = NULL;
}

static const ax_future_vtable_t gni_vtable = {gni_poll, gni_drop,
                                              "ax_getnameinfo"};

ax_future_t *ax_getnameinfo(ax_getnameinfo_t *f, const struct sockaddr *addr,
                            int flags) {
  f->base.vtable = &gni_vtable;
  f->op = NULL;
  memset(&f->addr, 0, sizeof(f->addr));
  if (addr != NULL)
    memcpy(&f->addr, addr,
           addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                       : sizeof(struct sockaddr_in));
  f->flags = flags;
  f->result = addr == NULL ? AX_EINVAL : 0;
  f->done = addr == NULL;
  f->host[0] = f->service[0] = '\0';
  return &f->base;
}
