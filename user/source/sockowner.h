/* SPDX-License-Identifier: MIT */
/*
 * UDP socket owners (capture, eBPF): cgroup socket hooks on the cgroup v2 root
 * (bind, unconnected send, connect, close) and net_dev_queue for a connected
 * socket's first datagram.  They send struct fl_sock_owner (proto IPPROTO_UDP)
 * to a ring of their own, read like socktrace's owner ring.
 */
#ifndef FL_SOURCE_SOCKOWNER_H
#define FL_SOURCE_SOCKOWNER_H

#include <stddef.h>

struct sockowner;

/* Loaded and attached, or NULL with a one-line reason in `why` ("" without cgroup v2:
 * the cgroup resolver's notice says so). */
struct sockowner *sockowner_open(char *why, size_t len);
int sockowner_ring_fd(const struct sockowner *so);
void sockowner_close(struct sockowner *so);

#endif
