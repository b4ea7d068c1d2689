/* Internal: what the I/O files share about streams (stream.c). */
#ifndef AX_IO_STREAM_H
#define AX_IO_STREAM_H

#include "axle/leaf.h"

/* The stream behind s: s itself, or the one a split half stands for. */
ax_stream_t *ax__stream_inner(ax_stream_t *s);

#endif
