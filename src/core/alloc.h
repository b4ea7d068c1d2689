/* Internal: allocation through the replaceable allocator (common.h). */
#ifndef AX_CORE_ALLOC_H
#define AX_CORE_ALLOC_H

#include <stddef.h>

void *ax__malloc(size_t n);
void *ax__calloc(size_t count, size_t n);
void *ax__realloc(void *p, size_t n);
void ax__free(void *p);
char *ax__strdup(const char *s);
/* Runtimes alive (+1 / -1): ax_replace_allocator refuses while any is. */
void ax__live_runtimes_add(int d);

/* Keeps groups of fields touched by different threads on different cache
 * lines (padding, not _Alignas: ax__malloc only promises max_align_t). */
#define AX__CACHELINE 64

#endif
