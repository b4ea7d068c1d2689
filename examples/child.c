/* Child processes: read a child's output line by line, then its status.
 *
 *   let mut child = Command::new(exe).arg("--child")
 *       .stdout(Stdio::piped()).spawn()?;
 *   let stdout = child.stdout.take().unwrap();
 *   let mut lines = BufReader::new(stdout).lines();
 *   while let Some(line) = lines.next_line().await? {
 *       println!("child said: {line}");
 *   }
 *   let status = child.wait().await?;
 *   println!("child exited with {status}");
 *
 * The child is this same program started with --child (uv_exepath finds
 * it), so the example needs no shell and runs the same on Windows.  Then a
 * child that fails (status 3) and a program that does not exist (an error
 * from spawn, not a status).
 */
#include <axle.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  ax_async_t co;
  char exe[4096];
  ax_command_t cmd;
  ax_child_t *child;
  ax_stream_t *out;
  ax_bufreader_t reader;
  ax_read_until_t rl;
  ax_bytes_t line;
  ax_child_wait_t wait;
  ax_child_t *failing;
  ax_child_wait_t wait2;
} app_t;

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  {
    static const char *const args[] = {"--child", NULL};
    size_t len = sizeof self->exe;
    int rc;
    if (uv_exepath(self->exe, &len) != 0) ax_panic("where am I?");
    self->cmd = AX_ZERO(ax_command_t);
    self->cmd.program = self->exe;
    self->cmd.args = args;
    self->cmd.stdio[1] = AX_CHILD_PIPED;       /* .stdout(Stdio::piped()) */
    if ((rc = ax_command_spawn(&self->cmd, &self->child)) != 0)
      ax_panic("spawn: %s", ax_strerror(rc));
  }
  puts("spawned a child");
  self->out = ax_child_take_stdout(self->child);
  ax_bufreader_init(&self->reader, self->out, 0);
  for (;;) {
    self->line.len = 0;
    AX_AWAIT(ax_read_line(&self->rl, &self->reader, &self->line));
    if (self->rl.result != 0) {
      printf("reading: %s\n", ax_strerror(self->rl.result));
      break;
    }
    if (self->rl.nread == 0) break;            /* the child closed stdout */
    while (self->line.len > 0 && (self->line.data[self->line.len - 1] == '\n' ||
                                  self->line.data[self->line.len - 1] == '\r'))
      self->line.len--;
    printf("child said: %.*s\n", (int)self->line.len, self->line.data);
  }
  AX_AWAIT(ax_child_wait(&self->wait, self->child));
  printf("child exited with status %d\n", (int)self->wait.status.code);

  /* A child that fails: its status says so, it is no error here. */
  {
    static const char *const args[] = {"--fail", NULL};
    int rc;
    self->cmd.args = args;
    self->cmd.stdio[1] = AX_CHILD_INHERIT;
    if ((rc = ax_command_spawn(&self->cmd, &self->failing)) != 0)
      ax_panic("spawn: %s", ax_strerror(rc));
  }
  AX_AWAIT(ax_child_wait(&self->wait2, self->failing));
  printf("failing child exited with status %d (success: %s)\n",
         (int)self->wait2.status.code,
         ax_exit_success(&self->wait2.status) ? "yes" : "no");

  /* A program that is not there: the error comes from spawn. */
  {
    ax_command_t missing = AX_ZERO(ax_command_t);
    ax_child_t *none = NULL;
    int rc;
    missing.program = "axle-example-no-such-program";
    rc = ax_command_spawn(&missing, &none);
    printf("spawning %s: %s\n", missing.program, ax_strerror(rc));
  }
  AX_END();
}

AX_ASYNC_DROP(app_drop, app_t, self) {
  ax_bufreader_free(&self->reader);
  ax_bytes_free(&self->line);
  ax_stream_close(self->out);
  ax_child_close(self->child);
  ax_child_close(self->failing);
}

int main(int argc, char **argv) {
  static app_t st;
  if (argc > 1 && strcmp(argv[1], "--child") == 0) {   /* the child */
    puts("hello from the child");
    puts("it writes a few lines");
    puts("and exits");
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "--fail") == 0) return 3;
  return ax_main(AX_FUTURE_DROP(app, app_drop, &st)) == 0 ? 0 : 1;
}
