// SPDX-License-Identifier: MIT
#include "source/cgroup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The kernfs file handle type: 8 bytes, the cgroup id (its inode on cgroup v2). */
#define FILEID_KERNFS 0xfe

struct cgroup_resolver {
	int mount_fd;                 /* the cgroup v2 mount, or -1 */
	char mount[256];              /* where it is, as its mount table says */
	char open_path[300];          /* how we reach it: mount, or /proc/1/root + mount */
	char pod_log_dir[256];
	char containers_dir[300];     /* the /var/log/containers beside it */
};

static int find_mount(const char *table, char *out, size_t len)
{
	FILE *f = fopen(table, "r");
	char dev[256], dir[256], type[64];
	int found = -ENOENT;
	if (!f)
		return -errno;
	while (fscanf(f, "%255s %255s %63s %*[^\n]", dev, dir, type) == 3) {
		if (strcmp(type, "cgroup2") == 0) {
			snprintf(out, len, "%s", dir);
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

int cgroup_v2_find(char *mount, size_t mlen, char *open_path, size_t plen)
{
	char table[64];
	/* Tests simulate a host without cgroup v2. */
	const char *off = getenv("FAULTLINE_NO_CGROUP2");
	if (off && *off && strcmp(off, "0") != 0)
		return -ENOENT;
	/*
	 * Ours, else our parent's or the host's through /proc/PID/root: `ip netns exec` (and some
	 * container runtimes) give us a /sys without the cgroup mounts.
	 */
	if (find_mount("/proc/mounts", mount, mlen) == 0) {
		snprintf(open_path, plen, "%s", mount);
	} else if (snprintf(table, sizeof(table), "/proc/%d/mounts", (int)getppid()) > 0 &&
		   find_mount(table, mount, mlen) == 0) {
		snprintf(open_path, plen, "/proc/%d/root%s", (int)getppid(), mount);
	} else if (find_mount("/proc/1/mounts", mount, mlen) == 0) {
		snprintf(open_path, plen, "/proc/1/root%s", mount);
	} else {
		return -ENOENT;
	}
	return 0;
}

struct cgroup_resolver *cgroup_resolver_new(const char *pod_log_dir, char *notice, size_t len)
{
	struct cgroup_resolver *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->mount_fd = -1;
	notice[0] = '\0';
	snprintf(r->pod_log_dir, sizeof(r->pod_log_dir), "%s", pod_log_dir);
	/* The kubelet's /var/log/containers sits beside /var/log/pods. */
	char parent[256];
	snprintf(parent, sizeof(parent), "%s", pod_log_dir);
	char *slash = strrchr(parent, '/');
	while (slash && slash > parent && slash[1] == '\0') {   /* a trailing slash */
		*slash = '\0';
		slash = strrchr(parent, '/');
	}
	if (slash)
		*slash = '\0';
	snprintf(r->containers_dir, sizeof(r->containers_dir), "%s/containers",
		 slash && parent[0] ? parent : "");
	if (cgroup_v2_find(r->mount, sizeof(r->mount), r->open_path, sizeof(r->open_path)) < 0) {
		snprintf(notice, len, "no cgroup v2 mount in /proc/mounts: entries name processes "
			 "(pid, comm; UDP sockets only those found in /proc) but not their cgroup, "
			 "unit, container or pod");
		return r;
	}
	r->mount_fd = open(r->open_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->mount_fd < 0)
		snprintf(notice, len, "cannot open the cgroup v2 mount %s (%s): entries name "
			 "processes (pid, comm) but not their cgroup, unit, container or pod",
			 r->open_path, strerror(errno));
	return r;
}

void cgroup_resolver_free(struct cgroup_resolver *r)
{
	if (!r)
		return;
	if (r->mount_fd >= 0)
		close(r->mount_fd);
	free(r);
}

#define WALK_MAX_DIRS 20000   /* cgroups looked at per walk */
#define WALK_MAX_DEPTH 16

/* Depth-first through the hierarchy for the directory whose inode is `id`; path in out. */
static int walk(int fd, uint64_t id, char *out, size_t len, size_t used, unsigned depth,
		unsigned *budget)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	int rc = -ENOENT;
	if (!d) {
		close(fd);
		return -errno;
	}
	while (rc == -ENOENT && (e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		if (!*budget)
			break;
		(*budget)--;
		size_t l = strlen(e->d_name);
		if (used + 1 + l >= len)
			continue;
		out[used] = '/';
		memcpy(out + used + 1, e->d_name, l + 1);
		if ((uint64_t)e->d_ino == id) {
			rc = 0;
			break;
		}
		if (depth + 1 >= WALK_MAX_DEPTH)
			continue;
		int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub >= 0)
			rc = walk(sub, id, out, len, used + 1 + l, depth + 1, budget);
	}
	closedir(d);
	if (rc < 0)
		out[used] = '\0';
	return rc;
}

/*
 * Without CAP_DAC_READ_SEARCH (dropped after start) open_by_handle_at is
 * refused: the path is found by walking the hierarchy (readable by all) for
 * the directory with that inode.
 */
static int cgroup_walk(struct cgroup_resolver *r, uint64_t id, char *out, size_t len)
{
	unsigned budget = WALK_MAX_DIRS;
	int fd = openat(r->mount_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	out[0] = '\0';
	int rc = walk(fd, id, out, len, 0, 0, &budget);
	if (rc == 0 && !out[0])
		snprintf(out, len, "/");
	return rc;
}

/* The cgroup's path under the mount ("/" for the root), by its id. */
static int cgroup_path(struct cgroup_resolver *r, uint64_t id, char *out, size_t len)
{
	/* A file_handle and the 8 bytes of its f_handle. */
	uint64_t storage[(sizeof(struct file_handle) + sizeof(uint64_t) + 7) / 8];
	struct file_handle *fh = (struct file_handle *)storage;
	char link[64], full[512];

	fh->handle_bytes = sizeof(uint64_t);
	fh->handle_type = FILEID_KERNFS;
	memcpy(fh->f_handle, &id, sizeof(id));
	int fd = open_by_handle_at(r->mount_fd, fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == EPERM ? cgroup_walk(r, id, out, len) : -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, full, sizeof(full) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	full[n] = '\0';
	/* The path as we reach it, or (a mount outside our root) as its own namespace names it. */
	const char *rel = full;
	const char *prefixes[2] = { r->open_path, r->mount };
	for (int i = 0; i < 2; i++) {
		size_t m = strlen(prefixes[i]);
		if (!strncmp(full, prefixes[i], m) && (full[m] == '/' || full[m] == '\0')) {
			rel = full + m;
			break;
		}
	}
	if (strlen(rel) >= len)
		return -ENAMETOOLONG;
	memcpy(out, rel[0] ? rel : "/", rel[0] ? strlen(rel) + 1 : 2);
	return 0;
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t l = strlen(suffix);
	return len >= l && memcmp(s + len - l, suffix, l) == 0;
}

static bool all_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return len > 0;
}

static void copy_part(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* One path component: a systemd unit, a container scope, a pod slice (systemd or cgroupfs layout). */
static void classify(const char *c, size_t len, bool in_kubepods, struct workload *w)
{
	static const char *const scopes[] = { "docker-", "libpod-", "cri-containerd-", "crio-" };
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		size_t p = strlen(scopes[i]);
		if (len > p + 6 && !strncmp(c, scopes[i], p) && has_suffix(c, len, ".scope") &&
		    all_hex(c + p, len - p - 6)) {
			copy_part(w->container_id, sizeof(w->container_id), c + p, len - p - 6);
			return;
		}
	}
	/* kubepods-burstable-pod1234_5678.slice: the uid with '_' for '-' */
	const char *pod = NULL;
	for (size_t i = 0; i + 4 <= len; i++)
		if (!strncmp(c + i, "-pod", 4))
			pod = c + i + 4;
	if (pod && !strncmp(c, "kubepods", 8) && has_suffix(c, len, ".slice")) {
		copy_part(w->pod_uid, sizeof(w->pod_uid), pod, (size_t)(c + len - 6 - pod));
		for (char *u = w->pod_uid; *u; u++)
			if (*u == '_')
				*u = '-';
		return;
	}
	if (in_kubepods && len > 3 && !strncmp(c, "pod", 3)) {   /* cgroupfs: kubepods/burstable/pod<uid> */
		copy_part(w->pod_uid, sizeof(w->pod_uid), c + 3, len - 3);
		return;
	}
	if (len == 64 && all_hex(c, len)) {   /* cgroupfs: /docker/<id>, kubepods/.../<id> */
		copy_part(w->container_id, sizeof(w->container_id), c, len);
		return;
	}
	if (has_suffix(c, len, ".service") || has_suffix(c, len, ".scope"))
		copy_part(w->unit, sizeof(w->unit), c, len);
}

/* <podLogDir>/<namespace>_<pod>_<uid>/<container>/ and <containers>/<pod>_<namespace>_<container>-<id>.log */
static void pod_names(struct cgroup_resolver *r, struct workload *w)
{
	DIR *d = opendir(r->pod_log_dir);
	struct dirent *e;
	char pod_dir[600] = "";
	if (!d)
		return;
	while ((e = readdir(d))) {
		const char *last = strrchr(e->d_name, '_'), *first = strchr(e->d_name, '_');
		if (!last || first == last || strcmp(last + 1, w->pod_uid) != 0)
			continue;
		copy_part(w->pod_namespace, sizeof(w->pod_namespace), e->d_name,
			  (size_t)(first - e->d_name));
		copy_part(w->pod_name, sizeof(w->pod_name), first + 1, (size_t)(last - first - 1));
		snprintf(pod_dir, sizeof(pod_dir), "%s/%s", r->pod_log_dir, e->d_name);
		break;
	}
	closedir(d);
	if (!pod_dir[0])
		return;
	/* The container's name: the /var/log/containers link that carries its id. */
	if (w->container_id[0] && (d = opendir(r->containers_dir))) {
		char prefix[300], suffix[100];
		snprintf(prefix, sizeof(prefix), "%s_%s_", w->pod_name, w->pod_namespace);
		snprintf(suffix, sizeof(suffix), "-%s.log", w->container_id);
		while ((e = readdir(d))) {
			size_t l = strlen(e->d_name), pl = strlen(prefix), sl = strlen(suffix);
			if (l > pl + sl && !strncmp(e->d_name, prefix, pl) &&
			    !strcmp(e->d_name + l - sl, suffix)) {
				copy_part(w->container_name, sizeof(w->container_name),
					  e->d_name + pl, l - pl - sl);
				break;
			}
		}
		closedir(d);
	}
	if (w->container_name[0] || !(d = opendir(pod_dir)))
		return;
	/* Else a pod with a single container directory: that one. */
	unsigned n = 0;
	char only[256] = "";
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		n++;
		snprintf(only, sizeof(only), "%s", e->d_name);
	}
	closedir(d);
	if (n == 1)
		snprintf(w->container_name, sizeof(w->container_name), "%s", only);
}

int cgroup_resolve(void *ctx, uint64_t id, struct workload *w)
{
	struct cgroup_resolver *r = ctx;
	memset(w, 0, sizeof(*w));
	if (r->mount_fd < 0 || cgroup_path(r, id, w->cgroup, sizeof(w->cgroup)) < 0)
		return -ENOENT;
	bool in_kubepods = false;
	for (const char *c = w->cgroup; *c;) {
		while (*c == '/')
			c++;
		size_t len = strcspn(c, "/");
		if (!len)
			break;
		if (!strncmp(c, "kubepods", 8))
			in_kubepods = true;
		classify(c, len, in_kubepods, w);
		c += len;
	}
	if (w->container_id[0])
		w->unit[0] = '\0';   /* a container's scope is a unit too: the container says more */
	if (w->pod_uid[0])
		pod_names(r, w);
	return 0;
}
