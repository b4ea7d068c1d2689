/* axle — files and directories (Tokio's tokio::fs), on libuv's fs requests.
 *
 *   Tokio                                        axle
 *   fs::read(path).await                         AX_AWAIT(ax_fs_read_file(&s->op, path, &s->bytes))
 *   fs::read_to_string(path).await               the same: s->bytes.data is NUL-terminated
 *   fs::write(path, data).await                  AX_AWAIT(ax_fs_write_file(&s->op, path, data, len))
 *   OpenOptions::new().read(true).open(p).await  AX_AWAIT(ax_fs_open(&s->open, p, AX_FS_READ, 0))
 *   File::create(p).await                        ax_fs_open(&s->open, p, AX_FS_WRITE | AX_FS_CREATE | AX_FS_TRUNCATE, 0)
 *   file.read(&mut buf).await                    AX_AWAIT(ax_file_read(&s->rd, file, buf, sizeof buf))
 *   file.read_at(&mut buf, off) (std FileExt)    AX_AWAIT(ax_file_read_at(&s->rd, file, buf, n, off))
 *   file.write_all(&buf).await                   AX_AWAIT(ax_file_write_all(&s->wr, file, buf, n))
 *   file.sync_all().await / sync_data()          AX_AWAIT(ax_file_sync_all(&s->op, file))
 *   file.set_len(n).await                        AX_AWAIT(ax_file_set_len(&s->op, file, n))
 *   drop(file)                                   ax_file_close(file)
 *   fs::metadata(p).await / symlink_metadata     AX_AWAIT(ax_fs_metadata(&s->md, p)), s->md.metadata
 *   fs::try_exists(p).await                      AX_AWAIT(ax_fs_exists(&s->ex, p)), s->ex.exists
 *   fs::read_dir(p) (all entries at once)        AX_AWAIT(ax_fs_read_dir(&s->op, p, &s->dir))
 *   fs::create_dir_all(p).await                  AX_AWAIT(ax_fs_create_dir_all(&s->op, p))
 *   fs::copy(from, to).await                     AX_AWAIT(ax_fs_copy(&s->op, from, to))
 *   fs::rename / remove_file / remove_dir / remove_dir_all / create_dir / hard_link /
 *   symlink / read_link / canonicalize / set_permissions: ax_fs_<the same name>
 *   (no Tokio counterpart) mkstemp, mkdtemp      ax_fs_temp_file, ax_fs_temp_dir
 *
 * Every operation is a future in axle's conventions: a struct the caller
 * owns, filled in by its constructor (which starts nothing), its result in
 * the read-only `result` field (0 or a negative libuv code: UV_ENOENT,
 * UV_EACCES, UV_EEXIST, UV_ENOTDIR, UV_EISDIR, UV_ENOTEMPTY, UV_ENOSPC...,
 * through ax_strerror), its other outputs in named read-only fields or in
 * a buffer the caller passes (ax_bytes_t from <axle/io.h>, ax_dir_t).
 * Outputs are written when the future completes with result 0; on an
 * error they are left as they were.
 *
 * Where the work happens.  libuv runs file-system calls on its threadpool:
 * the first poll hands the operation to the polling thread's home loop
 * (<axle/leaf.h>), which queues it on the pool; the pool thread that ran it
 * wakes the task.  A whole-file operation (read_file, write_file,
 * create_dir_all, remove_dir_all) is one trip to the pool, not one per
 * system call.  Polled outside a runtime, a future completes at once with
 * AX_ENORUNTIME.
 *
 * The pool is shared.  libuv has ONE threadpool per process (4 threads
 * unless UV_THREADPOOL_SIZE or the builder's max_blocking_threads says
 * otherwise), and ax_spawn_blocking jobs, DNS lookups and these file
 * operations all run on it: a pool busy with long blocking jobs delays
 * every file operation (they wait in the same queue), and many slow file
 * operations (a network file system, a spun-down disk) delay blocking
 * jobs.  Size the pool for both (<axle/blocking.h>).
 *
 * Cancellation.  Every future here may be dropped in any state:
 *   - an operation whose turn on the pool has not come yet never runs;
 *   - one that has started runs to its end and its result is discarded:
 *     a file it opened is closed, a temporary file or directory it made is
 *     removed, a read's bytes are thrown away (the position of the file
 *     has moved past them: use ax_file_read_at for reads you may cancel),
 *     a write may have reached the file in full or in part;
 *   - a read never writes into the caller's buffer after the drop (it
 *     reads into memory of its own, copied out when the future completes)
 *     and a write never reads the caller's buffer after its first poll
 *     (it is copied then): the caller may free them once the future is
 *     dropped;
 *   - memory is freed when the last party (the future or the pool) is
 *     done, also when a runtime shuts down with operations in flight (the
 *     shutdown waits for operations already running on the pool).
 *
 * Ownership, for every function below:
 *   - the future struct is the caller's (usually a field of an async
 *     function's state); once polled it must not move until it is ready
 *     or dropped.  A future that completed holds nothing: ax_drop on it is
 *     a no-op, and a constructor may fill it in again without one;
 *   - paths (`path`, `from`, `to`, `tmpl`...) are borrowed until the first
 *     poll, which copies them: the caller may free them after it;
 *   - a write's `buf` is borrowed until the first poll (copied then);
 *   - a read's `buf` and every output buffer (ax_bytes_t *, ax_dir_t *) are
 *     borrowed until the future is ready or dropped; they are written only
 *     by the poll that completes the future, on the polling thread.  An
 *     output buffer must hold a valid value when passed (an empty one, from
 *     ax_bytes_init / ax_dir_init / AX_ZERO, or an earlier result): its
 *     old content is freed when the new one replaces it;
 *   - an ax_file_t is the caller's from the open that made it until
 *     ax_file_close; futures borrow it until they are ready or dropped, so
 *     drop (or finish) them before closing it;
 *   - what the outputs hold (bytes, listings, files) is the caller's:
 *     ax_bytes_free, ax_dir_free, ax_file_close.
 * A future may be polled on any worker and dropped on any thread.  Drop
 * pending futures before freeing their runtime (a task's future is
 * dropped by the runtime's shutdown for you).
 *
 * Windows: the same calls work through libuv; permission bits other than
 * the owner's write bit mean nothing there (readonly is what counts),
 * symlinks need a privilege most accounts lack (UV_EPERM), and a file that
 * is open cannot always be removed or renamed over.
 */
