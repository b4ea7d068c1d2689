/* RwLock: many readers at once, or one writer.
 *
 *   let config = RwLock::new(Config { version: 1 });
 *   let c = config.read().await;       // many tasks may hold this at once
 *   let mut c = config.write().await;  // waits until every reader is gone
 *   c.version = 2;
 *
 * Three reader tasks take the read lock and meet at a barrier while they
 * hold it: they can only all get there because readers share the lock.
 * The writer then waits until the last of them has let go.
 */
#include <axle.h>
#include <stdatomic.h>
#include <stdio.h>

#define READERS 3

typedef struct {
  ax_rwlock_t lock;            /* guards version */
  int version;
  ax_barrier_t all_in;         /* READERS readers + main */
  atomic_int readers_left;
} config_t;

typedef struct {
  ax_async_t co;
  config_t *config;            /* in */
  ax_rwlock_guard_t guard;
  ax_barrier_wait_t meet;
  ax_sleep_t work;
  int seen;                    /* out: the version it read */
} reader_t;

AX_ASYNC(reader, reader_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_rwlock_read(&self->guard, &self->config->lock));
  AX_AWAIT(ax_barrier_wait(&self->meet, &self->config->all_in));
  AX_AWAIT(ax_sleep(&self->work, 50));           /* hold it a while */
  self->seen = self->config->version;
  atomic_fetch_add(&self->config->readers_left, 1);
  ax_rwlock_unlock(&self->guard);
  AX_END();
}

/* Releases the read lock if the task is cancelled while holding it. */
static void reader_drop(void *p) {
  reader_t *self = p;
  ax_rwlock_unlock(&self->guard);                /* no-op unless held */
}

typedef struct {
  ax_async_t co;
  config_t config;
  ax_join_t readers[READERS];
  ax_barrier_wait_t meet;
  ax_rwlock_guard_t guard;
  int i;
} app_t;

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  ax_rwlock_init(&self->config.lock, 0);
  ax_barrier_init(&self->config.all_in, READERS + 1);
  self->config.version = 1;

  for (int i = 0; i < READERS; i++) {
    reader_t r = {.config = &self->config};
    ax_spawn(AX_FUTURE_DROP(reader, reader_drop, &r), sizeof r, &self->readers[i]);
  }
  AX_AWAIT(ax_barrier_wait(&self->meet, &self->config.all_in));
  printf("%d readers hold the read lock at the same time\n", READERS);

  AX_AWAIT(ax_rwlock_write(&self->guard, &self->config.lock));
  printf("the writer got the lock after %d readers let go\n",
         atomic_load(&self->config.readers_left));
  self->config.version = 2;
  ax_rwlock_unlock(&self->guard);

  for (self->i = 0; self->i < READERS; self->i++) {
    AX_AWAIT(ax_join_wait(&self->readers[self->i]));
    reader_t *r = ax_join_output(&self->readers[self->i]);
    if (r != NULL) printf("a reader saw version %d\n", r->seen);
    ax_join_drop(&self->readers[self->i]);
  }

  AX_AWAIT(ax_rwlock_read(&self->guard, &self->config.lock));
  printf("now the version is %d\n", self->config.version);
  ax_rwlock_unlock(&self->guard);

  ax_barrier_destroy(&self->config.all_in);
  ax_rwlock_destroy(&self->config.lock);
  AX_END();
}

AX_MAIN(app, app_t)
