/* axle — an async runtime for C on libuv.
 *
 * Include this one header.  Topics:
 *   axle/common.h    errors, allocator, export macro
 *   axle/future.h    futures, wakers, async functions (AX_ASYNC, AX_AWAIT)
 *   axle/task.h      spawn, join handles, abort, panic, yield
 *   axle/runtime.h   builder, block_on, shutdown, AX_MAIN
 *   axle/select.h    select, join
 *   axle/time.h      sleep, timeout, interval, instants
 *   axle/blocking.h  spawn_blocking on libuv's threadpool
 *   axle/sync.h      async Mutex, RwLock, Semaphore, Notify, Barrier, OnceCell
 *   axle/channel.h   mpsc, oneshot, broadcast, watch
 *   axle/io.h        streams, byte buffers, buffered reading
 *   axle/fs.h        files and directories
 *   axle/net.h       TCP, UDP, DNS, local sockets (Unix, Windows pipes)
 *   axle/stdio.h     stdin, stdout, stderr as streams
 *   axle/process.h   child processes, signals (ctrl-c)
 *   axle/embed.h     living in an application's loop: pumped runtimes
 * Writing a leaf future of your own: <axle/leaf.h> as well.
 */
#ifndef AXLE_H
#define AXLE_H

#include "axle/common.h"
#include "axle/future.h"
#include "axle/task.h"
#include "axle/runtime.h"
#include "axle/select.h"
#include "axle/time.h"
#include "axle/blocking.h"
#include "axle/sync.h"
#include "axle/channel.h"
#include "axle/io.h"
#include "axle/net.h"
#include "axle/fs.h"
#include "axle/stdio.h"
#include "axle/process.h"
#include "axle/embed.h"

#endif /* AXLE_H */
