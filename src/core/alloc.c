/* The replaceable allocator (like uv_replace_allocator). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "axle/common.h"
#include "core/alloc.h"

static ax_malloc_fn ax__m = malloc;
static ax_realloc_fn ax__r = realloc;
static ax_calloc_fn ax__c = calloc;
static ax_free_fn ax__f = free;

/* Runtimes alive: their memory came from the current allocator and must go
 * back to it, so the allocator cannot change under them. */
static atomic_int live_runtimes;

void ax__live_runtimes_add(int d) { atomic_fetch_add(&live_runtimes, d); }

int ax_replace_allocator(ax_malloc_fn m, ax_realloc_fn r, ax_calloc_fn c,
                         ax_free_fn f) {
  if (m == NULL || r == NULL || c == NULL || f == NULL) return AX_EINVAL;
  if (atomic_load(&live_runtimes) != 0) return AX_EBUSY;
  ax__m = m;
  ax__r = r;
  ax__c = c;
  ax__f = f;
  return 0;
}

void *ax__malloc(size_t n) { return ax__m(n ? n : 1); }
void *ax__calloc(size_t count, size_t n) { return ax__c(count ? count : 1, n ? n : 1); }
void *ax__realloc(void *p, size_t n) { return ax__r(p, n); }
void ax__free(void *p) {
  if (p != NULL) ax__f(p);
}

char *ax__strdup(const char *s) {
  size_t n;
  char *d;
  if (s == NULL) return NULL;
  n = strlen(s) + 1;
  d = ax__malloc(n);
  if (d != NULL) memcpy(d, s, n);
  return d;
}
