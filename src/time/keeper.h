/* Internal: the timer keeper, so that a stuck worker cannot freeze the
 * sleeps on its wheel (DESIGN 5).
 *
 * A worker's wheel is run by its own loop: the uv timer, and the
 * uv_run(NOWAIT) a busy worker makes every event_interval polls.  A task
 * that keeps its worker in one long poll (a blocking call in async code)
 * stops both, and every task sleeping on that wheel would wait for the
 * poll to end although other workers are idle.  The keeper is one thread
 * per multi-thread runtime (with two workers or more) that sleeps until
 * the earliest deadline of all its wheels plus AX__KEEPER_GRACE_NS; a
 * wheel whose home has not run it by then is rescued: the keeper fires
 * what is due itself (ax__wheel_rescue), and the woken tasks go to the
 * injection queue, where an idle worker takes them.
 *
 * Cost on the workers: nothing per poll.  A wheel publishes its earliest
 * slot (`watch`) under the lock it takes anyway, and calls
 * ax__keeper_note only when an insert makes it earlier; the note is one
 * load unless the keeper sleeps past the new deadline, when it takes the
 * keeper's lock and signals it.  The keeper wakes once per deadline
 * (grace after it) while timers are pending anywhere, and never while
 * every wheel is empty.
 *
 * Threads: ax__keeper_start / ax__keeper_stop on the runtime's creating
 * and freeing thread, before the workers run and after they have stopped
 * (and before the wheels close); ax__keeper_note on any thread.
 */
#ifndef AX_TIME_KEEPER_H
#define AX_TIME_KEEPER_H

#include "time/wheel.h"

/* How long past a wheel's deadline its home has to fire it before the
 * keeper does.  The home's own timer fires up to about a millisecond late
 * (1 ms resolution, rounded up); 2 ms more keeps the keeper from racing a
 * healthy home, whose wake-ups stay local, on an ordinary machine. */
#define AX__KEEPER_GRACE_NS ((uint64_t)2000000u)

/* Starts the keeper of n wheels (the array is copied; the wheels must
 * outlive ax__keeper_stop): 0 and *out, or an error code. */
int ax__keeper_start(ax__wheel_t *const *wheels, unsigned n,
                     ax__keeper_t **out);
/* Stops and joins the thread, frees the keeper; NULL does nothing. */
void ax__keeper_stop(ax__keeper_t *k);
/* A wheel's earliest deadline is now `due` (clock ns): wake the keeper if
 * it sleeps past due + grace. */
void ax__keeper_note(ax__keeper_t *k, uint64_t due);
/* Entries the keeper has fired so far (tests, bench). */
uint64_t ax__keeper_rescued(ax__keeper_t *k);

#endif
