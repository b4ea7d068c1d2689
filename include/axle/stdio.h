/* axle — standard input, output and error as async streams.
 *
 *   Tokio                                      axle
 *   let stdin = tokio::io::stdin();            ax_stdin(&in)
 *   BufReader::new(stdin).lines()              ax_bufreader_init(&r, in, 0); ax_read_line(...)
 *   tokio::io::stdout().write_all(b).await     ax_stdout(&out); AX_AWAIT(ax_write_all(&s->w, out, b, n))
 *   tokio::io::stderr()                        ax_stderr(&err)
 *   drop(stdin)                                ax_stream_close(in)
 *
 * Each is an ax_stream_t (<axle/io.h>): read, write_all, the buffered
 * reader and the rest work on it, while other tasks run.  What the stream
 * is made of depends on what the descriptor is (uv_guess_handle):
 *   - a terminal: a uv_tty_t (libuv reopens the terminal for it, so this
 *     process's non-blocking mode does not reach the shell's);
 *   - a pipe or socket (`prog | other`, `a | prog`): a uv_pipe_t;
 *   - anything else, most often a regular file (`prog < file`,
 *     `prog > log`), which libuv cannot stream: reads and writes are
 *     libuv fs requests (uv_fs_read / uv_fs_write at the current file
 *     position) run on libuv's threadpool, one at a time per direction.
 *     A read takes what one read(2) returns; a write of many bytes goes
 *     out 64 KiB per request.  The end of a file is reported each time a
 *     read finds it (a file that grows can be read on).  A device that
 *     blocks reads (a non-terminal character device) holds a pool thread
 *     until it delivers, and runtime shutdown waits for that read.
 *
 * One stream per descriptor at a time: a second ax_stdin() while a stdin
 * stream is open (not yet closed by its owner) fails with AX_EBUSY, from
 * any runtime; share the one stream (or split it, or read it in one task
 * and pass lines on a channel).  After ax_stream_close a new call makes a
 * fresh stream: what the closed one had read ahead and not handed out (at
 * most AX_STREAM_BUFFER bytes, plus whatever a buffered reader held) went
 * with it.  Closing never closes descriptors 0, 1 and 2 themselves: plain
 * read(), printf() and a new stream keep working.
 *
 * Closing (or the runtime's shutdown, if the owner never closed it)
 * restores what the stream changed: a terminal's mode (uv_tty_reset_mode,
 * when ax_tty_set_mode was used) and, on POSIX, the descriptor's blocking
 * mode (libuv makes a pipe non-blocking, which other processes sharing it
 * would otherwise see; when stdout and stderr are the same pipe, once
 * neither has a stream open).  While a pipe stream is open its descriptor
 * is non-blocking for this whole process: a plain read() or printf() on
 * it may fail with EAGAIN.  A program that leaves without closing (exit()
 * from a task, a fatal signal) should call uv_tty_reset_mode() itself if
 * it made the terminal raw.  The owner closes the stream even after its
 * runtime shut down: that frees it, and the descriptor for a new stream.
 *
 * C's stdio buffers are separate: fflush(stdout) before writing to the
 * stdout stream when the program also uses printf, or the two interleave
 * in the wrong order.
 *
 * Where it lives: the calling thread's home, like every I/O object
 * (<axle/leaf.h>); on block_on's thread of a multi-thread runtime the
 * handle is made on that worker while the call waits for it.
 *
 * POSIX: the first pipe stream makes SIGPIPE ignored if it had its default
 * action (see <axle/process.h>): writing to `prog | head` after head has
 * exited fails with UV_EPIPE instead of killing the process.
 */
#ifndef AXLE_STDIO_H
#define AXLE_STDIO_H

#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A stream for descriptor 0, 1 or 2 of this process, on the calling
 * thread's home: 0 and *out (yours: ax_stream_close), or AX_ENORUNTIME
 * (outside a runtime), AX_EBUSY (that descriptor's stream is open), an
 * error from libuv opening it, AX_ENOMEM.  A closed or invalid descriptor
 * gives a stream whose reads and writes fail with UV_EBADF. */
AX_EXTERN int ax_stdin(ax_stream_t **out);
AX_EXTERN int ax_stdout(ax_stream_t **out);
AX_EXTERN int ax_stderr(ax_stream_t **out);

/* What a stdio stream is made of (see above). */
typedef enum {
  AX_STDIO_TTY = 1,          /* a terminal (uv_tty_t) */
  AX_STDIO_PIPE,             /* a pipe or socket (uv_pipe_t) */
  AX_STDIO_FILE              /* anything else: fs requests */
} ax_stdio_kind_t;
/* s's kind, or AX_EINVAL when s is not a stdio stream. */
AX_EXTERN int ax_stdio_kind(ax_stream_t *s);

/* A terminal's mode (uv_tty_mode_t). */
typedef enum {
  AX_TTY_NORMAL = 0,         /* line editing and echo (the initial mode) */
  AX_TTY_RAW = 1,            /* every key as it is typed, no echo */
  AX_TTY_IO = 2              /* binary-safe I/O (POSIX only) */
} ax_tty_mode_t;
/* Sets the terminal behind a stdio stream to `mode`; closing the stream
 * restores the mode the terminal had.  0, AX_EINVAL when s is not a
 * terminal stream, or libuv's error; from a thread other than the
 * stream's home it is handed to the home and 0 means "queued". */
AX_EXTERN int ax_tty_set_mode(ax_stream_t *s, ax_tty_mode_t mode);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_STDIO_H */
