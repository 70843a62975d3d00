/* SPDX-License-Identifier: MIT */
/*
 * The capture loop's epoll registrations: each fd registers a struct watch
 * as its epoll data, and the loop calls its handler when the fd is ready.
 */
#ifndef FL_WATCH_H
#define FL_WATCH_H

#include <stdint.h>
#include <sys/epoll.h>

struct watch {
	int fd;
	void (*handle)(struct watch *w, uint32_t events);
};

static inline int watch_add(int epfd, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, w->fd, &ev);
}

static inline int watch_mod(int epfd, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

#define watch_container(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#endif