#ifndef AXLE_FS_H
#define AXLE_FS_H

#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An open file: a handle the caller owns (Tokio's File). */
typedef struct ax_file_s ax_file_t;

/* Private: the inputs every fs future holds and the operation in flight.
 * Never read or write these fields. */
typedef struct ax__fs_args_s {
  struct ax__fs_op_s *op;   /* the operation handed to the pool, or NULL */
  const char *path;         /* borrowed until the first poll */
  const char *path2;        /* the second path (rename, copy, links) */
  ax_file_t *file;          /* borrowed until ready or dropped */
  void *buf;                /* read: the caller's buffer; write: its data */
  void *out;                /* ax_bytes_t * or ax_dir_t * to fill */
  size_t len;               /* bytes in buf */
  uint64_t num;             /* an offset, a length or a mode */
  int flags;                /* open flags */
  int kind;                 /* which operation */
  int phase;                /* where the future is */
} ax__fs_args_t;

/* ---- Futures ------------------------------------------------------------------
 *
 * The future of every operation whose only output is its result (or an
 * output buffer the caller passed): read_file, write_file, read_dir,
 * create_dir[_all], remove_*, rename, copy, links, permissions, sync,
 * set_len, temp_dir, canonicalize, read_link. */
typedef struct ax_fs_s {
  ax_future_t base;         /* the future */
  ax__fs_args_t ax__fs;     /* private */
  int result;               /* read-only once ready: 0 or an error */
} ax_fs_t;

/* ax_fs_open and ax_fs_temp_file: the file they opened. */
typedef struct ax_fs_open_s {
  ax_future_t base;         /* the future */
  ax__fs_args_t ax__fs;     /* private */
  int result;               /* read-only once ready: 0 or an error */
  ax_file_t *file;          /* read-only once ready: yours (ax_file_close);
                               NULL on an error */
} ax_fs_open_t;

/* ax_file_read / ax_file_read_at. */
typedef struct ax_file_read_s {
  ax_future_t base;         /* the future */
  ax__fs_args_t ax__fs;     /* private */
  int result;               /* read-only once ready: 0 or an error */
  size_t nread;             /* read-only once ready: bytes put in buf (0:
                               the end of the file) */
} ax_file_read_t;

/* ax_file_write_all / ax_file_write_all_at. */
typedef struct ax_file_write_s {
  ax_future_t base;         /* the future */
  ax__fs_args_t ax__fs;     /* private */
  int result;               /* read-only once ready: 0 or an error */
  size_t nwritten;          /* read-only once ready: bytes written (all of
                               them when result is 0) */
} ax_file_write_t;

