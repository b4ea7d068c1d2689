/* axle — child processes and signals.
 *
 *   Tokio                                        axle
 *   Command::new("ls").arg("-l")                 ax_command_t cmd = AX_ZERO(ax_command_t);
 *                                                cmd.program = "ls"; cmd.args = argv_rest;
 *   .env("K", "v") / .env_remove("K")            cmd.env = (const char *[]){"K=v", "OLD", NULL}
 *   .env_clear() / .current_dir(d)               cmd.env_clear = 1 / cmd.cwd = d
 *   .stdout(Stdio::piped())                      cmd.stdio[1] = AX_CHILD_PIPED
 *   .kill_on_drop(true)                          cmd.kill_on_drop = 1
 *   let mut child = cmd.spawn()?                 ax_command_spawn(&cmd, &child)
 *   child.stdout.take()                          ax_child_take_stdout(child)
 *   child.id()                                   ax_child_pid(child)
 *   child.wait().await                           AX_AWAIT(ax_child_wait(&s->w, child)); s->w.status
 *   child.try_wait()                             ax_child_try_wait(child, &exited, &status)
 *   child.start_kill() / kill via signal         ax_child_kill(child, SIGKILL) / (child, SIGTERM)
 *   drop(child)                                  ax_child_close(child)
 *   signal::ctrl_c().await                       AX_AWAIT(ax_ctrl_c(&s->cc))
 *   signal(SignalKind::hangup())?                ax_signal_open(SIGHUP, &sig)
 *   sig.recv().await                             AX_AWAIT(ax_signal_recv(&s->r, sig))
 *   drop(sig)                                    ax_signal_close(sig)
 *
 * Where things live.  A child process and a signal listener are libuv
 * handles (uv_process_t, uv_signal_t) on the home of the thread that made
 * them (<axle/leaf.h>: a worker's loop; on block_on's thread of a
 * multi-thread runtime, a worker's).  The calls that make them
 * (ax_command_spawn, ax_signal_open, the first poll of ax_ctrl_c) are done
 * when they return: on a worker at once, and on block_on's thread of a
 * multi-thread runtime by handing the work to that worker and waiting for
 * it (microseconds, unless that worker is inside a long poll).  Everything
 * else may be called from any thread; futures complete when the home's
 * callback wakes them, and the task then runs on the home worker.
 *
 * Every future here may be dropped in any state: a dropped wait or recv
 * loses nothing (an exit status or a delivery stays for the next one).
 *
 * SIGPIPE (POSIX).  The first piped child (like the first local socket or
 * stdio stream, <axle/net.h>, <axle/stdio.h>) makes SIGPIPE ignored if it
 * had its default action, as every Rust program does from the start: a
 * write to a pipe whose reader is gone then fails with UV_EPIPE instead of
 * killing this process.  Children start with every signal at its default
 * action (libuv resets them), SIGPIPE included.
 */
#ifndef AXLE_PROCESS_H
#define AXLE_PROCESS_H

#include <signal.h>

