/* The calling thread's panic landing (jump.h). */
#include "core/jump.h"
#include "core/tls.h"

static AX__TLS ax__jump_t *tls_jump;

ax__jump_t *ax__jump_current(void) { return tls_jump; }
void ax__jump_set(ax__jump_t *j) { tls_jump = j; }
