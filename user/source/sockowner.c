// SPDX-License-Identifier: MIT
/*
 * UDP socket owners: load sockowner.bpf.c and attach its cgroup socket hooks
 * to the cgroup v2 root (so they see every process), and its net_dev_queue
 * program.  The links die with the process: nothing is left behind.
 */
#include "source/sockowner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "source/cgroup.h"
#include "sockowner.skel.h"

#define SO_LINKS 8

struct sockowner {
	struct sockowner_bpf *skel;
	struct bpf_link *links[SO_LINKS];
	unsigned n_links;
};

void sockowner_close(struct sockowner *so)
{
	if (!so)
		return;
	for (unsigned i = 0; i < so->n_links; i++)
		bpf_link__destroy(so->links[i]);
	sockowner_bpf__destroy(so->skel);
	free(so);
}

struct sockowner *sockowner_open(char *why, size_t len)
{
	char mount[256], path[300];
	int cg = -1, err;
	struct sockowner *so = calloc(1, sizeof(*so));

	if (!so) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	if (cgroup_v2_find(mount, sizeof(mount), path, sizeof(path)) < 0) {
		why[0] = '\0';   /* the cgroup resolver says it, once */
		goto fail;
	}
	cg = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		snprintf(why, len, "opening the cgroup v2 root %s: %s", path, strerror(errno));
		goto fail;
	}
	so->skel = sockowner_bpf__open();
	if (!so->skel) {
		snprintf(why, len, "opening sockowner.bpf.o: %s", strerror(errno));
		goto fail;
	}
	err = sockowner_bpf__load(so->skel);
	if (err) {
		snprintf(why, len, "loading the cgroup socket hooks: %s", strerror(-err));
		goto fail;
	}
	struct bpf_program *cgprogs[] = {
		so->skel->progs.fl_udp_bind4, so->skel->progs.fl_udp_bind6,
		so->skel->progs.fl_udp_send4, so->skel->progs.fl_udp_send6,
		so->skel->progs.fl_udp_conn4, so->skel->progs.fl_udp_conn6,
		so->skel->progs.fl_udp_release,
	};
	for (unsigned i = 0; i < sizeof(cgprogs) / sizeof(cgprogs[0]); i++) {
		struct bpf_link *l = bpf_program__attach_cgroup(cgprogs[i], cg);
		if (!l) {
			snprintf(why, len, "attaching %s to the cgroup v2 root %s: %s",
				 bpf_program__name(cgprogs[i]), path, strerror(errno));
			goto fail;
		}
		so->links[so->n_links++] = l;
	}
	struct bpf_link *l = bpf_program__attach(so->skel->progs.fl_udp_xmit);
	if (!l) {
		snprintf(why, len, "attaching tp_btf/net_dev_queue: %s", strerror(errno));
		goto fail;
	}
	so->links[so->n_links++] = l;
	close(cg);
	return so;
fail:
	if (cg >= 0)
		close(cg);
	sockowner_close(so);
	return NULL;
}

int sockowner_ring_fd(const struct sockowner *so)
{
	return bpf_map__fd(so->skel->maps.udp_owner_events);
}
