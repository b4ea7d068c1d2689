/* CPU-bound work goes to spawn_blocking.
 *
 *   async fn compute_hash(data: Vec<u8>) -> String {
 *       tokio::task::spawn_blocking(move || {
 *           let mut hasher = Sha256::new();
 *           hasher.update(&data);
 *           format!("{:x}", hasher.finalize())
 *       })
 *       .await
 *       .expect("blocking task panicked")
 *   }
 *
 * The hash here is 64-bit FNV-1a (a few lines, no dependency); any
 * expensive computation goes the same way.
 */
#include <axle.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {               /* what the `move` closure owns */
  unsigned char *data;
  size_t len;
  char hex[17];                /* the result */
} hash_job_t;

/* Runs on libuv's threadpool, not on a runtime worker: blocking is fine. */
static void *hash_job(void *arg) {
  hash_job_t *job = arg;
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 0; i < job->len; i++) {
    h ^= job->data[i];
    h *= 0x100000001b3u;
  }
  snprintf(job->hex, sizeof job->hex, "%016" PRIx64, h);
  return job;                  /* ownership goes back to whoever joins */
}

typedef struct {               /* async fn compute_hash(data: Vec<u8>) -> String */
  ax_async_t co;
  unsigned char *data;         /* in: malloc'd, moved into the function */
  size_t len;
  ax_join_t blocking;
  char out[17];                /* out */
} compute_hash_t;

AX_ASYNC(compute_hash, compute_hash_t, self) {
  AX_BEGIN(self);
  /* The job lives on the heap, not in this struct: the pool thread uses it
   * while we wait, and it must survive even if we are cancelled. */
  hash_job_t *job = malloc(sizeof *job);
  if (job == NULL) ax_panic("out of memory");
  job->data = self->data;      /* move || */
  job->len = self->len;
  self->data = NULL;
  ax_spawn_blocking(hash_job, job, &self->blocking);

  AX_AWAIT(ax_join_wait(&self->blocking));
  if (self->blocking.result != 0)
    ax_panic("blocking task panicked");          /* .expect(...) */
  hash_job_t *done = ax_join_value(&self->blocking);
  memcpy(self->out, done->hex, sizeof self->out);
  free(done->data);
  free(done);
  ax_join_drop(&self->blocking);
  AX_END();
}

static const char text[] = "hello world";

typedef struct {
  ax_async_t co;
  compute_hash_t hash;
} app_t;

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  self->hash.len = strlen(text);
  self->hash.data = malloc(self->hash.len);      /* data: Vec<u8> */
  if (self->hash.data == NULL) ax_panic("out of memory");
  memcpy(self->hash.data, text, self->hash.len);
  AX_AWAIT(AX_FUTURE(compute_hash, &self->hash));
  printf("compute_hash(\"%s\") = %s\n", text, self->hash.out);
  AX_END();
}

AX_MAIN(app, app_t)
