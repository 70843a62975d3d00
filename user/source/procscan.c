// SPDX-License-Identifier: MIT
#include "source/procscan.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "faultline.h"
#include "source/cgroup.h"

#define MAX_PIDS 8192          /* processes looked at per scan */
#define MAX_FDS 4096           /* descriptors per process */
#define MAX_NETNS 256          /* network namespaces per scan */
#define MAX_LINES 262144       /* socket table lines per scan, all tables */

struct inode_owner {
	uint64_t inode;            /* 0: empty */
	uint64_t cgroup_id;
	uint32_t pid;
	char comm[16];
};

struct procscan {
	char cg_open[300];         /* the cgroup v2 mount, as we reach it; "" without */
	uint32_t cap;              /* power of two */
	struct inode_owner *owners;
	uint64_t netns[MAX_NETNS];
	uint32_t netns_pid[MAX_NETNS];
	unsigned n_netns;
	struct fl_stats *stats;
	uint64_t bytes;
	/* The pass in progress (procscan_step goes on with it a slice at a time). */
	DIR *proc;                 /* the processes still to read; NULL once they are read */
	bool active;
	unsigned pids, held, lines;
	unsigned next_table;       /* the tables: namespace * 4 + table */
	long self;                 /* our own pid: our sockets name nothing */
};

struct procscan *procscan_new(uint32_t max_sockets, struct fl_stats *stats)
{
	struct procscan *s = calloc(1, sizeof(*s));
	char mount[256];
	if (!s)
		return NULL;
	s->stats = stats;
	s->cap = 1024;
	while (s->cap < max_sockets * 2 && s->cap < (1u << 20))
		s->cap *= 2;
	/* Held for the run: drawn from the memory budget, halved until it fits. */
	while (s->cap > 1024 && !memory_allows(stats, (uint64_t)s->cap * sizeof(*s->owners))) {
		stats->memory.over_limit++;
		s->cap /= 2;
	}
	s->owners = calloc(s->cap, sizeof(*s->owners));
	if (!s->owners) {
		free(s);
		return NULL;
	}
	s->bytes = (uint64_t)s->cap * sizeof(*s->owners);
	stats->memory.attribution_bytes += s->bytes;
	if (cgroup_v2_find(mount, sizeof(mount), s->cg_open, sizeof(s->cg_open)) < 0)
		s->cg_open[0] = '\0';
	return s;
}

void procscan_free(struct procscan *s)
{
	if (!s)
		return;
	if (s->proc)
		closedir(s->proc);
	s->stats->memory.attribution_bytes -= s->bytes;
	free(s->owners);
	free(s);
}

static struct inode_owner *slot(struct procscan *s, uint64_t inode, bool take)
{
	uint32_t i = (uint32_t)((inode * 0x9e3779b97f4a7c15ull) >> 32) & (s->cap - 1);
	for (uint32_t n = 0; n < s->cap; n++, i = (i + 1) & (s->cap - 1)) {
		if (s->owners[i].inode == inode)
			return &s->owners[i];
		if (!s->owners[i].inode)
			return take ? &s->owners[i] : NULL;
	}
	return NULL;
}

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return (int)n;
}

