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
#include <stdio.h>

#define READERS 3

typedef struct {
  ax_rwlock_t lock;            /* guards version */
  int version;
  ax_barrier_t all_in;         /* READERS readers + main */
  /* How many readers are done, counted under a plain mutex: readers count
   * at the same time, and it is held for one line, never across an await. */
  uv_mutex_t count_lock;
  int let_go;
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
  uv_mutex_lock(&self->config->count_lock);
  self->config->let_go++;
  uv_mutex_unlock(&self->config->count_lock);
  AX_END();                                      /* reader_drop lets go */
}

/* The one place the read lock is released: the runtime drops the task's
 * future when the task ends, whether it finished or was cancelled. */
AX_ASYNC_DROP(reader_drop, reader_t, self) {
  ax_rwlock_unlock(&self->guard);                /* nothing unless held */
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
  uv_mutex_init(&self->config.count_lock);
  self->config.version = 1;

  for (int i = 0; i < READERS; i++) {
    reader_t r = AX_ZERO(reader_t);
    r.config = &self->config;
    ax_spawn(AX_FUTURE_DROP(reader, reader_drop, &r), sizeof r, &self->readers[i]);
  }
  AX_AWAIT(ax_barrier_wait(&self->meet, &self->config.all_in));
  printf("%d readers hold the read lock at the same time\n", READERS);

  AX_AWAIT(ax_rwlock_write(&self->guard, &self->config.lock));
  /* No reader holds the lock now, so none is counting: let_go is stable. */
  printf("the writer got the lock after %d readers let go\n",
         self->config.let_go);
  self->config.version = 2;
  ax_rwlock_unlock(&self->guard);

  for (self->i = 0; self->i < READERS; self->i++) {
    AX_AWAIT(ax_join_wait(&self->readers[self->i]));
    {
      reader_t *r = AX_JOIN_OUTPUT(&self->readers[self->i], reader_t);
      if (r != NULL) printf("a reader saw version %d\n", r->seen);
    }
    ax_join_drop(&self->readers[self->i]);
  }

  AX_AWAIT(ax_rwlock_read(&self->guard, &self->config.lock));
  printf("now the version is %d\n", self->config.version);
  ax_rwlock_unlock(&self->guard);

  uv_mutex_destroy(&self->config.count_lock);
  ax_barrier_destroy(&self->config.all_in);
  ax_rwlock_destroy(&self->config.lock);
  AX_END();
}

AX_MAIN(app, app_t)
