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
 * expensive computation goes the same way.  The job owns memory, so it is
 * spawned with ax_spawn_blocking_with and a destructor: a job nobody reads
 * (its caller cancelled, or the runtime shut down mid-hash) leaks nothing.
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
  hash_job_t *job = (hash_job_t *)arg;
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 0; i < job->len; i++) {
    h ^= job->data[i];
    h *= 0x100000001b3u;
  }
  snprintf(job->hex, sizeof job->hex, "%016" PRIx64, h);
  return job;                  /* ownership goes back to whoever joins */
}

/* drop(job): for the result once read, and for a job nobody reads (never
 * started, or its result left behind by a cancelled caller). */
static void hash_job_free(void *p) {
  hash_job_t *job = (hash_job_t *)p;
  free(job->data);
  free(job);
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
  {
    /* The job lives on the heap, not in this struct: the pool thread uses
     * it while we wait, and it must survive even if we are cancelled. */
    hash_job_t *job = (hash_job_t *)malloc(sizeof *job);
    if (job == NULL) ax_panic("out of memory");
    job->data = self->data;    /* move || */
    job->len = self->len;
    self->data = NULL;
    if (ax_spawn_blocking_with(NULL, hash_job, job, hash_job_free,
                               hash_job_free, &self->blocking) != 0)
      hash_job_free(job);      /* not spawned: the await reports AX_EJOINED */
  }
  AX_AWAIT(ax_join_wait(&self->blocking));
  if (self->blocking.result != 0)
    ax_panic("blocking task panicked");          /* .expect(...) */
  {
    hash_job_t *done = (hash_job_t *)ax_join_value(&self->blocking);
    memcpy(self->out, done->hex, sizeof self->out);
    hash_job_free(done);
  }
  AX_END();
}

/* What the function owns, released once, finished or cancelled: the data
 * if it never reached the job, and the join handle (a result nobody took
 * goes to hash_job_free). */
AX_ASYNC_DROP(compute_hash_drop, compute_hash_t, self) {
  free(self->data);
  ax_join_drop(&self->blocking);
}

static const char text[] = "hello world";

typedef struct {
  ax_async_t co;
  compute_hash_t hash;
} app_t;

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  self->hash.len = strlen(text);
  self->hash.data = (unsigned char *)malloc(self->hash.len);   /* data: Vec<u8> */
  if (self->hash.data == NULL) ax_panic("out of memory");
  memcpy(self->hash.data, text, self->hash.len);
  AX_AWAIT(AX_FUTURE_DROP(compute_hash, compute_hash_drop, &self->hash));
  printf("compute_hash(\"%s\") = %s\n", text, self->hash.out);
  ax_drop(AX_FUTURE_OF(&self->hash));            /* the call is done: drop it */
  AX_END();
}

AX_MAIN(app, app_t)
