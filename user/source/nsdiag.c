// SPDX-License-Identifier: MIT
#include "source/nsdiag.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "core/log.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void nsdiag_init(struct nsdiag *t, const struct nsdiag_ops *ops, uint64_t own_ino, int own_fd)
{
	memset(t, 0, sizeof(*t));
	t->ops = *ops;
	if (own_ino && own_fd >= 0) {
		t->ns[0] = (struct nsdiag_ns){ .ino = own_ino, .fd = own_fd, .own = true };
		t->n = 1;
		t->open_now = 1;
	}
}

static void forget(struct nsdiag *t, unsigned i)
{
	struct nsdiag_ns *e = &t->ns[i];

	if (e->fd >= 0) {
		t->ops.close(t->ops.ctx, e->ino, e->fd);
		t->closed++;
	}
	t->ns[i] = t->ns[--t->n];
	t->ns[t->n] = (struct nsdiag_ns){ 0 };
}

void nsdiag_close_all(struct nsdiag *t)
{
	if (t->proc) {
		closedir(t->proc);
		t->proc = NULL;
	}
	while (t->n)
		forget(t, t->n - 1);
}

void nsdiag_begin(struct nsdiag *t)
{
	t->gen++;
	t->n_over = 0;
	/* Ours is seen by definition: the capture is in it. */
	for (unsigned i = 0; i < t->n; i++)
		if (t->ns[i].own)
			t->ns[i].gen = t->gen;
}

const struct nsdiag_ns *nsdiag_note(struct nsdiag *t, uint32_t pid, uint64_t ino)
{
	if (!ino)
		return NULL;
	for (unsigned i = 0; i < t->n; i++) {
		struct nsdiag_ns *e = &t->ns[i];
		if (e->ino != ino)
			continue;
		/* First seen this rescan: if the process it goes by is gone, this one stands in. */
		if (e->gen != t->gen && !e->own && e->pid != pid &&
		    (!e->start || t->ops.started(t->ops.ctx, e->pid) != e->start)) {
			e->pid = pid;
			e->start = t->ops.started(t->ops.ctx, pid);
		}
		e->gen = t->gen;
		return e;
	}
	if (t->n == NSDIAG_MAX) {
		unsigned i;
		for (i = 0; i < t->n_over && t->over[i] != ino; i++)
			;
		if (i == t->n_over && t->n_over < NSDIAG_MAX)
			t->over[t->n_over++] = ino;
		return NULL;
	}
	struct nsdiag_ns *e = &t->ns[t->n++];
	int fd = t->ops.open(t->ops.ctx, pid, ino);
	*e = (struct nsdiag_ns){ .ino = ino, .fd = fd < 0 ? -1 : fd, .err = fd < 0 ? fd : 0,
				 .gen = t->gen, .pid = pid, .start = t->ops.started(t->ops.ctx, pid) };
	if (fd >= 0)
		t->opened++;
	return e;
}

void nsdiag_end(struct nsdiag *t)
{
	unsigned refused = 0, open = 0;

	for (unsigned i = 0; i < t->n;) {
		struct nsdiag_ns *e = &t->ns[i];
		/* Not seen (perhaps not visible to us any more): alive while its process is. */
		if (e->gen != t->gen && e->start && t->ops.started(t->ops.ctx, e->pid) == e->start)
			e->gen = t->gen;
		if (e->gen != t->gen) {
			forget(t, i);
			continue;
		}
		if (t->ns[i].fd >= 0)
			open++;
		else
			refused++;
		i++;
	}
	t->open_now = open;
	t->refused_now = refused;
	t->over_now = t->n_over;
	if (refused && !t->noted_refused) {
		const struct nsdiag_ns *e = NULL;
		for (unsigned i = 0; i < t->n && !e; i++)
			if (t->ns[i].fd < 0)
				e = &t->ns[i];
		pr_info("listen overflows: %u network namespace%s cannot be entered (%s), their "
			"listeners are not read (kernel.listen_namespaces_refused)\n", refused,
			refused == 1 ? "" : "s", e ? strerror(-e->err) : "?");
		t->noted_refused = true;
	}
	if (t->n_over && !t->noted_over) {
		pr_info("listen overflows: more than %u network namespaces, %u not read "
			"(kernel.listen_namespaces_over_limit)\n", NSDIAG_MAX, t->n_over);
		t->noted_over = true;
	}
}

bool nsdiag_busy(const struct nsdiag *t)
{
	return t->proc != NULL;
}

bool nsdiag_rescan(struct nsdiag *t, uint64_t budget_ns)
{
	uint64_t until = budget_ns ? now_ns() + budget_ns : UINT64_MAX;
	long self = (long)getpid();
	struct dirent *d;

	if (!t->proc) {
		t->proc = opendir("/proc");
		if (!t->proc)
			return false;
		t->pids = 0;
		nsdiag_begin(t);
	}
	while ((d = readdir(t->proc))) {
		char path[64];
		struct stat st;

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		if (t->pids++ >= NSDIAG_MAX_PIDS)
			break;
		long pid = strtol(d->d_name, NULL, 10);
		if (pid == self || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
		/* Another user's process once our capabilities are gone: not ours to see. */
		if (stat(path, &st) == 0)
			nsdiag_note(t, (uint32_t)pid, (uint64_t)st.st_ino);
		if ((t->pids & 63) == 0 && now_ns() >= until)
			return false;
	}
	closedir(t->proc);
	t->proc = NULL;
	nsdiag_end(t);
	return true;
}

uint64_t nsdiag_started(void *ctx, uint32_t pid)
{
	char path[64], buf[1024];
	(void)ctx;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything, so count from its last ')'. */
	char *p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	unsigned long long start = p ? strtoull(p + 1, NULL, 10) : 0;
	return start ? start : 1;
}

int nsdiag_open_in(uint32_t pid, uint64_t ino, int self_fd)
{
	char path[64];
	struct stat st;
	int err = 0, sock = -1;

	if (self_fd < 0)
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/%u/ns/net", pid);
	int nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return -errno;
	if (fstat(nsfd, &st) < 0 || (uint64_t)st.st_ino != ino) {
		close(nsfd);
		return -ESTALE;   /* the process moved (or the pid is another's by now) */
	}
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		err = -errno;
		close(nsfd);
		return err;
	}
	close(nsfd);
	sock = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (sock < 0)
		err = -errno;
	if (setns(self_fd, CLONE_NEWNET) < 0) {
		/* Entering worked, so this cannot be refused; should it fail, say so loudly. */
		err = -errno;
		pr_warn("listen overflows: cannot return to our network namespace: %s\n",
			strerror(-err));
		if (sock >= 0)
			close(sock);
		return err;
	}
	return sock >= 0 ? sock : err;
}
