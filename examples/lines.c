/* Reading standard input line by line while another task runs.
 *
 *   let ticker = tokio::spawn(async {
 *       let mut every = interval(Duration::from_millis(100));
 *       loop { every.tick().await; eprintln!("(tick)"); }
 *   });
 *   let mut lines = BufReader::new(tokio::io::stdin()).lines();
 *   while let Some(line) = lines.next_line().await? {
 *       println!("{n}: {line}");
 *   }
 *   ticker.abort();
 *
 * Try it:  lines < some-file,  some-command | lines,  or just lines (type,
 * then ctrl-d; ctrl-z and Enter on Windows).  The ticker writes to stderr
 * while the program waits for input: reading stdin blocks nobody.
 *
 * usage: lines [--stdin FILE]
 * (--stdin FILE makes FILE the standard input first, for test runners that
 * cannot redirect it.)
 */
#include <axle.h>
#include <stdio.h>
#include <string.h>
#ifdef _WIN32
#  include <io.h>
#  define dup2 _dup2
#  define close _close
#else
#  include <unistd.h>
#endif

typedef struct {               /* the ticker */
  ax_async_t co;
  ax_interval_t every;
  int ticks;
} ticker_t;

AX_ASYNC(ticker, ticker_t, self) {
  AX_BEGIN(self);
  for (;;) {
    AX_AWAIT(ax_interval_tick(&self->every));
    if (self->ticks++ > 0) fprintf(stderr, "(tick %d)\n", self->ticks - 1);
  }
  AX_END();
}

AX_ASYNC_DROP(ticker_drop, ticker_t, self) { ax_drop(&self->every.base); }

typedef struct {
  ax_async_t co;
  ax_stream_t *in;
  ax_bufreader_t reader;
  ax_read_until_t rl;
  ax_bytes_t line;
  ax_join_t ticker;
  int lines;
  size_t bytes;
} app_t;

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  {
    ticker_t t;
    int rc;
    memset(&t, 0, sizeof t);
    ax_interval_init(&t.every, 100);
    ax_spawn(AX_FUTURE_DROP(ticker, ticker_drop, &t), sizeof t, &self->ticker);
    if ((rc = ax_stdin(&self->in)) != 0) {
      fprintf(stderr, "lines: stdin: %s\n", ax_strerror(rc));
      AX_RETURN();
    }
    switch (ax_stdio_kind(self->in)) {
      case AX_STDIO_TTY:
        puts("reading standard input (a terminal)");
        fprintf(stderr, "type lines; end with ctrl-d (Windows: ctrl-z)\n");
        break;
      case AX_STDIO_PIPE:
        puts("reading standard input (a pipe)");
        break;
      default:
        puts("reading standard input (a file)");
        break;
    }
    fflush(stdout);
  }
  ax_bufreader_init(&self->reader, self->in, 0);
  for (;;) {
    self->line.len = 0;
    AX_AWAIT(ax_read_line(&self->rl, &self->reader, &self->line));
    if (self->rl.result != 0) {
      fprintf(stderr, "lines: %s\n", ax_strerror(self->rl.result));
      break;
    }
    if (self->rl.nread == 0) break;          /* the end of the input */
    self->bytes += self->line.len;
    while (self->line.len > 0 && (self->line.data[self->line.len - 1] == '\n' ||
                                  self->line.data[self->line.len - 1] == '\r'))
      self->line.len--;
    printf("%d: %.*s\n", ++self->lines, (int)self->line.len, self->line.data);
    fflush(stdout);
  }
  printf("%d lines, %zu bytes\n", self->lines, self->bytes);
  ax_abort(&self->ticker);                    /* ticker.abort() */
  AX_AWAIT(ax_join_wait(&self->ticker));      /* AX_ECANCELED: as asked */
  AX_END();
}

AX_ASYNC_DROP(app_drop, app_t, self) {
  ax_join_drop(&self->ticker);
  ax_bufreader_free(&self->reader);
  ax_bytes_free(&self->line);
  ax_stream_close(self->in);
}

int main(int argc, char **argv) {
  static app_t st;
  if (argc == 3 && strcmp(argv[1], "--stdin") == 0) {
    uv_fs_t req;
    int fd = uv_fs_open(NULL, &req, argv[2], UV_FS_O_RDONLY, 0, NULL);
    uv_fs_req_cleanup(&req);
    if (fd < 0 || dup2(fd, 0) == -1) {
      fprintf(stderr, "lines: %s: %s\n", argv[2],
              ax_strerror(fd < 0 ? fd : UV_EBADF));
      return 1;
    }
    close(fd);
  } else if (argc != 1) {
    fprintf(stderr, "usage: %s [--stdin FILE]\n", argv[0]);
    return 2;
  }
  return ax_main(AX_FUTURE_DROP(app, app_drop, &st)) == 0 ? 0 : 1;
}
