/* SPDX-License-Identifier: MIT */
/*
 * One NETLINK_SOCK_DIAG socket per network namespace (kdrops reads every
 * namespace's TCP listeners with it).  The namespaces are those of the
 * running processes, /proc/<pid>/ns/net deduplicated by the namespace's
 * inode; a socket is opened in a namespace by entering it on the calling
 * thread (setns, CLONE_NEWNET), creating the socket, and coming back: a
 * socket keeps the namespace it was created in.
 *
 * Bounded: at most NSDIAG_MAX namespaces are held (the node's pods and a few
 * more; each costs two dumps a second), NSDIAG_MAX_PIDS processes looked at
 * per rescan, and a rescan goes a time slice at a time so that the capture
 * loop never stalls.  A namespace that no process is in any more at the end
 * of a rescan has its socket closed (the socket would keep it alive).  Once
 * the capture has dropped its capabilities, most processes' ns/net can no
 * longer be read (the kernel wants CAP_SYS_PTRACE for a process with more
 * capabilities than ours): so each namespace remembers one process seen in it
 * (the first, the lowest pid: a pod's pause process) with its start time, and
 * lives on while that process does, whether or not the rescan could see it.
 * A namespace that cannot be entered (no CAP_SYS_ADMIN once the capture
 * dropped its capabilities, another user's process) is held without a socket
 * and not tried again while it lives; both it and those over the bound are
 * counted.
 *
 * The bookkeeping (nsdiag_begin / nsdiag_note / nsdiag_end) is separate from
 * the /proc walk and from entering namespaces (the ops), so that it can be
 * tested without either.
 */
#ifndef FL_SOURCE_NSDIAG_H
#define FL_SOURCE_NSDIAG_H

#include <stdbool.h>
#include <stdint.h>

#include "faultline.h"

/*
 * 256: the same bound as the /proc socket scan's (procscan.c); a Kubernetes
 * node runs at most 110 pods by default (250 is the largest recommended), one
 * network namespace each, plus the host's.
 */
#define NSDIAG_MAX FL_DIAG_NETNS_MAX   /* bpf/drops.bpf.c's diag_netns map holds as many */
#define NSDIAG_MAX_PIDS 8192

struct nsdiag_ops {
	/* A socket in the namespace of process `pid` (inode `ino`): its fd, or -errno. */
	int (*open)(void *ctx, uint32_t pid, uint64_t ino);
	/* A namespace with a socket is gone (or the table closes): close fd, forget ino. */
	void (*close)(void *ctx, uint64_t ino, int fd);
	/* Process pid's start time (any unit, never 0), 0 when there is no such process. */
	uint64_t (*started)(void *ctx, uint32_t pid);
	void *ctx;
};

struct nsdiag_ns {
	uint64_t ino;                 /* 0: a free slot */
	int fd;                       /* -1: could not be entered (err says why) */
	int err;                      /* -errno of the failed open */
	uint32_t gen;                 /* the rescan that last saw it */
	uint32_t pid;                 /* a process in it, and its start time: while it runs, so */
	uint64_t start;               /* does the namespace (0: unknown) */
	bool own;                     /* ours: never closed by a rescan */
};

struct nsdiag {
	struct nsdiag_ns ns[NSDIAG_MAX];
	unsigned n;
	uint32_t gen;
	struct nsdiag_ops ops;
	/* The rescan in progress. */
	void *proc;                   /* DIR * of /proc; NULL when none is under way */
	unsigned pids;
	uint64_t over[NSDIAG_MAX];    /* inodes over the bound this rescan (deduplicated) */
	unsigned n_over;
	/* What the last finished rescan found. */
	unsigned open_now;            /* namespaces with a socket */
	unsigned refused_now;         /* held without a socket: entering was refused */
	unsigned over_now;            /* seen but over the bound (at least) */
	uint64_t opened, closed;      /* sockets opened and closed since the start */
	bool noted_refused, noted_over;
};

/* An empty table using `ops`; `own_fd` (>= 0) is the socket of our own namespace `own_ino`. */
void nsdiag_init(struct nsdiag *t, const struct nsdiag_ops *ops, uint64_t own_ino, int own_fd);
/* Close every socket (ours too) through ops.close. */
void nsdiag_close_all(struct nsdiag *t);

/* Bookkeeping: a rescan is begin, note per process, end. */
void nsdiag_begin(struct nsdiag *t);
/* Process `pid` is in namespace `ino`: the namespace's entry (a new one is opened), or NULL
 * over the bound. */
const struct nsdiag_ns *nsdiag_note(struct nsdiag *t, uint32_t pid, uint64_t ino);
/* The rescan is over: namespaces it did not see are closed; the *_now counts are updated. */
void nsdiag_end(struct nsdiag *t);

/*
 * Walk /proc: start a rescan when none is under way, go on with it for about budget_ns
 * (0: to its end).  True when a rescan ended in this call.
 */
bool nsdiag_rescan(struct nsdiag *t, uint64_t budget_ns);
/* A rescan is under way. */
bool nsdiag_busy(const struct nsdiag *t);

/* The default started: field 22 of /proc/<pid>/stat (clock ticks since boot). */
uint64_t nsdiag_started(void *ctx, uint32_t pid);
/*
 * The default open: enter /proc/<pid>/ns/net on this thread (it must still be namespace
 * `ino`), create a NETLINK_SOCK_DIAG socket, come back to self_fd (our own namespace).
 * The socket, or -errno (-ESTALE: the process is in another namespace by now).
 */
int nsdiag_open_in(uint32_t pid, uint64_t ino, int self_fd);

#endif
