/* SPDX-License-Identifier: MIT */
/*
 * The control socket of a running capture: a Unix stream socket that
 * answers one request line per connection.
 *
 *   stats                          -> the stats object, one JSON line
 *   query LIMIT FOLLOW [KFL...]    -> the newest LIMIT entries matching KFL
 *                                     (0: all that are kept), one JSON line
 *                                     each, newest last; FOLLOW 1 keeps the
 *                                     connection and streams new ones
 *   anything wrong                 -> "error CODE MESSAGE" (CODE: the exit
 *                                     status the client should use)
 *
 * Served from the capture's epoll loop, never blocking it: a client that
 * reads too slowly loses entries (counted) rather than stalling capture.
 */
#ifndef FL_CTL_H
#define FL_CTL_H

#include <stddef.h>

#include "report/entry.h"
#include "report/stats.h"

#define CTL_DEFAULT_SOCKET "/run/faultline/faultline.sock"
#define CTL_RING_ENTRIES 4096

struct ctl;

/*
 * Listen on `path` (its directory is created; mode 0600, or 0660 owned by
 * `group` when not NULL), registering with epfd.  `describe` writes the
 * up-to-date stats object into `out` for a `stats` request.  NULL with errno
 * set and a message in err.
 */
struct ctl *ctl_open(const char *path, const char *group, int epfd,
		     void (*describe)(void *ctx, struct doc *out), void *ctx, char *err, size_t errlen);
/* Close every connection and remove the socket file. */
void ctl_close(struct ctl *c);
/* The sink that keeps entries for `query` and streams them to followers. */
struct entry_sink ctl_entry_sink(struct ctl *c);

/* Client side: connect to path.  fd or -errno. */
int ctl_connect(const char *path);

#endif
