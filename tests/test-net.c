/* DNS and UDP (include/axle/net.h), on both runtime flavours, loopback
 * only.  (TCP and the stream helpers are tests/test-io.c.)  Nothing here
 * measures time: each test waits for datagrams and answers, and asserts
 * bytes, addresses and codes. */
#include <stdio.h>
#include <string.h>

#include "helpers.h"

/* ---- DNS ---------------------------------------------------------------------- */

typedef struct {
  ax_async_t co;
  ax_getaddrinfo_t gai, bad;
  ax_getnameinfo_t gni;
  int found_loopback;
} dns_t;

AX_ASYNC(dns_fn, dns_t, self) {
  AX_BEGIN(self);
  {
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    ax_getaddrinfo(&self->gai, "localhost", "80", &hints);
  }
  AX_AWAIT(&self->gai.base);
  ck_assert_int_eq(self->gai.result, 0);
  ck_assert_ptr_nonnull(self->gai.res);
  {
    struct addrinfo *ai;
    for (ai = self->gai.res; ai != NULL; ai = ai->ai_next) {
      char buf[64];
      ck_assert_int_eq(ax_addr_format(ai->ai_addr, buf, sizeof buf), 0);
      if (strcmp(buf, "127.0.0.1:80") == 0) self->found_loopback = 1;
    }
  }
  ax_freeaddrinfo(self->gai.res);
  AX_AWAIT(ax_getaddrinfo(&self->bad, "no-such-host.invalid", NULL, NULL));
  ck_assert_int_lt(self->bad.result, 0);     /* an error, not a crash */
  ck_assert_ptr_null(self->bad.res);
  {
    struct sockaddr_in a;
    ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 8080, &a), 0);
    ax_getnameinfo(&self->gni, (const struct sockaddr *)&a,
                   NI_NUMERICHOST | NI_NUMERICSERV);
  }
  AX_AWAIT(&self->gni.base);
  ck_assert_int_eq(self->gni.result, 0);
  ck_assert_str_eq(self->gni.host, "127.0.0.1");
  ck_assert_str_eq(self->gni.service, "8080");
  AX_END();
}

START_TEST(dns_lookups) {
  dns_t d = AX_ZERO(dns_t);
  th_run(_i, 2, AX_FUTURE(dns_fn, &d));
  ck_assert_int_eq(d.found_loopback, 1);
}
END_TEST

/* A lookup dropped while it runs: its answer is freed when it comes (the
 * valgrind and ASan setups see a leak otherwise). */
typedef struct {
  ax_async_t co;
  ax_getaddrinfo_t gai;
  ax_yield_t y;
  ax_select_t race;
} dns_race_t;

AX_ASYNC(dns_race_fn, dns_race_t, self) {
  AX_BEGIN(self);
  /* The yield wins the biased race at once: the lookup, polled once (so
   * started on the home), is dropped while it runs. */
  AX_AWAIT(ax_select_biased(&self->race, ax_yield_now(&self->y),
                            ax_getaddrinfo(&self->gai, "localhost", NULL,
                                           NULL)));
  AX_END();
}

START_TEST(dns_dropped_early) {
  dns_race_t d = AX_ZERO(dns_race_t);
  th_run(_i, 2, AX_FUTURE(dns_race_fn, &d));
}
END_TEST

/* ---- UDP ---------------------------------------------------------------------- */

#define NDGRAMS 50

typedef struct {
  ax_async_t co;
  ax_udp_bind_t ba, bb;
  ax_udp_t *a, *b;
  ax_udp_send_t send;
  ax_udp_recv_t recv;
  struct sockaddr_storage a_addr, b_addr;
  char out[128], in[128];
  int k, got, in_order, from_a, truncated_ok, connected_ok;
} udp_t;

AX_ASYNC(udp_fn, udp_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_udp_bind(&self->ba, "127.0.0.1", 0, NULL));
  ck_assert_int_eq(self->ba.result, 0);
  AX_AWAIT(ax_udp_bind(&self->bb, "127.0.0.1", 0, NULL));
  ck_assert_int_eq(self->bb.result, 0);
  self->a = self->ba.socket;
  self->b = self->bb.socket;
  ck_assert_int_eq(ax_udp_local_addr(self->a, &self->a_addr), 0);
  ck_assert_int_eq(ax_udp_local_addr(self->b, &self->b_addr), 0);
  ck_assert_uint_ne(ax_addr_port((struct sockaddr *)&self->b_addr), 0);

  /* Queued while nobody receives, then received in order. */
  for (self->k = 0; self->k < NDGRAMS; self->k++) {
    snprintf(self->out, sizeof self->out, "datagram %d", self->k);
    AX_AWAIT(ax_udp_send_to(&self->send, self->a, self->out,
                            strlen(self->out) + 1,
                            (struct sockaddr *)&self->b_addr));
    ck_assert_int_eq(self->send.result, 0);
    ck_assert_uint_eq(self->send.nsent, strlen(self->out) + 1);
  }
  self->in_order = 1;
  self->from_a = 1;
  for (self->k = 0; self->k < NDGRAMS; self->k++) {
    AX_AWAIT(ax_udp_recv_from(&self->recv, self->b, self->in,
                              sizeof self->in));
    ck_assert_int_eq(self->recv.result, 0);
    snprintf(self->out, sizeof self->out, "datagram %d", self->k);
    if (strcmp(self->in, self->out) != 0) self->in_order = 0;
    if (ax_addr_port((struct sockaddr *)&self->recv.from) !=
        ax_addr_port((struct sockaddr *)&self->a_addr))
      self->from_a = 0;
    self->got++;
  }

  /* A datagram longer than the buffer: the first bytes, truncated. */
  memset(self->out, 'x', 100);
  AX_AWAIT(ax_udp_send_to(&self->send, self->a, self->out, 100,
                          (struct sockaddr *)&self->b_addr));
  AX_AWAIT(ax_udp_recv_from(&self->recv, self->b, self->in, 10));
  self->truncated_ok = self->recv.result == 0 && self->recv.nread == 10 &&
                       self->recv.truncated == 1;

  /* Connected: send and recv without addresses. */
  ck_assert_int_eq(ax_udp_connect(self->a, (struct sockaddr *)&self->b_addr), 0);
  AX_AWAIT(ax_udp_send(&self->send, self->a, "hi", 3));
  AX_AWAIT(ax_udp_recv(&self->recv, self->b, self->in, sizeof self->in));
  self->connected_ok = self->recv.result == 0 && strcmp(self->in, "hi") == 0;
  AX_END();
}

