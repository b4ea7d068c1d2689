/* Shared state with the async Mutex: the chapter's cache.
 *
 *   type SharedCache = Arc<Mutex<HashMap<String, String>>>;
 *
 *   async fn get_or_set(cache: SharedCache, key: String, value: String) -> String {
 *       let mut map = cache.lock().await;
 *       map.entry(key).or_insert(value).clone()
 *   }
 *
 * The Arc becomes "the cache outlives every task that uses it" (main owns
 * it and joins the tasks); the HashMap is a small array.
 */
#include <axle.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  char key[32];
  char value[32];
} entry_t;

typedef struct {               /* Mutex<HashMap<String, String>> */
  ax_mutex_t lock;             /* guards the fields below */
  entry_t entries[64];
  size_t len;
} cache_t;

/* map.entry(key).or_insert(value): call with the lock held. */
static const entry_t *entry_or_insert(cache_t *c, const char *key,
                                      const char *value) {
  for (size_t i = 0; i < c->len; i++)
    if (strcmp(c->entries[i].key, key) == 0) return &c->entries[i];
  if (c->len == sizeof c->entries / sizeof c->entries[0])
    ax_panic("cache full");
  entry_t *e = &c->entries[c->len++];
  snprintf(e->key, sizeof e->key, "%s", key);
  snprintf(e->value, sizeof e->value, "%s", value);
  return e;
}

typedef struct {               /* async fn get_or_set(cache, key, value) -> String */
  ax_async_t co;
  cache_t *cache;              /* in */
  const char *key, *value;     /* in */
  char out[32];                /* out: a copy, as .clone() */
  ax_mutex_guard_t map;        /* the lock future, then the guard */
} get_or_set_t;

AX_ASYNC(get_or_set, get_or_set_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_mutex_lock(&self->map, &self->cache->lock));
  /* map.entry(key).or_insert(value).clone() */
  memcpy(self->out, entry_or_insert(self->cache, self->key, self->value)->value,
         sizeof self->out);
  AX_END();
}

/* drop(map): the guard goes with the future, however it ended (a panic in
 * entry_or_insert would otherwise leave the cache locked for good). */
AX_ASYNC_DROP(get_or_set_drop, get_or_set_t, self) {
  ax_mutex_unlock(&self->map);                   /* nothing if not held */
}

/* get_or_set(cache, key, value): the call's state, to await or spawn with
 * AX_FUTURE_DROP(get_or_set, get_or_set_drop, &state). */
static get_or_set_t get_or_set_call(cache_t *cache, const char *key,
                                    const char *value) {
  get_or_set_t call = AX_ZERO(get_or_set_t);
  call.cache = cache;
  call.key = key;
  call.value = value;
  return call;
}

#define RACERS 10

typedef struct {
  ax_async_t co;
  cache_t cache;
  get_or_set_t call;
  ax_join_t racers[RACERS];
  char first[32];
  int i, agree;
} app_t;

static const char *const names[RACERS] = {
  "task 0", "task 1", "task 2", "task 3", "task 4",
  "task 5", "task 6", "task 7", "task 8", "task 9",
};

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  ax_mutex_init(&self->cache.lock);

  /* One caller: the first value stays. */
  self->call = get_or_set_call(&self->cache, "color", "blue");
  AX_AWAIT(AX_FUTURE_DROP(get_or_set, get_or_set_drop, &self->call));
  printf("get_or_set(\"color\", \"blue\") = %s\n", self->call.out);
  ax_drop(AX_FUTURE_OF(&self->call));            /* and its guard with it */
  self->call = get_or_set_call(&self->cache, "color", "red");
  AX_AWAIT(AX_FUTURE_DROP(get_or_set, get_or_set_drop, &self->call));
  printf("get_or_set(\"color\", \"red\") = %s\n", self->call.out);
  ax_drop(AX_FUTURE_OF(&self->call));

  /* Many tasks race for one key, on all workers: exactly one value wins. */
  for (int i = 0; i < RACERS; i++) {
    get_or_set_t racer = get_or_set_call(&self->cache, "winner", names[i]);
    ax_spawn(AX_FUTURE_DROP(get_or_set, get_or_set_drop, &racer), sizeof racer,
             &self->racers[i]);
  }
  self->agree = 1;
  for (self->i = 0; self->i < RACERS; self->i++) {
    AX_AWAIT(ax_join_wait(&self->racers[self->i]));
    {
      get_or_set_t *done = AX_JOIN_OUTPUT(&self->racers[self->i], get_or_set_t);
      if (done == NULL) ax_panic("racer %d failed", self->i);
      if (self->i == 0)
        memcpy(self->first, done->out, sizeof self->first);
      else if (strcmp(self->first, done->out) != 0)
        self->agree = 0;
    }
    ax_join_drop(&self->racers[self->i]);
  }
  printf("%d tasks raced for \"winner\": %s \"%s\"\n", RACERS,
         self->agree ? "all got" : "they disagree, one got", self->first);
  ax_mutex_destroy(&self->cache.lock);
  AX_END();
}

AX_MAIN(app, app_t)
