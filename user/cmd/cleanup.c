// SPDX-License-Identifier: MIT
/*
 * `faultline cleanup`: remove what faultline captures killed before they could
 * detach left on this host, in every network namespace this process can see
 * and enter: its own, those named in /run/netns, and those of the processes in
 * /proc.  Only faultline's own attachments go (see capture_ebpf_cleanup_netns);
 * a namespace whose capture is alive is left alone.  Captures attached with BPF
 * links leave nothing: the kernel detached them when they died.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "core/log.h"
#include "source/capture.h"

#define MAX_NETNS 4096

struct sweep {
	int self_fd;
	struct { dev_t dev; ino_t ino; } seen[MAX_NETNS];
	unsigned n_seen;
	unsigned checked, busy, not_entered, removed;
	int not_entered_err;
};

static bool seen_before(struct sweep *w, const struct stat *st)
{
	for (unsigned i = 0; i < w->n_seen; i++)
		if (w->seen[i].dev == st->st_dev && w->seen[i].ino == st->st_ino)
			return true;
	if (w->n_seen < MAX_NETNS) {
		w->seen[w->n_seen].dev = st->st_dev;
		w->seen[w->n_seen].ino = st->st_ino;
		w->n_seen++;
	}
	return false;
}

/* Clean the namespace behind path (NULL: our own). */
static void visit(struct sweep *w, const char *path)
{
	char msg[256];
	struct stat st;
	int fd, n;

	if (path) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0 || seen_before(w, &st)) {
			if (fd >= 0)
				close(fd);
			return;
		}
		if (setns(fd, CLONE_NEWNET) < 0) {
			/* Entering another namespace takes CAP_SYS_ADMIN. */
			w->not_entered++;
			w->not_entered_err = errno;
			close(fd);
			return;
		}
		close(fd);
	}
	w->checked++;
	n = capture_ebpf_cleanup_netns(msg, sizeof(msg));
	if (n == -EBUSY) {
		w->busy++;
		printf("%s: %s; left alone\n", path ? path : "this network namespace", msg);
	} else if (n > 0) {
		w->removed += (unsigned)n;
		printf("%s: removed %d BPF attachment%s\n", path ? path : "this network namespace", n,
		       n == 1 ? "" : "s");
	}
	if (path && setns(w->self_fd, CLONE_NEWNET) < 0)
		pr_warn("cannot return to the original network namespace: %s\n", strerror(errno));
}

static void visit_dir(struct sweep *w, const char *dir, bool proc)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (proc && strspn(e->d_name, "0123456789") != strlen(e->d_name))
			continue;
		snprintf(path, sizeof(path), proc ? "%s/%s/ns/net" : "%s/%s", dir, e->d_name);
		visit(w, path);
	}
	closedir(d);
}

int cmd_cleanup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sweep *w;
	struct stat st;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			puts("usage: faultline cleanup\n"
			     "Remove the tc filters, clsact qdiscs and XDP programs that killed faultline\n"
			     "captures left behind (kernels without BPF links, or FAULTLINE_ATTACH=netlink),\n"
			     "in every network namespace it can enter: its own, /run/netns/*, and those\n"
			     "of the processes in /proc (entering another takes CAP_SYS_ADMIN).  Only\n"
			     "faultline's own programs are removed; a namespace with a running capture\n"
			     "is left alone.  Exit 0, also when there was nothing to remove.");
			return 0;
		default:
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "faultline cleanup: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	fl_log_init();
	w = calloc(1, sizeof(*w));
	if (!w)
		return 1;
	w->self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (w->self_fd < 0 || fstat(w->self_fd, &st) < 0) {
		fprintf(stderr, "faultline cleanup: /proc/self/ns/net: %s\n", strerror(errno));
		free(w);
		return 1;
	}
	seen_before(w, &st);
	visit(w, NULL);
	visit_dir(w, "/run/netns", false);
	visit_dir(w, "/proc", true);
	printf("removed %u BPF attachment%s; %u network namespace%s checked", w->removed,
	       w->removed == 1 ? "" : "s", w->checked, w->checked == 1 ? "" : "s");
	if (w->busy)
		printf(", %u with a running capture", w->busy);
	if (w->not_entered)
		printf(", %u not entered (%s)", w->not_entered, strerror(w->not_entered_err));
	printf("\n");
	close(w->self_fd);
	free(w);
	return 0;
}
