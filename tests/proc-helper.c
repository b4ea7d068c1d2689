/* The child the 'process' suite spawns (tests/test-process.c): one small
 * program per mode, portable (no shell, no POSIX-only tools), so the same
 * tests run on Windows.  Plain C: it does not use axle.
 *
 *   proc-helper exit N        exits with status N
 *   proc-helper echo          copies stdin to stdout as it comes, until EOF
 *   proc-helper env NAME      prints NAME's value, or "<unset>"
 *   proc-helper cwd           prints the working directory
 *   proc-helper lines N       prints "line 1" .. "line N"
 *   proc-helper stderr TEXT   prints TEXT on stderr, exits 3
 *   proc-helper sleep         sleeps (at most 60 s: a failed test leaves
 *                             nothing running for long)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#  include <direct.h>
#  include <fcntl.h>
#  include <io.h>
#  include <windows.h>
#  define read_fd _read
#  define write_fd _write
#else
#  include <unistd.h>
#  define read_fd read
#  define write_fd write
#endif

static int echo(void) {
  char buf[4096];
  for (;;) {
    int n = (int)read_fd(0, buf, sizeof buf), off = 0;
    if (n <= 0) return n < 0 ? 1 : 0;
    while (off < n) {
      int w = (int)write_fd(1, buf + off, (unsigned)(n - off));
      if (w <= 0) return 1;
      off += w;
    }
  }
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
#ifdef _WIN32
  _setmode(0, _O_BINARY);
  _setmode(1, _O_BINARY);
#endif
  if (strcmp(mode, "exit") == 0 && argc > 2) return atoi(argv[2]);
  if (strcmp(mode, "echo") == 0) return echo();
  if (strcmp(mode, "env") == 0 && argc > 2) {
    const char *v = getenv(argv[2]);
    printf("%s\n", v != NULL ? v : "<unset>");
    return 0;
  }
  if (strcmp(mode, "cwd") == 0) {
    char buf[4096];
#ifdef _WIN32
    if (_getcwd(buf, (int)sizeof buf) == NULL) return 1;
#else
    if (getcwd(buf, sizeof buf) == NULL) return 1;
#endif
    printf("%s\n", buf);
    return 0;
  }
  if (strcmp(mode, "lines") == 0 && argc > 2) {
    int i, n = atoi(argv[2]);
    for (i = 1; i <= n; i++) printf("line %d\n", i);
    return 0;
  }
  if (strcmp(mode, "stderr") == 0 && argc > 2) {
    fprintf(stderr, "%s\n", argv[2]);
    return 3;
  }
  if (strcmp(mode, "sleep") == 0) {
    int i;
    for (i = 0; i < 600; i++) {
#ifdef _WIN32
      Sleep(100);
#else
      usleep(100000);
#endif
    }
    return 0;
  }
  fprintf(stderr, "usage: %s exit N | echo | env NAME | cwd | lines N | "
                  "stderr TEXT | sleep\n", argv[0]);
  return 2;
}
