// SPDX-License-Identifier: MIT
/*
 * The control socket's file: created without a moment it is open to others,
 * and never deleting what is not ours (see ctl_open in ctl.h).
 *
 * The socket is bound in a fresh 0700 directory beside its final path, its
 * group and mode set there (nobody else can reach it yet, and nobody can
 * swap it for a symlink), then renamed into place with RENAME_NOREPLACE.
 * What was at the path before is removed only when it is a socket that
 * refuses connections: the leftover of a killed run.
 */
#include "sink/ctl_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sink/ctl.h"

#define SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

int ctl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static int mkdir_p(const char *dir)
{
	char buf[SUN_PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* A group name, or a number when no group has that name. */
static int resolve_group(const char *group, gid_t *gid)
{
	struct group *g = getgrnam(group);
	char *end;

	if (g) {
		*gid = g->gr_gid;
		return 0;
	}
	errno = 0;
	unsigned long n = strtoul(group, &end, 10);
	if (!*group || *end || errno || group[0] == '-' || n >= (gid_t)-1)
		return -ENOENT;
	*gid = (gid_t)n;
	return 0;
}

/* Whatever is at path: nothing (0), a stale socket we removed (0), or an error. */
static int clear_path(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket; not replacing it", path);
		return -EEXIST;
	}
	fd = ctl_connect(path);
	if (fd >= 0) {
		close(fd);
		snprintf(err, errlen, "%s: another faultline capture is already serving it", path);
		return -EADDRINUSE;
	}
	if (fd != -ECONNREFUSED) {
		snprintf(err, errlen, "%s: %s; not replacing it", path, strerror(-fd));
		return fd;
	}
	/* A socket nobody listens on: a killed run's. */
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "removing the stale socket %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

int ctl_listen_open(const char *path, const char *group, struct ctl_listen_file *out, char *err,
		    size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[SUN_PATH_MAX], tmpdir[PATH_MAX];
	gid_t gid = (gid_t)-1;
	struct stat st;
	int fd = -1, e;

	if (strlen(path) + 1 > SUN_PATH_MAX) {
		snprintf(err, errlen, "socket path '%s' is too long", path);
		return -ENAMETOOLONG;
	}
	if (group && resolve_group(group, &gid) < 0) {
		snprintf(err, errlen, "--socket-group: no group named '%s'", group);
		return -ENOENT;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((e = mkdir_p(dir)) < 0) {
		snprintf(err, errlen, "creating %s: %s", dir, strerror(-e));
		return e;
	}
	if ((e = clear_path(path, err, errlen)) < 0)
		return e;

	/* The private directory: its path must fit sun_path with "/s" after it. */
	snprintf(tmpdir, sizeof(tmpdir), "%s/.faultline.XXXXXX", dir);
	if (strlen(tmpdir) + 3 > SUN_PATH_MAX) {
		snprintf(err, errlen, "socket path '%s' is too long (its directory may have at most "
			 "%zu characters)", path, SUN_PATH_MAX - 21);
		return -ENAMETOOLONG;
	}
	if (!mkdtemp(tmpdir)) {
		e = -errno;
		snprintf(err, errlen, "creating a private directory beside %s: %s", path, strerror(-e));
		return e;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", tmpdir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0)
		goto fail;
	/* Inside the 0700 directory the name cannot be swapped: by path is safe here. */
	if (group && (fchownat(AT_FDCWD, sa.sun_path, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		      fchmodat(AT_FDCWD, sa.sun_path, 0660, 0) < 0))
		goto fail;
	if (lstat(sa.sun_path, &st) < 0 || listen(fd, 128) < 0)
		goto fail;
	if (renameat2(AT_FDCWD, sa.sun_path, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
		e = -errno;
		snprintf(err, errlen, "%s: %s", path,
			 e == -EEXIST ? "something appeared at the path meanwhile; not replacing it" :
			 strerror(-e));
		unlink(sa.sun_path);
		rmdir(tmpdir);
		close(fd);
		return e;
	}
	rmdir(tmpdir);
	out->fd = fd;
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	return 0;
fail:
	e = -errno;
	snprintf(err, errlen, "%s: %s", path, strerror(-e));
	if (fd >= 0)
		close(fd);
	unlink(sa.sun_path);
	rmdir(tmpdir);
	return e;
}

void ctl_listen_close(const char *path, const struct ctl_listen_file *lf)
{
	struct stat st;

	if (lf->fd < 0)
		return;
	close(lf->fd);
	/* Remove the file only if it is still the socket we made. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == lf->dev &&
	    st.st_ino == lf->ino)
		unlink(path);
}
