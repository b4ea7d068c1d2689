/* The word that stands in for a fence under ThreadSanitizer (fence.h). */
#include "core/fence.h"

#ifdef AX__TSAN
_Atomic int ax__fence_word;
#else
typedef int ax__fence_unused_t;  /* ISO C: a translation unit declares something */
#endif
