/* Internal: what differs between systems in the runtime (platform.c). */
#ifndef AX_RUNTIME_PLATFORM_H
#define AX_RUNTIME_PLATFORM_H

/* Names the calling thread: visible in top -H, gdb and perf; a no-op where
 * unsupported. */
void ax__thread_set_name(const char *name);
/* Once per process, when the first runtime starts: on POSIX, SIGPIPE is
 * ignored unless the program set a handler of its own (a write to a
 * closed socket must be an UV_EPIPE, not the end of the process; Rust's
 * runtime, so Tokio, does the same). */
void ax__platform_init(void);

#endif
