/* Seeing inside a runtime: per-worker counters and the task dump. */
#include <assert.h>

#include "runtime/worker.h"

int ax_runtime_worker_stats(ax_runtime_t *rt, unsigned index,
                            ax_worker_stats_t *out) {
  ax__worker_t *w;
  if (rt == NULL || out == NULL || index >= rt->nworkers) return AX_EINVAL;
  w = rt->workers[index];
  out->polls = atomic_load_explicit(&w->polls, memory_order_relaxed);
  out->steals = atomic_load_explicit(&w->steals, memory_order_relaxed);
  out->parks = atomic_load_explicit(&w->parks, memory_order_relaxed);
  out->io_polls = atomic_load_explicit(&w->io_polls, memory_order_relaxed);
  out->hops = atomic_load_explicit(&w->hops, memory_order_relaxed);
  out->local_queue = ax__lq_len(&w->q);
  return 0;
}

void ax_runtime_dump_tasks(ax_runtime_t *rt, FILE *out) {
  assert(rt != NULL);
  ax__owned_dump(&rt->owned, out != NULL ? out : stdout);
}