AX_ASYNC_DROP(udp_drop, udp_t, self) {
  ax_udp_close(self->a);
  ax_udp_close(self->b);
}

START_TEST(udp_round_trips) {
  udp_t u = AX_ZERO(udp_t);
  th_run(_i, 2, AX_FUTURE_DROP(udp_fn, udp_drop, &u));
  ck_assert_int_eq(u.got, NDGRAMS);
  ck_assert(u.in_order);
  ck_assert(u.from_a);
  ck_assert(u.truncated_ok);
  ck_assert(u.connected_ok);
}
END_TEST

/* A receive dropped while it waits loses nothing: the datagram sent after
 * the drop is the next receive's (no stale registration eats it). */
typedef struct {
  ax_async_t co;
  ax_udp_bind_t ba, bb;
  ax_udp_t *a, *b;
  struct sockaddr_storage b_addr;
  ax_udp_recv_t recv;
  ax_yield_t y;
  ax_select_t race;
  ax_udp_send_t send;
  char in[32];
  int rounds, ok;
} udp_cancel_t;

AX_ASYNC(udp_cancel_fn, udp_cancel_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_udp_bind(&self->ba, "127.0.0.1", 0, NULL));
  AX_AWAIT(ax_udp_bind(&self->bb, "127.0.0.1", 0, NULL));
  self->a = self->ba.socket;
  self->b = self->bb.socket;
  ax_udp_local_addr(self->b, &self->b_addr);
  for (self->rounds = 0; self->rounds < 20; self->rounds++) {
    /* The receive registers, then loses the race to a yield. */
    AX_AWAIT(ax_select_biased(&self->race,
                              ax_udp_recv_from(&self->recv, self->b, self->in,
                                               sizeof self->in),
                              ax_yield_now(&self->y)));
    if (self->race.winner == 0) continue;   /* a stray one: take it */
    AX_AWAIT(ax_udp_send_to(&self->send, self->a, "late", 5,
                            (struct sockaddr *)&self->b_addr));
    AX_AWAIT(ax_udp_recv_from(&self->recv, self->b, self->in,
                              sizeof self->in));
    if (self->recv.result == 0 && strcmp(self->in, "late") == 0) self->ok++;
  }
  AX_END();
}

AX_ASYNC_DROP(udp_cancel_drop, udp_cancel_t, self) {
  ax_udp_close(self->a);
  ax_udp_close(self->b);
}

START_TEST(udp_recv_dropped_loses_nothing) {
  udp_cancel_t u = AX_ZERO(udp_cancel_t);
  th_run(_i, 2, AX_FUTURE_DROP(udp_cancel_fn, udp_cancel_drop, &u));
  ck_assert_int_eq(u.ok, 20);
}
END_TEST

/* A socket never closed by its owner is closed by the runtime's shutdown
 * (its loop closes it), and the owner's later close only frees it. */
typedef struct {
  ax_async_t co;
  ax_udp_bind_t b;
} udp_leak_t;

AX_ASYNC(udp_leak_fn, udp_leak_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_udp_bind(&self->b, "127.0.0.1", 0, NULL));
  ck_assert_int_eq(self->b.result, 0);
  AX_END();
}

START_TEST(udp_closed_by_shutdown) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  udp_leak_t u = AX_ZERO(udp_leak_t);
  ck_assert_int_eq(ax_block_on(rt, AX_FUTURE(udp_leak_fn, &u)), 0);
  ax_drop(AX_FUTURE_OF(&u));
  ax_runtime_free(rt);              /* the socket is still open here */
  ax_udp_close(u.b.socket);         /* after: only frees */
}
END_TEST

Suite *ax_net_suite(void) {
  return AX_SUITE("net",
                  AX_CASE("net", 30),
                  AX_FLAVOURS(dns_lookups),
                  AX_FLAVOURS(dns_dropped_early),
                  AX_FLAVOURS(udp_round_trips),
                  AX_FLAVOURS(udp_recv_dropped_loses_nothing),
                  AX_FLAVOURS(udp_closed_by_shutdown));
}