/* The process's cgroup v2 id: the inode of its directory under the mount. */
static uint64_t pid_cgroup(const struct procscan *s, const char *pid)
{
	char path[64], buf[512], full[1024];
	struct stat st;
	if (!s->cg_open[0])
		return 0;
	snprintf(path, sizeof(path), "/proc/%s/cgroup", pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return 0;
	char *line = strstr(buf, "0::");
	if (!line || (line != buf && line[-1] != '\n'))
		return 0;
	line += 3;
	line[strcspn(line, "\n")] = '\0';
	snprintf(full, sizeof(full), "%s%s", s->cg_open, line);
	return stat(full, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* One process: its socket descriptors into the inode table, its netns remembered. */
static unsigned scan_pid(struct procscan *s, const char *pid, unsigned *held)
{
	char path[64], link[64], comm[32];
	struct stat st;
	unsigned found = 0;

	snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
	if (stat(path, &st) == 0) {
		unsigned i;
		for (i = 0; i < s->n_netns && s->netns[i] != (uint64_t)st.st_ino; i++)
			;
		if (i == s->n_netns && s->n_netns < MAX_NETNS) {
			s->netns[s->n_netns] = st.st_ino;
			s->netns_pid[s->n_netns++] = (uint32_t)strtoul(pid, NULL, 10);
		}
	}
	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	uint64_t cgid = 0;
	bool have_cg = false;
	comm[0] = '\0';
	struct dirent *e;
	unsigned n = 0;
	while ((e = readdir(d)) && n++ < MAX_FDS) {
		if (e->d_name[0] == '.')
			continue;
		char fdpath[64];
		ssize_t l = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = '\0';
		unsigned long long ino;
		if (sscanf(link, "socket:[%llu]", &ino) != 1 || !ino)
			continue;
		if (*held >= s->cap / 2)
			break;   /* the table is full enough: what is left waits for the next scan */
		struct inode_owner *o = slot(s, ino, true);
		if (!o || o->inode)
			continue;   /* shared with a process seen first (a fork): that one's */
		if (!comm[0]) {
			snprintf(fdpath, sizeof(fdpath), "/proc/%s/comm", pid);
			if (read_small(fdpath, comm, sizeof(comm)) <= 0)
				snprintf(comm, sizeof(comm), "?");
			comm[strcspn(comm, "\n")] = '\0';
		}
		if (!have_cg) {
			cgid = pid_cgroup(s, pid);
			have_cg = true;
		}
		o->inode = ino;
		o->pid = (uint32_t)strtoul(pid, NULL, 10);
		o->cgroup_id = cgid;
		snprintf(o->comm, sizeof(o->comm), "%s", comm);
		(*held)++;
		found++;
	}
	closedir(d);
	return found;
}

/* "0100007F:1F90" (IPv4) or 32 hex digits (IPv6), as the kernel prints them. */
static bool parse_endpoint(const char *text, bool v6, uint8_t addr[16], uint16_t *port)
{
	const char *colon = strchr(text, ':');
	size_t hex = v6 ? 32 : 8;
	if (!colon || (size_t)(colon - text) != hex)
		return false;
	memset(addr, 0, 16);
	for (size_t w = 0; w < hex / 8; w++) {
		char word[9];
		memcpy(word, text + w * 8, 8);
		word[8] = '\0';
		uint32_t v = (uint32_t)strtoul(word, NULL, 16);   /* host order words */
		memcpy(addr + w * 4, &v, 4);
	}
	*port = (uint16_t)strtoul(colon + 1, NULL, 16);
	return true;
}

/* One table of one namespace: each socket with a known owner handed to `fn`. */
static unsigned scan_table(struct procscan *s, uint32_t pid, const char *table, bool v6, bool udp,
			   unsigned *lines, procscan_fn fn, void *ctx)
{
	char path[64], line[512];
	unsigned n = 0;
	snprintf(path, sizeof(path), "/proc/%u/net/%s", pid, table);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f)) {   /* the header */
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f) && (*lines)++ < MAX_LINES) {
		char local[64], remote[64];
		unsigned state;
		unsigned long long inode;
		if (sscanf(line, " %*u: %63s %63s %x %*s %*s %*s %*u %*u %llu", local, remote, &state,
			   &inode) != 4 || !inode)
			continue;
		const struct inode_owner *o = slot(s, inode, false);
		if (!o)
			continue;
		struct fl_sock_owner ev = { .family = v6 ? 10 : 2, .pid = o->pid,
					    .cgroup_id = o->cgroup_id,
					    .proto = udp ? IPPROTO_UDP : 0 };
		memcpy(ev.comm, o->comm, sizeof(ev.comm));
		if (!parse_endpoint(local, v6, ev.saddr, &ev.sport) ||
		    !parse_endpoint(remote, v6, ev.daddr, &ev.dport))
			continue;
		if (udp)
			ev.kind = ev.dport ? FL_OWN_CONNECT : FL_OWN_BIND;
		else if (state == 0x0A)   /* TCP_LISTEN */
			ev.kind = FL_OWN_LISTEN;
		else if (state == 0x07)   /* TCP_CLOSE: nothing to name */
			continue;
		else
			ev.kind = FL_OWN_CONNECT;
		fn(ctx, &ev);
		n++;
	}
	fclose(f);
	return n;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int procscan_begin(struct procscan *s)
{
	if (s->proc)
		closedir(s->proc);
	s->proc = opendir("/proc");
	s->active = s->proc != NULL;
	if (!s->proc)
		return -errno;
	memset(s->owners, 0, (size_t)s->cap * sizeof(*s->owners));
	s->n_netns = 0;
	s->pids = s->held = s->lines = s->next_table = 0;
	s->self = (long)getpid();
	return 0;
}

bool procscan_busy(const struct procscan *s)
{
	return s->active;
}

int procscan_step(struct procscan *s, uint64_t budget_ns, procscan_fn fn, void *ctx)
{
	static const struct { const char *name; bool v6, udp; } tables[] = {
		{ "tcp", false, false }, { "tcp6", true, false },
		{ "udp", false, true }, { "udp6", true, true },
	};
	uint64_t until = budget_ns ? now_ns() + budget_ns : UINT64_MAX;
	int sockets = 0;
	if (!s->active)
		return 0;
	/* First every process's sockets into the inode table, then the namespaces' tables. */
	struct dirent *e;
	while (s->proc && (e = readdir(s->proc))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		if (s->pids++ >= MAX_PIDS)
			break;
		if (strtol(e->d_name, NULL, 10) != s->self)
			scan_pid(s, e->d_name, &s->held);
		if (now_ns() >= until)
			return 0;
	}
	if (s->proc) {
		closedir(s->proc);
		s->proc = NULL;
	}
	while (s->next_table < s->n_netns * 4) {
		unsigned n = s->next_table / 4, t = s->next_table % 4;
		s->next_table++;
		sockets += (int)scan_table(s, s->netns_pid[n], tables[t].name, tables[t].v6,
					   tables[t].udp, &s->lines, fn, ctx);
		if (now_ns() >= until && s->next_table < s->n_netns * 4)
			return sockets;
	}
	s->active = false;
	return sockets;
}

int procscan_run(struct procscan *s, procscan_fn fn, void *ctx)
{
	int r = procscan_begin(s);
	return r < 0 ? r : procscan_step(s, 0, fn, ctx);
}