#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Signals =============================================================
 *
 * A signal listener (Tokio's Signal) is opened for one signal number and
 * delivers a stream of "it happened": each recv completes once per
 * delivery.  Deliveries coalesce as Tokio's do: any number of deliveries
 * between two recvs count as one, and one delivered while no recv waits is
 * kept for the next recv (which then completes at once).  Deliveries
 * before the listener was opened are not seen.  Every open listener of a
 * signal sees every delivery, in this process and across runtimes.
 *
 * While a listener (or an ax_ctrl_c being awaited) is open for a signal,
 * the signal no longer has its default action: SIGINT no longer ends the
 * process, it is delivered instead.  When the last one closes, libuv
 * restores the default action, so a second ctrl-c after a graceful
 * shutdown began (and its ax_ctrl_c completed) ends the process.  (Tokio
 * keeps its handler installed for good: there, later ctrl-c's are
 * swallowed.)
 *
 * Windows: libuv emulates SIGINT (ctrl-c), SIGBREAK (ctrl-break), SIGHUP
 * (the console closes) and SIGWINCH (the console is resized); other signal
 * numbers can be opened and are never delivered.
 */
typedef struct ax_signal_s ax_signal_t;

/* Opens a listener for signum (SIGINT, SIGTERM, SIGHUP, SIGUSR1, ...) on
 * the calling thread's home.  When it returns 0, *out (yours: close it
 * with ax_signal_close) sees every later delivery.  Errors: AX_ENORUNTIME
 * outside a runtime, UV_EINVAL (SIGKILL, SIGSTOP, not a signal),
 * AX_ENOMEM. */
AX_EXTERN int ax_signal_open(int signum, ax_signal_t **out);
/* The signal number it listens for. */
AX_EXTERN int ax_signal_signum(const ax_signal_t *s);
/* Closes the listener: no recv may be in flight on it.  Any thread; NULL
 * is ignored.  A listener still open when its runtime shuts down is
 * closed by it (the owner's later ax_signal_close only frees it). */
AX_EXTERN void ax_signal_close(ax_signal_t *s);

/* The next delivery: result 0 once the signal was delivered since the
 * previous recv (or since the open), AX_ECLOSED when the listener's
 * runtime has shut down.  One recv at a time per listener (open one
 * listener per task that listens). */
typedef struct ax_signal_recv_s {
  ax_future_t base;          /* the future */
  ax_signal_t *s;            /* private: borrowed */
  int phase;                 /* private */
  int result;                /* read-only once ready */
} ax_signal_recv_t;
AX_EXTERN ax_future_t *ax_signal_recv(ax_signal_recv_t *f, ax_signal_t *s);

/* Completes at the next SIGINT (ctrl-c; on Windows CTRL_C_EVENT) after
 * its first poll, which opens a SIGINT listener (so from the first poll
 * on, ctrl-c no longer ends the process); the listener closes when the
 * future is dropped.  result 0, or an error from ax_signal_open. */
typedef struct ax_ctrl_c_s {
  ax_future_t base;          /* the future */
  ax_signal_t *sig;          /* private: owned until dropped */
  ax_signal_recv_t recv;     /* private */
  int phase;                 /* private */
  int result;                /* read-only once ready */
} ax_ctrl_c_t;
AX_EXTERN ax_future_t *ax_ctrl_c(ax_ctrl_c_t *f);

/* ==== Child processes ===================================================== */

/* What a child's stdin, stdout or stderr is (Tokio's Stdio). */
typedef enum {
  AX_CHILD_INHERIT = 0,      /* this process's own descriptor (default) */
  AX_CHILD_NULL,             /* the null device (/dev/null, NUL) */
  AX_CHILD_PIPED             /* a pipe: its parent end is an ax_stream_t
                                (ax_child_take_stdin/stdout/stderr) */
} ax_child_stdio_t;

/* What to run (Tokio's Command).  Zero it (AX_ZERO(ax_command_t)) and set
 * what you need; every pointer is borrowed only during ax_command_spawn. */
typedef struct ax_command_s {
  const char *program;       /* required: a path, or a name looked up in
                                the child's PATH */
  const char *const *args;   /* its arguments (argv[1..]), NULL-terminated;
                                NULL: none.  argv[0] is `program`. */
  const char *const *env;    /* changes to the environment, NULL-terminated:
                                "NAME=value" sets NAME, "NAME" (no '=')
                                removes it; later entries win.  NULL: none.
                                (Names compare case-insensitively on
                                Windows, as the system does.) */
  int env_clear;             /* 1: start from an empty environment instead
                                of this process's (then only `env`) */
  const char *cwd;           /* working directory; NULL: this process's */
  ax_child_stdio_t stdio[3]; /* [0] stdin, [1] stdout, [2] stderr */
  int kill_on_drop;          /* 1: ax_child_close (or the runtime's
                                shutdown) of a child still running sends
                                it SIGKILL (Tokio's kill_on_drop) */
} ax_command_t;

typedef struct ax_child_s ax_child_t;

/* Starts cmd's program on the calling thread's home.  0 and *out (yours:
 * ax_child_close), or an error: AX_ENORUNTIME outside a runtime, UV_EINVAL
 * (no program, a bad stdio value, an env entry starting with '='),
 * UV_ENOENT (no such program, or no such cwd), UV_EACCES (not
 * executable), AX_ENOMEM...  A child that starts and then fails is not an
 * error here: its exit status says so.  POSIX: the home's thread is busy
 * for the fork and exec (libuv returns once exec has happened, so that a
 * missing program is reported here), as in every libuv program. */
AX_EXTERN int ax_command_spawn(const ax_command_t *cmd, ax_child_t **out);

/* The parent's end of a piped stdin / stdout / stderr, handed over to the
 * caller (yours: ax_stream_close), or NULL when it was not AX_CHILD_PIPED
 * or was taken already (Tokio's child.stdout.take()).  The child reads
 * the end of its stdin when that stream is shut down or closed.  Pipes
 * not taken are closed by ax_child_close.  The owner's thread only (no
 * lock: like the handle, the owner's). */
AX_EXTERN ax_stream_t *ax_child_take_stdin(ax_child_t *c);
AX_EXTERN ax_stream_t *ax_child_take_stdout(ax_child_t *c);
AX_EXTERN ax_stream_t *ax_child_take_stderr(ax_child_t *c);

/* Its process id (the operating system's). */
AX_EXTERN int ax_child_pid(const ax_child_t *c);

/* How a child ended. */
typedef struct ax_exit_status_s {
  int64_t code;              /* its exit code; POSIX: 0 when a signal
                                ended it */
  int signal;                /* the signal that ended it, or 0 */
} ax_exit_status_t;
/* 1 when it exited with code 0 and no signal (Tokio's success()). */
static inline int ax_exit_success(const ax_exit_status_t *s) {
  return s->code == 0 && s->signal == 0;
}

/* Sends signum to the child unless it has already exited (then nothing
 * is sent and 0 is returned, so a pid reused by another process is never
 * signalled).  Tokio's start_kill() is ax_child_kill(c, SIGKILL); await
 * ax_child_wait to know it has ended.  Any thread: on the child's home the
 * signal is sent at once (0 or an error: UV_EINVAL for a bad number,
 * UV_ENOSYS on Windows for anything but SIGTERM, SIGKILL, SIGINT and 0);
 * from another thread it is handed to the home and 0 means "queued".
 * AX_ECLOSED after its runtime shut down. */
AX_EXTERN int ax_child_kill(ax_child_t *c, int signum);

/* Waits for the child to end: result 0 and `status`, or AX_ECLOSED when
 * its runtime shut down first.  A child that exits non-zero or is killed
 * is not an error: status says so.  Once it has ended every wait completes
 * at once with the same status.  One wait at a time per child (a second
 * concurrent one completes with AX_EBUSY). */
typedef struct ax_child_wait_s {
  ax_future_t base;          /* the future */
  ax_child_t *c;             /* private: borrowed */
  int phase;                 /* private */
  int result;                /* read-only once ready */
  ax_exit_status_t status;   /* read-only once ready (result 0) */
} ax_child_wait_t;
AX_EXTERN ax_future_t *ax_child_wait(ax_child_wait_t *f, ax_child_t *c);

/* Without waiting: 0 with *exited = 1 and *status when the child has
 * ended, else *exited = 0 (status may be NULL).  Any thread. */
AX_EXTERN int ax_child_try_wait(ax_child_t *c, int *exited,
                                ax_exit_status_t *status);

/* Releases the caller's handle (Tokio's drop(child)): closes the pipes
 * not taken, and if the child still runs, sends it SIGKILL when the
 * command said kill_on_drop; otherwise it keeps running.  Either way axle
 * reaps it when it ends (no zombie is left while its runtime runs; a child
 * still running when its runtime shuts down is reaped by the next child
 * that ends in this process, as Tokio's orphan queue does).  No future may
 * use c any more.  Any thread; NULL is ignored. */
AX_EXTERN void ax_child_close(ax_child_t *c);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_PROCESS_H */
