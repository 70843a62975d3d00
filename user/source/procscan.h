/* SPDX-License-Identifier: MIT */
/*
 * Sockets opened before the capture started (capture): the /proc/<pid>/fd
 * socket inodes joined to /proc/<pid>/net/{tcp,tcp6,udp,udp6} of each network
 * namespace, as `ss -p` does.  Each socket with an owner becomes a struct
 * fl_sock_owner (LISTEN, CONNECT, or BIND for a UDP socket without a peer)
 * handed to a callback.  Bounded: MAX_PIDS processes, MAX_FDS descriptors
 * each, MAX_NETNS namespaces, MAX_LINES table lines and half the inode table
 * (sized from tap.attribution.maxSockets, allocated once from the memory
 * budget) per scan.  Processes that cannot be read (another user's, once
 * capabilities are dropped) are skipped.  A scan can go a slice at a time
 * (procscan_begin, then procscan_step with a time budget), so that the
 * capture loop never stalls on a node with many processes.
 */
#ifndef FL_SOURCE_PROCSCAN_H
#define FL_SOURCE_PROCSCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "report/stats.h"

struct fl_sock_owner;
struct procscan;

typedef void (*procscan_fn)(void *ctx, const struct fl_sock_owner *ev);

struct procscan *procscan_new(uint32_t max_sockets, struct fl_stats *stats);
void procscan_free(struct procscan *s);
/* One whole scan: the number of sockets handed to fn, or -errno. */
int procscan_run(struct procscan *s, procscan_fn fn, void *ctx);
/* A new scan (an unfinished one is dropped); -errno if /proc cannot be read. */
int procscan_begin(struct procscan *s);
/* Go on with the scan for about budget_ns (0: to its end); sockets handed to fn so far. */
int procscan_step(struct procscan *s, uint64_t budget_ns, procscan_fn fn, void *ctx);
/* A scan is under way (procscan_step has more to do). */
bool procscan_busy(const struct procscan *s);

#endif
