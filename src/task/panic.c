/* ax_panic: format the message and unwind to the poll boundary. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axle/task.h"
#include "core/alloc.h"
#include "core/jump.h"

static _Noreturn void panic_v(const char *file, int line, const char *fmt,
                              va_list ap) {
  ax__jump_t *j = ax__jump_current();
  char head[256], *msg;
  int n, h = 0;
  va_list ap2;

  assert(fmt != NULL);
  if (file != NULL) h = snprintf(head, sizeof(head), "%s:%d: ", file, line);
  if (h < 0 || (size_t)h >= sizeof(head)) h = 0;
  va_copy(ap2, ap);
  n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) n = 0;
  msg = ax__malloc((size_t)h + (size_t)n + 1);
  if (msg != NULL) {
    if (h > 0) memcpy(msg, head, (size_t)h);
    vsnprintf(msg + h, (size_t)n + 1, fmt, ap);
  }
  if (j == NULL || !j->armed) {
    fprintf(stderr, "axle: panic outside a task: %s\n",
            msg ? msg : "(out of memory)");
    abort();
  }
  j->msg = msg;
  longjmp(j->jb, 1);
}

void ax_panic(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  panic_v(NULL, 0, fmt, ap);
}

void ax__panic_at(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  panic_v(file, line, fmt, ap);
}