/* What a path is (Tokio's FileType).  Symlinks are reported as such only
 * where links are not followed (symlink_metadata, read_dir). */
typedef enum ax_file_type_e {
  AX_FILE_TYPE_OTHER = 0,   /* a device, a FIFO, a socket... */
  AX_FILE_TYPE_FILE = 1,    /* a regular file */
  AX_FILE_TYPE_DIR = 2,     /* a directory */
  AX_FILE_TYPE_SYMLINK = 3  /* a symbolic link */
} ax_file_type_t;

/* A point in time: seconds and nanoseconds since the Unix epoch (UTC). */
typedef struct ax_fs_time_s {
  int64_t sec;
  int32_t nsec;             /* 0 to 999999999 */
} ax_fs_time_t;

/* A file's metadata (Tokio's Metadata). */
typedef struct ax_metadata_s {
  ax_file_type_t type;      /* file, directory, symlink or other */
  uint64_t size;            /* bytes (a symlink: the length of its target) */
  unsigned mode;            /* permission bits, st_mode & 07777 (0644...) */
  int readonly;             /* 1 when no write bit is set (Tokio's
                               permissions().readonly()) */
  ax_fs_time_t modified;    /* last modification */
  ax_fs_time_t accessed;    /* last access (as the file system keeps it) */
  ax_fs_time_t created;     /* creation; {0, 0} where the system has none */
} ax_metadata_t;

/* ax_fs_metadata, ax_fs_symlink_metadata, ax_file_metadata. */
typedef struct ax_fs_metadata_s {
  ax_future_t base;         /* the future */
  ax__fs_args_t ax__fs;     /* private */
  int result;               /* read-only once ready: 0 or an error */
  ax_metadata_t metadata;   /* read-only once ready (result 0) */
} ax_fs_metadata_t;

/* ax_fs_exists. */
typedef struct ax_fs_exists_s {
  ax_future_t base;         /* the future */
  ax__fs_args_t ax__fs;     /* private */
  int result;               /* read-only once ready: 0 or an error */
  int exists;               /* read-only once ready: 1 or 0 */
} ax_fs_exists_t;

/* ---- Whole files ------------------------------------------------------------ */

/* Reads the whole file at path into *out (Tokio's fs::read and
 * read_to_string): out->len bytes, followed by a '\0' that len does not
 * count, so out->data is also a C string (when the file holds no NUL).
 * What *out held before is replaced (its memory freed; free the new one
 * with ax_bytes_free).  UV_ENOENT, UV_EISDIR, UV_EACCES, AX_ENOMEM... leave
 * *out as it was. */
AX_EXTERN ax_future_t *ax_fs_read_file(ax_fs_t *f, const char *path,
                                       ax_bytes_t *out);

/* Writes len bytes from buf as the whole content of the file at path
 * (Tokio's fs::write): created (mode 0666 less the umask) or truncated.
 * buf is copied at the first poll. */
AX_EXTERN ax_future_t *ax_fs_write_file(ax_fs_t *f, const char *path,
                                        const void *buf, size_t len);

/* ---- Open files --------------------------------------------------------------- */

/* ax_fs_open's flags (Tokio's OpenOptions), or'ed together. */
#define AX_FS_READ        0x01  /* open for reading */
#define AX_FS_WRITE       0x02  /* open for writing */
#define AX_FS_APPEND      0x04  /* writing, every write at the end */
#define AX_FS_TRUNCATE    0x08  /* empty it (needs WRITE, not APPEND) */
#define AX_FS_CREATE      0x10  /* create it if missing (needs WRITE or
                                   APPEND) */
#define AX_FS_CREATE_NEW  0x20  /* create it, UV_EEXIST if it exists (needs
                                   WRITE or APPEND; CREATE and TRUNCATE are
                                   then ignored) */

/* Opens path with flags (as Tokio's OpenOptions checks them: none of READ,
 * WRITE, APPEND or a flag combination Tokio refuses is AX_EINVAL).  mode:
 * the permission bits of a file it creates (less the umask); 0 means
 * 0666.  result 0 and file (yours: ax_file_close), or an error. */
AX_EXTERN ax_future_t *ax_fs_open(ax_fs_open_t *f, const char *path,
                                  int flags, unsigned mode);

/* Releases the caller's handle (any thread; NULL is ignored).  It does not
 * wait: the descriptor is closed on libuv's pool once no operation uses it
 * any more (a dropped read or write still running keeps it open until it
 * ends), or at once on the calling thread outside any runtime.  Close
 * errors are not reported (Tokio's drop(File) does the same): call
 * ax_file_sync_all first when you need to know the data reached the disk.
 * No future may use file after this call (drop pending ones first). */
