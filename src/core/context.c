/* The calling thread's poll context (context.h). */
#include "core/context.h"

AX__TLS ax__ctx_t *ax__tls_ctx;
AX__TLS uint64_t ax__tls_task_id;
AX__TLS ax__tl_frame_t *ax__tls_locals;
