/* SPDX-License-Identifier: MIT */
/* Dropping capabilities once the eBPF programs are loaded and attached. */
#ifndef FL_PRIVS_H
#define FL_PRIVS_H

#include <stddef.h>

/*
 * Keep CAP_NET_ADMIN (attach to interfaces that appear later, detach at exit)
 * and CAP_NET_RAW (AF_PACKET sockets for new interfaces); drop every other
 * capability from the effective, permitted, inheritable, ambient and bounding
 * sets.  0, or -errno with a message in err.
 */
int privs_drop_after_load(char *err, size_t errlen);

#endif