AX_EXTERN void ax_file_close(ax_file_t *file);

/* Reads up to len bytes at the file's current position, which moves past
 * them (read(2)): nread 0 at the end of the file.  Works on anything
 * open() opens, FIFOs and devices included.  buf: see "Ownership".
 * Operations at the current position (read, write_all, sync_all,
 * sync_data, set_len) run one at a time per file, in the order they were
 * polled; a second one while one is pending completes at once with
 * AX_EBUSY.  One that was dropped while it ran is waited for first. */
AX_EXTERN ax_future_t *ax_file_read(ax_file_read_t *f, ax_file_t *file,
                                    void *buf, size_t len);
/* Reads up to len bytes at offset (pread(2)); the current position does
 * not move.  Any number may run at once.  Files only (not FIFOs). */
AX_EXTERN ax_future_t *ax_file_read_at(ax_file_read_t *f, ax_file_t *file,
                                       void *buf, size_t len,
                                       uint64_t offset);

/* Writes all len bytes at the current position (at the end of a file
 * opened with AX_FS_APPEND), looping over short writes; nwritten says how
 * many were written before an error.  buf is copied at the first poll.
 * When it completes the bytes are the operating system's (other readers
 * see them); ax_file_sync_all puts them on the disk.  There is no flush:
 * axle's file writes are not buffered. */
AX_EXTERN ax_future_t *ax_file_write_all(ax_file_write_t *f, ax_file_t *file,
                                         const void *buf, size_t len);
/* Writes all len bytes at offset (pwrite(2)); the position does not move.
 * Any number may run at once.  (On a file opened with AX_FS_APPEND, Linux
 * writes at the end whatever the offset.) */
AX_EXTERN ax_future_t *ax_file_write_all_at(ax_file_write_t *f,
                                            ax_file_t *file, const void *buf,
                                            size_t len, uint64_t offset);

/* fsync: data and metadata reach the disk (Tokio's sync_all). */
AX_EXTERN ax_future_t *ax_file_sync_all(ax_fs_t *f, ax_file_t *file);
/* fdatasync: the data reaches the disk (Tokio's sync_data). */
AX_EXTERN ax_future_t *ax_file_sync_data(ax_fs_t *f, ax_file_t *file);
/* Truncates or extends (with zeros) the file to len bytes (ftruncate;
 * Tokio's set_len); the position does not move.  Needs write access. */
AX_EXTERN ax_future_t *ax_file_set_len(ax_fs_t *f, ax_file_t *file,
                                       uint64_t len);
/* The open file's metadata (fstat; Tokio's File::metadata). */
AX_EXTERN ax_future_t *ax_file_metadata(ax_fs_metadata_t *f, ax_file_t *file);

/* ---- Metadata ------------------------------------------------------------------ */

/* path's metadata, following symlinks (stat; Tokio's fs::metadata). */
AX_EXTERN ax_future_t *ax_fs_metadata(ax_fs_metadata_t *f, const char *path);
/* ...of a symlink itself (lstat; Tokio's fs::symlink_metadata). */
AX_EXTERN ax_future_t *ax_fs_symlink_metadata(ax_fs_metadata_t *f,
                                              const char *path);
/* Whether path exists, following symlinks (Tokio's fs::try_exists):
 * result 0 with exists 1 or 0 (0 only for UV_ENOENT: a broken symlink
 * does not exist), or the error that kept it from knowing (UV_EACCES,
 * UV_ENOTDIR...). */
AX_EXTERN ax_future_t *ax_fs_exists(ax_fs_exists_t *f, const char *path);
/* Sets path's permission bits (chmod; Tokio's fs::set_permissions).  On
 * Windows only the owner's write bit counts (read-only or not). */
AX_EXTERN ax_future_t *ax_fs_set_permissions(ax_fs_t *f, const char *path,
                                             unsigned mode);

/* ---- Directories and names -------------------------------------------------------- */

/* Renames (moves) from to to, replacing to if it is a file (rename(2);
 * Tokio's fs::rename). */
AX_EXTERN ax_future_t *ax_fs_rename(ax_fs_t *f, const char *from,
                                    const char *to);
/* Removes a file or a symlink (unlink; Tokio's fs::remove_file). */
AX_EXTERN ax_future_t *ax_fs_remove_file(ax_fs_t *f, const char *path);
/* Removes an empty directory (rmdir; Tokio's fs::remove_dir):
 * UV_ENOTEMPTY when it is not empty. */
