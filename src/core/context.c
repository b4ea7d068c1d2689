/* The calling thread's poll context (context.h). */
#include "core/context.h"

AX__TLS ax__ctx_t *ax__tls_ctx;
