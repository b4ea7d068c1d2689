/* A small cat: prints the files named on the command line, in order.
 *
 *   let mut file = File::open(path).await?;     AX_AWAIT(ax_fs_open(&self->open, path, AX_FS_READ, 0))
 *   loop {
 *       let n = file.read(&mut buf).await?;     AX_AWAIT(ax_file_read(&self->rd, file, buf, sizeof buf))
 *       if n == 0 { break; }
 *       stdout.write_all(&buf[..n]).await?;     fwrite(buf, 1, n, stdout)  (see below)
 *   }
 *
 * Each file is read on libuv's threadpool, 64 KiB at a time with one read
 * in flight, so memory stays flat whatever the size of the file.  A file
 * that cannot be opened or read is reported on stderr, as cat does, and
 * the others are still printed; the exit status is then 1.
 *
 * Standard output is written with fwrite: axle has no stdout stream yet.
 * fwrite blocks the worker while a slow pipe drains; with a stdout stream,
 * ax_write_all on it takes the fwrite's place and the worker stays free.
 */
#include <axle.h>
#include <stdio.h>

typedef struct {
  ax_async_t co;
  int argc;
  char **argv;
  int i;                       /* the file being printed */
  ax_fs_open_t open;
  ax_file_read_t rd;
  ax_file_t *file;
  int failed;                  /* a file could not be printed */
  char buf[65536];
} cat_t;

AX_ASYNC(cat, cat_t, self) {
  AX_BEGIN(self);
  for (self->i = 1; self->i < self->argc; self->i++) {
    AX_AWAIT(ax_fs_open(&self->open, self->argv[self->i], AX_FS_READ, 0));
    if (self->open.result != 0) {
      fprintf(stderr, "cat: %s: %s\n", self->argv[self->i],
              ax_strerror(self->open.result));
      self->failed = 1;
      continue;
    }
    self->file = self->open.file;
    for (;;) {
      AX_AWAIT(ax_file_read(&self->rd, self->file, self->buf,
                            sizeof(self->buf)));
      if (self->rd.result != 0 || self->rd.nread == 0) break;
      if (fwrite(self->buf, 1, self->rd.nread, stdout) != self->rd.nread)
        break;
    }
    if (self->rd.result != 0) {
      fprintf(stderr, "cat: %s: %s\n", self->argv[self->i],
              ax_strerror(self->rd.result));
      self->failed = 1;
    }
    ax_file_close(self->file);
  }
  if (fflush(stdout) != 0) self->failed = 1;
  AX_END();
}

int main(int argc, char **argv) {
  static cat_t state;          /* 64 KiB of buffer: not on the stack */
  if (argc < 2) {
    fprintf(stderr, "usage: cat FILE...\n");
    return 2;
  }
  state.argc = argc;
  state.argv = argv;
  if (ax_main(AX_FUTURE(cat, &state)) != 0) return 1;
  return state.failed ? 1 : 0;
}