AX_EXTERN ax_future_t *ax_fs_remove_dir(ax_fs_t *f, const char *path);
/* Removes a directory and everything in it (Tokio's fs::remove_dir_all);
 * symlinks inside are removed, never followed.  A path that is a symlink
 * is removed itself; a file is UV_ENOTDIR.  On an error part of the tree
 * may be gone. */
AX_EXTERN ax_future_t *ax_fs_remove_dir_all(ax_fs_t *f, const char *path);
/* Creates a directory (mode 0777 less the umask; Tokio's fs::create_dir):
 * UV_EEXIST when path exists, UV_ENOENT when its parent does not. */
AX_EXTERN ax_future_t *ax_fs_create_dir(ax_fs_t *f, const char *path);
/* Creates a directory and the missing parents (Tokio's
 * fs::create_dir_all).  0 when it exists already as a directory;
 * UV_EEXIST or UV_ENOTDIR when a component is a file. */
AX_EXTERN ax_future_t *ax_fs_create_dir_all(ax_fs_t *f, const char *path);

/* A directory's listing: its entries, "." and ".." left out. */
typedef struct ax_dir_entry_s {
  const char *name;         /* the entry's name, without the directory */
  ax_file_type_t type;      /* not following symlinks */
} ax_dir_entry_t;
typedef struct ax_dir_s {
  ax_dir_entry_t *entries;  /* len entries, sorted by name (strcmp); NULL
                               when there are none */
  size_t len;               /* entries */
} ax_dir_t;
/* An empty listing (AX_ZERO(ax_dir_t) is one too). */
static inline void ax_dir_init(ax_dir_t *d) {
  d->entries = NULL;
  d->len = 0;
}
/* Frees a listing's memory (names included); it is empty again.  NULL is
 * ignored. */
AX_EXTERN void ax_dir_free(ax_dir_t *d);

/* Lists the directory at path into *out (Tokio's fs::read_dir, read to
 * the end), replacing (and freeing) what *out held.  One trip to the pool
 * for the whole listing. */
AX_EXTERN ax_future_t *ax_fs_read_dir(ax_fs_t *f, const char *path,
                                      ax_dir_t *out);

/* Copies the file from to to, with its permission bits, replacing to if it
 * exists (uv_fs_copyfile; Tokio's fs::copy). */
AX_EXTERN ax_future_t *ax_fs_copy(ax_fs_t *f, const char *from,
                                  const char *to);
/* Makes link a hard link to original (Tokio's fs::hard_link). */
AX_EXTERN ax_future_t *ax_fs_hard_link(ax_fs_t *f, const char *original,
                                       const char *link);
/* Makes link a symbolic link to original (Tokio's fs::symlink; on Windows
 * a file symlink, which needs a privilege). */
AX_EXTERN ax_future_t *ax_fs_symlink(ax_fs_t *f, const char *original,
                                     const char *link);
/* The target of the symlink at path, into *out (replaced; NUL-terminated;
 * Tokio's fs::read_link). */
AX_EXTERN ax_future_t *ax_fs_read_link(ax_fs_t *f, const char *path,
                                       ax_bytes_t *out);
/* The absolute path of path with every symlink, "." and ".." resolved,
 * into *out (replaced; NUL-terminated; Tokio's fs::canonicalize). */
AX_EXTERN ax_future_t *ax_fs_canonicalize(ax_fs_t *f, const char *path,
                                          ax_bytes_t *out);

/* ---- Temporary files and directories ------------------------------------------------ */

/* Creates and opens a new file with a unique name (mkstemp): tmpl is a
 * path whose last six characters are "XXXXXX" (replaced to make the name),
 * or NULL for "<the system's temporary directory>/axle-XXXXXX".  result 0,
 * file (yours, open for reading and writing, mode 0600) and its path in
 * *path (replaced; NUL-terminated).  The file is not removed for you: when
 * done, ax_file_close it and ax_fs_remove_file the path.  A future dropped
 * before it completed leaves no file behind (one the pool made meanwhile
 * is closed and removed).  A bad tmpl: AX_EINVAL. */
AX_EXTERN ax_future_t *ax_fs_temp_file(ax_fs_open_t *f, const char *tmpl,
                                       ax_bytes_t *path);
/* Creates a new directory with a unique name (mkdtemp; mode 0700), tmpl
 * as above; its path in *path.  Yours to remove (ax_fs_remove_dir_all).  A
 * future dropped before it completed leaves no directory behind. */
AX_EXTERN ax_future_t *ax_fs_temp_dir(ax_fs_t *f, const char *tmpl,
                                      ax_bytes_t *path);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_FS_H */
