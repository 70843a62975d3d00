// SPDX-License-Identifier: MIT
#include "sink/ctl.h"
#include "sink/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kfl/kfl.h"
#include "core/watch.h"


#define CTL_MAX_CLIENTS 64
#define CTL_REQUEST_MAX 4096
#define CTL_OUTPUT_MAX (16u << 20)   /* bytes queued for one client before entries are dropped */

struct ctl_client {
	struct watch w;
	struct ctl *ctl;
	char in[CTL_REQUEST_MAX];
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	bool answered;       /* the request has been handled */
	bool read_closed;    /* the client sent all it will send */
	bool follow;         /* stream new entries */
	bool close_when_sent;
	uint64_t dropped;
	struct kfl_expr *filter;
};

struct ctl_slot {
	struct doc doc;
	uint64_t id;
	bool used;
};

struct ctl {
	struct watch listen;
	int epfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	void (*describe)(void *ctx, struct doc *out);
	void *describe_ctx;
	struct ctl_client *clients[CTL_MAX_CLIENTS];
	struct ctl_slot *ring;   /* CTL_RING_ENTRIES, oldest at `head` once full */
	unsigned head, count;
	struct doc scratch;
};

/* ---- output buffers ---- */

static bool client_queue(struct ctl_client *cl, const char *data, size_t len)
{
	if (cl->out_off == cl->out_len)
		cl->out_off = cl->out_len = 0;
	if (cl->out_len + len > CTL_OUTPUT_MAX)
		return false;
	if (cl->out_len + len > cl->out_cap) {
		size_t cap = cl->out_cap ? cl->out_cap : 4096;
		while (cap < cl->out_len + len)
			cap *= 2;
		char *p = realloc(cl->out, cap);
		if (!p)
			return false;
		cl->out = p;
		cl->out_cap = cap;
	}
	memcpy(cl->out + cl->out_len, data, len);
	cl->out_len += len;
	return true;
}

/* doc as one JSON line, in a malloc'ed buffer. */
static char *doc_line(const struct doc *d, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	doc_write_json(d, DOC_ROOT, f);
	fputc('\n', f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void client_free(struct ctl_client *cl)
{
	struct ctl *c = cl->ctl;

	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->clients[i] == cl)
			c->clients[i] = NULL;
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->w.fd, NULL);
	close(cl->w.fd);
	kfl_free(cl->filter);
	free(cl->out);
	free(cl);
}

/* Write what is queued.  Returns false when the client is gone (freed). */
static bool client_flush(struct ctl_client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->w.fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			client_free(cl);
			return false;
		}
		cl->out_off += (size_t)n;
	}
	if (cl->out_off == cl->out_len && cl->close_when_sent) {
		client_free(cl);
		return false;
	}
	/* Ask for EPOLLOUT only while something waits (hang-ups are always reported). */
	watch_mod(cl->ctl->epfd, &cl->w, (cl->read_closed ? 0 : EPOLLIN) |
		  (cl->out_off < cl->out_len ? EPOLLOUT : 0));
	return true;
}

