/* How late a sleep fires when its worker is stuck (the time issue's
 * question: deadline to firing, with a worker blocked).
 *
 * A multi-thread runtime (2 workers by default).  Each round, a task G
 * spawns SLEEPERS tasks; each registers one sleep (deadlines spread from
 * 20 to 170 ms) on the wheel of the worker that first polls it, and
 * notes which worker that is.  Once all have registered, G blocks its
 * own worker for BLOCK_MS (uv_sleep: the blocking call in async code,
 * the mistake this measures).  Each sleeper records, when it runs again,
 * how long after its deadline that was and on which worker.  Sleepers
 * registered on G's worker are the "victims": without the keeper
 * (time/keeper.h) they fire when the block ends, up to ~180 ms late;
 * with it, a few ms after their deadlines, on another worker.
 *
 * Workers are told apart by ax_home_current() (public, <axle/leaf.h>), so
 * this file also builds against a tree without the keeper, for the
 * "before" figure.
 *
 *   axle-timer-stuck [--threads N] [--rounds R] [--block MS]
 * One JSON line per round, then a summary line (lateness of the victims'
 * firings: median, 90th percentile, worst; and the same for the others).
 * Timing, not a test.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <axle.h>
#include <axle/leaf.h>

#define SLEEPERS 16
#define MAX_ROUNDS 100

typedef struct {
  ax_async_t co;
  ax_sleep_t s;
  int i;
  ax_home_t *reg_home;   /* the worker its sleep was registered on */
  ax_home_t *run_home;   /* the worker it ran on after the sleep */
  uint64_t late_ns;      /* firing (its next poll) minus the deadline */
} sleeper_t;

static _Atomic int registered;

AX_ASYNC(sleeper, sleeper_t, self) {
  AX_BEGIN(self);
  ax_sleep(&self->s, 20 + (uint64_t)self->i * 10);
  self->reg_home = ax_home_current();
  atomic_fetch_add(&registered, 1);
  AX_AWAIT(&self->s.base);
  {
    ax_instant_t now = ax_instant_now();
    self->late_ns = now > self->s.deadline ? now - self->s.deadline : 0;
  }
  self->run_home = ax_home_current();
  AX_END();
}

typedef struct {
  ax_async_t co;
  unsigned block_ms;
  ax_home_t *blocked;            /* its worker */
  ax_join_t h[SLEEPERS];
  sleeper_t out[SLEEPERS];
  int k;
} group_t;

AX_ASYNC(group, group_t, self) {
  AX_BEGIN(self);
  atomic_store(&registered, 0);
  for (self->k = 0; self->k < SLEEPERS; self->k++) {
    sleeper_t s = AX_ZERO(sleeper_t);
    s.i = self->k;
    if (ax_spawn(AX_FUTURE(sleeper, &s), sizeof s, &self->h[self->k]) != 0)
      abort();
  }
  while (atomic_load(&registered) < SLEEPERS) AX_YIELD();
  self->blocked = ax_home_current();
  uv_sleep(self->block_ms);           /* the blocking call in async code */
  for (self->k = 0; self->k < SLEEPERS; self->k++) {
    AX_AWAIT(ax_join_wait(&self->h[self->k]));
    self->out[self->k] = *AX_JOIN_OUTPUT(&self->h[self->k], sleeper_t);
    ax_join_drop(&self->h[self->k]);
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  int rounds, r;
  unsigned block_ms;
  ax_join_t h;
  ax_sleep_t pause;
  group_t results[MAX_ROUNDS];
} main_t;

AX_ASYNC(main_fn, main_t, self) {
  AX_BEGIN(self);
  for (self->r = 0; self->r < self->rounds; self->r++) {
    {
      group_t g = AX_ZERO(group_t);
      g.block_ms = self->block_ms;
      if (ax_spawn(AX_FUTURE(group, &g), sizeof g, &self->h) != 0) abort();
    }
    AX_AWAIT(ax_join_wait(&self->h));
    self->results[self->r] = *AX_JOIN_OUTPUT(&self->h, group_t);
    ax_join_drop(&self->h);
    AX_AWAIT(ax_sleep(&self->pause, 20));
  }
  AX_END();
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, int n, double p) {
  if (n == 0) return -1;
  qsort(v, (size_t)n, sizeof v[0], cmp_u64);
  return v[(int)(p * (n - 1) + 0.5)] / 1e6;
}

int main(int argc, char **argv) {
  static main_t m;
  static uint64_t victims[MAX_ROUNDS * SLEEPERS], others[MAX_ROUNDS * SLEEPERS];
  ax_builder_t b;
  int i, r, nv = 0, no = 0, moved = 0;
  ax_builder_init(&b, AX_MULTI_THREAD);
  b.worker_threads = 2;
  m.rounds = 10;
  m.block_ms = 200;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      b.worker_threads = (unsigned)atoi(argv[++i]);
    else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
      m.rounds = atoi(argv[++i]);
    else if (strcmp(argv[i], "--block") == 0 && i + 1 < argc)
      m.block_ms = (unsigned)atoi(argv[++i]);
  }
  if (m.rounds < 1) m.rounds = 1;
  if (m.rounds > MAX_ROUNDS) m.rounds = MAX_ROUNDS;
  if (ax_main_with(&b, AX_FUTURE(main_fn, &m)) != 0) return 1;
  for (r = 0; r < m.rounds; r++) {
    group_t *g = &m.results[r];
    uint64_t worst = 0;
    int v = 0;
    for (i = 0; i < SLEEPERS; i++) {
      sleeper_t *s = &g->out[i];
      if (s->reg_home == g->blocked) {
        victims[nv++] = s->late_ns;
        v++;
        if (s->late_ns > worst) worst = s->late_ns;
        moved += s->run_home != g->blocked;
      } else {
        others[no++] = s->late_ns;
      }
    }
    printf("{\"round\":%d,\"victims\":%d,\"victims_worst_late_ms\":%.2f}\n", r,
           v, worst / 1e6);
  }
  printf("{\"workload\":\"timer_stuck\",\"threads\":%u,\"rounds\":%d,"
         "\"block_ms\":%u,\"victims\":%d,\"victims_ran_elsewhere\":%d,"
         "\"victims_late_ms\":{\"p50\":%.2f,\"p90\":%.2f,\"max\":%.2f},"
         "\"others\":%d,\"others_late_ms\":{\"p50\":%.2f,\"p90\":%.2f,"
         "\"max\":%.2f}}\n",
         b.worker_threads, m.rounds, m.block_ms, nv, moved,
         pct(victims, nv, 0.5), pct(victims, nv, 0.9), pct(victims, nv, 1.0),
         no, pct(others, no, 0.5), pct(others, no, 0.9), pct(others, no, 1.0));
  return 0;
}
