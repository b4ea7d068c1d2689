/* Internal: naming the calling thread (platform code, thread_name.c). */
#ifndef AX_RUNTIME_THREAD_NAME_H
#define AX_RUNTIME_THREAD_NAME_H

/* Visible in top -H, gdb and perf; a no-op where unsupported. */
void ax__thread_set_name(const char *name);

#endif