/* "error CODE TEXT", one line per line of msg (a KFL error carries its query and a caret). */
static void client_error(struct ctl_client *cl, int code, const char *msg)
{
	char line[CTL_REQUEST_MAX + 64];

	do {
		size_t len = strcspn(msg, "\n");
		int n = snprintf(line, sizeof(line), "error %d %.*s\n", code, (int)len, msg);
		client_queue(cl, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
		msg += len;
	} while (*msg++ == '\n');
	cl->close_when_sent = true;
}

/* ---- requests ---- */

static bool client_matches(struct ctl_client *cl, const struct doc *d)
{
	return !cl->filter || kfl_match(cl->filter, d);
}

static void handle_query(struct ctl_client *cl, char *args)
{
	struct ctl *c = cl->ctl;
	char *end;
	unsigned long limit = strtoul(args, &end, 10);
	unsigned matched = 0, start;

	if (end == args || (*end && *end != ' ')) {
		client_error(cl, 2, "query takes: LIMIT FOLLOW [FILTER]");
		return;
	}
	args = end;
	while (*args == ' ')
		args++;
	cl->follow = *args == '1';
	if (*args)
		args++;
	while (*args == ' ')
		args++;
	if (*args) {
		char err[1024];
		cl->filter = kfl_compile(args, err, sizeof(err));
		if (!cl->filter) {
			client_error(cl, 2, err);
			return;
		}
	}
	/* Count the matches first so that the newest LIMIT are sent, oldest first. */
	start = c->count < CTL_RING_ENTRIES ? 0 : c->head;
	for (unsigned i = 0; i < c->count; i++)
		matched += client_matches(cl, &c->ring[(start + i) % CTL_RING_ENTRIES].doc);
	unsigned skip = limit && matched > limit ? matched - (unsigned)limit : 0;
	for (unsigned i = 0; i < c->count; i++) {
		struct ctl_slot *s = &c->ring[(start + i) % CTL_RING_ENTRIES];
		if (!client_matches(cl, &s->doc))
			continue;
		if (skip) {
			skip--;
			continue;
		}
		size_t len;
		char *line = doc_line(&s->doc, &len);
		if (line && !client_queue(cl, line, len))
			cl->dropped++;
		free(line);
	}
	cl->close_when_sent = !cl->follow;
}

static void handle_request(struct ctl_client *cl, char *line)
{
	struct ctl *c = cl->ctl;

	cl->answered = true;
	if (strcmp(line, "stats") == 0) {
		c->describe(c->describe_ctx, &c->scratch);
		size_t len;
		char *out = doc_line(&c->scratch, &len);
		if (out)
			client_queue(cl, out, len);
		free(out);
		cl->close_when_sent = true;
	} else if (strcmp(line, "metrics") == 0) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		c->describe(c->describe_ctx, &c->scratch);
		if (f) {
			metrics_write(&c->scratch, f);
			fclose(f);
		}
		if (text)
			client_queue(cl, text, len);
		free(text);
		cl->close_when_sent = true;
	} else if (strncmp(line, "query ", 6) == 0) {
		handle_query(cl, line + 6);
	} else {
		client_error(cl, 2, "unknown request (expected 'stats', 'metrics' or 'query')");
	}
}

/*
 * Read the request line.  The end of the client's input (a half-close, as
 * `echo stats | nc -U` does) also ends the request; the client is gone only
 * when the socket hangs up or a send fails.
 */
static void client_handle(struct watch *w, uint32_t events)
{
	struct ctl_client *cl = watch_container(w, struct ctl_client, w);

	if (events & (EPOLLHUP | EPOLLERR)) {
		client_free(cl);
		return;
	}
	while ((events & EPOLLIN) && !cl->read_closed) {
		char junk[256];
		bool discard = cl->answered;
		ssize_t n = discard ? recv(w->fd, junk, sizeof(junk), MSG_DONTWAIT) :
			    recv(w->fd, cl->in + cl->in_len, sizeof(cl->in) - 1 - cl->in_len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			client_free(cl);
			return;
		}
		if (n == 0) {
			cl->read_closed = true;
			if (!cl->answered && cl->in_len)
				handle_request(cl, cl->in);
			else if (!cl->answered)
				cl->close_when_sent = true;   /* connected and left without asking */
			break;
		}
		if (discard)
			continue;
		cl->in_len += (size_t)n;
		cl->in[cl->in_len] = '\0';
		char *nl = strchr(cl->in, '\n');
		if (nl) {
			*nl = '\0';
			handle_request(cl, cl->in);
		} else if (cl->in_len == sizeof(cl->in) - 1) {
			cl->answered = true;
			client_error(cl, 2, "request too long");
		}
	}
	client_flush(cl);
}

static void listen_handle(struct watch *w, uint32_t events)
{
	struct ctl *c = watch_container(w, struct ctl, listen);

	(void)events;
	for (int i = 0; i < 16; i++) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		int slot = -1;
		for (int k = 0; k < CTL_MAX_CLIENTS && slot < 0; k++)
			if (!c->clients[k])
				slot = k;
		struct ctl_client *cl = slot >= 0 ? calloc(1, sizeof(*cl)) : NULL;
		if (!cl) {
			static const char busy[] = "error 1 too many clients\n";
			send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		cl->ctl = c;
		cl->w.fd = fd;
		cl->w.handle = client_handle;
		if (watch_add(c->epfd, &cl->w, EPOLLIN) < 0) {
			close(fd);
			free(cl);
			continue;
		}
		c->clients[slot] = cl;
	}
}

/* ---- the entry sink ---- */

static void ctl_emit(void *ctx, const struct doc *entry, const struct entry_meta *meta)
{
	struct ctl *c = ctx;
	struct ctl_slot *s;
	char *line = NULL;
	size_t len = 0;

	if (c->count < CTL_RING_ENTRIES) {
		s = &c->ring[c->count++];
	} else {
		s = &c->ring[c->head];
		c->head = (c->head + 1) % CTL_RING_ENTRIES;
	}
	doc_reset(&s->doc);
	for (uint32_t k = entry->nodes[DOC_ROOT].v.kids.first; k != DOC_NONE; k = entry->nodes[k].next)
		doc_copy(&s->doc, DOC_ROOT, doc_key(entry, k, NULL), entry, k);
	s->id = meta->id;
	s->used = true;

	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = c->clients[i];
		if (!cl || !cl->follow || cl->close_when_sent || !client_matches(cl, entry))
			continue;
		if (!line)
			line = doc_line(entry, &len);
		if (!line || !client_queue(cl, line, len)) {
			cl->dropped++;
			continue;
		}
		client_flush(cl);
	}
	free(line);
}

struct entry_sink ctl_entry_sink(struct ctl *c)
{
	return (struct entry_sink){ .emit = ctl_emit, .ctx = c };
}

/* ---- setup ---- */

static int mkdir_p(const char *dir)
{
	char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];

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

struct ctl *ctl_open(const char *path, const char *group, int epfd,
		     void (*describe)(void *ctx, struct doc *out), void *ctx, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl *c;
	gid_t gid = (gid_t)-1;
	int e, fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path '%s' is too long", path);
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (group) {
		struct group *g = getgrnam(group);
		if (!g) {
			snprintf(err, errlen, "--socket-group: no group named '%s'", group);
			errno = ENOENT;
			return NULL;
		}
		gid = g->gr_gid;
	}
	strcpy(sa.sun_path, path);
	char dir[sizeof(sa.sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if ((e = mkdir_p(dir)) < 0) {
			snprintf(err, errlen, "creating %s: %s", dir, strerror(-e));
			errno = -e;
			return NULL;
		}
	}
	/* A socket file nobody answers on is a leftover of a killed run. */
	fd = ctl_connect(path);
	if (fd >= 0) {
		close(fd);
		snprintf(err, errlen, "%s: another faultline capture is already serving it", path);
		errno = EADDRINUSE;
		return NULL;
	}
	unlink(path);

	c = calloc(1, sizeof(*c));
	if (c)
		c->ring = calloc(CTL_RING_ENTRIES, sizeof(*c->ring));
	if (!c || !c->ring) {
		free(c);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	for (unsigned i = 0; i < CTL_RING_ENTRIES; i++)
		doc_init(&c->ring[i].doc);
	doc_init(&c->scratch);
	c->epfd = epfd;
	c->describe = describe;
	c->describe_ctx = ctx;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->listen.handle = listen_handle;
	c->listen.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen.fd < 0)
		goto fail;
	/* Created with the final mode, so there is no moment it is open to others. */
	mode_t old = umask(group ? 0117 : 0177);
	int rc = bind(c->listen.fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0)
		goto fail;
	if (group && (chown(path, (uid_t)-1, gid) < 0 || chmod(path, 0660) < 0))
		goto fail;
	if (listen(c->listen.fd, 16) < 0 || watch_add(epfd, &c->listen, EPOLLIN) < 0)
		goto fail;
	return c;
fail:
	e = errno;
	snprintf(err, errlen, "%s: %s", path, strerror(e));
	ctl_close(c);
	errno = e;
	return NULL;
}

void ctl_close(struct ctl *c)
{
	if (!c)
		return;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->clients[i]) {
			client_flush(c->clients[i]);
			if (c->clients[i])
				client_free(c->clients[i]);
		}
	if (c->listen.fd > 0) {
		close(c->listen.fd);
		unlink(c->path);
	}
	for (unsigned i = 0; i < CTL_RING_ENTRIES; i++)
		doc_free(&c->ring[i].doc);
	doc_free(&c->scratch);
	free(c->ring);
	free(c);
}
