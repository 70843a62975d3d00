// SPDX-License-Identifier: MIT
/*
 * The control socket's clients and entry ring (the contract is in ctl.h).
 *
 * Entries are numbered as they arrive (seq); entry seq lives in ring slot
 * seq % CTL_RING_ENTRIES while seq >= total - count.  A query is a cursor:
 * it scans back from the newest entry collecting the seqs of up to LIMIT
 * matches, then renders them oldest first as its output buffer drains; a
 * follower then walks forward from where the scan started.  All of it runs
 * in ctl_run's slices, never in a handler or in the packet path.
 */
#include "sink/ctl.h"
#include "sink/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/watch.h"
#include "kfl/kfl.h"
#include "sink/ctl_socket.h"

#define CTL_OUT_HIGH (64u << 10)       /* render more only while less than this is queued */
#define CTL_OUT_KEEP (64u << 10)       /* an output buffer larger than this is freed when empty */
#define CTL_STEPS_PER_TURN 32          /* entries one client handles before the next one's turn */
/* PCRE2 steps per entry, shared by the regexes of a filter: bounds one entry's cost. */
#define CTL_REGEX_STEPS 10000u
#define NS_PER_MS 1000000ull

enum client_state {
	CL_READING,     /* waiting for the request line */
	CL_SCANNING,    /* query: collecting matches, newest first */
	CL_SENDING,     /* query: rendering the matches, oldest first */
	CL_FOLLOWING,   /* streaming new entries */
	CL_CLOSING,     /* answered: closes once the output is sent */
};

struct ctl_client {
	struct watch w;
	struct ctl *ctl;
	struct ctl_client *next_dead;
	bool dead;                 /* unregistered; freed by the next ctl_run */
	bool read_closed;          /* the client sent all it will send */
	bool counted_query;        /* holds one of the CTL_MAX_QUERIES */
	enum client_state state;
	uint32_t events;           /* what epoll watches for it */
	char in[CTL_REQUEST_MAX];
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	uint64_t deadline_ns;      /* READING: closed when reached; 0: none */
	uint64_t stuck_since_ns;   /* output waiting and none sent since; 0: nothing waits */
	struct kfl_expr *filter;
	uint32_t limit;
	bool follow;
	uint64_t scan;             /* SCANNING: seqs below it are still to test */
	uint64_t scan_end;         /* the newest seq + 1 when the query came: following starts there */
	uint64_t *matches;         /* SCANNING/SENDING: matching seqs, newest first */
	uint32_t n_matches, cap_matches;
	uint64_t cursor;           /* FOLLOWING: the next seq to test */
	uint64_t lost;             /* matching entries not sent, not yet reported */
	int64_t budget_ns;         /* filter time left */
	uint64_t refill_ns;        /* follower: when the budget was last refilled */
};

struct ctl_slot {
	struct doc doc;
	size_t bytes;              /* the doc's memory, as accounted */
};

struct ctl {
	struct watch listen;
	struct ctl_listen_file lf;
	int epfd;
	char path[108];
	struct fl_stats *stats;
	struct fl_stats own_stats; /* when the caller gives none */
	void (*describe)(void *ctx, struct doc *out);
	void *describe_ctx;
	struct ctl_client *clients[CTL_MAX_CLIENTS];
	struct ctl_client *dead;   /* unregistered, to free after the batch */
	unsigned n_queries, next_turn;
	uint64_t idle_ns;
	int64_t budget_ns;         /* filter time per query */
	struct ctl_slot *ring;
	uint64_t total;            /* entries ever added: the next seq */
	uint32_t count;            /* entries in the ring */
	size_t ring_bytes, client_bytes;
	struct doc scratch;
	struct {
		uint64_t accepted, busy, timed_out, bad_requests, over_budget, lost, ring_evicted;
	} counters;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void account(struct ctl *c)
{
	c->stats->memory.control_bytes = c->ring_bytes + c->client_bytes;
}

static uint64_t oldest_seq(const struct ctl *c)
{
	return c->total - c->count;
}

static struct ctl_slot *slot_of(struct ctl *c, uint64_t seq)
{
	return &c->ring[seq % CTL_RING_ENTRIES];
}

/* ---- client lifetime ---- */

static void client_release_query(struct ctl_client *cl)
{
	if (cl->counted_query) {
		cl->ctl->n_queries--;
		cl->counted_query = false;
	}
}

/*
 * Unregister now, free later: the epoll batch being handled may still hold an
 * event for this client, and a dead client's handler does nothing.
 */
static void client_close(struct ctl_client *cl)
{
	struct ctl *c = cl->ctl;

	if (cl->dead)
		return;
	cl->dead = true;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->clients[i] == cl)
			c->clients[i] = NULL;
	client_release_query(cl);
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->w.fd, NULL);
	close(cl->w.fd);
	cl->w.fd = -1;
	cl->next_dead = c->dead;
	c->dead = cl;
}

static void client_free(struct ctl_client *cl)
{
	struct ctl *c = cl->ctl;

	c->client_bytes -= sizeof(*cl) + cl->out_cap + cl->cap_matches * sizeof(uint64_t);
	account(c);
	kfl_free(cl->filter);
	free(cl->matches);
	free(cl->out);
	free(cl);
}

static void reap(struct ctl *c)
{
	while (c->dead) {
		struct ctl_client *cl = c->dead;
		c->dead = cl->next_dead;
		client_free(cl);
	}
}

/* ---- output ---- */

static size_t queued(const struct ctl_client *cl)
{
	return cl->out_len - cl->out_off;
}

static bool client_queue(struct ctl_client *cl, const char *data, size_t len)
{
	struct ctl *c = cl->ctl;

	if (cl->out_off == cl->out_len)
		cl->out_off = cl->out_len = 0;
	if (cl->out_off && cl->out_len + len > cl->out_cap) {
		memmove(cl->out, cl->out + cl->out_off, queued(cl));
		cl->out_len -= cl->out_off;
		cl->out_off = 0;
	}
	if (cl->out_len + len > cl->out_cap) {
		size_t cap = cl->out_cap ? cl->out_cap : 4096;
		while (cap < cl->out_len + len)
			cap *= 2;
		if (!memory_allows(c->stats, cap - cl->out_cap)) {
			c->stats->memory.over_limit++;
			return false;
		}
		char *p = realloc(cl->out, cap);
		if (!p)
			return false;
		c->client_bytes += cap - cl->out_cap;
		account(c);
		cl->out = p;
		cl->out_cap = cap;
	}
	memcpy(cl->out + cl->out_len, data, len);
	cl->out_len += len;
	return true;
}

static void client_watch(struct ctl_client *cl, uint32_t events)
{
	if (events != cl->events && watch_mod(cl->ctl->epfd, &cl->w, events) == 0)
		cl->events = events;
}

/* Write what is queued; closes the client when it is gone or done. */
static void client_flush(struct ctl_client *cl)
{
	struct ctl *c = cl->ctl;

	if (cl->dead)
		return;
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->w.fd, cl->out + cl->out_off, queued(cl),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			client_close(cl);
			return;
		}
		cl->out_off += (size_t)n;
		cl->stuck_since_ns = 0;   /* progress */
	}
	if (queued(cl) && !cl->stuck_since_ns)
		cl->stuck_since_ns = now_ns();
	if (cl->out_off == cl->out_len) {
		if (cl->state == CL_CLOSING) {
			client_close(cl);
			return;
		}
		if (cl->out_cap > CTL_OUT_KEEP) {
			c->client_bytes -= cl->out_cap;
			account(c);
			free(cl->out);
			cl->out = NULL;
			cl->out_cap = cl->out_len = cl->out_off = 0;
		}
	}
	/* EPOLLOUT only while something waits (hang-ups are always reported). */
	client_watch(cl, (cl->read_closed ? 0 : EPOLLIN) | (queued(cl) ? EPOLLOUT : 0));
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
	client_release_query(cl);
	cl->state = CL_CLOSING;
	cl->deadline_ns = 0;
}

/* ---- requests ---- */

static void start_query(struct ctl_client *cl, const struct ctl_request *req)
{
	struct ctl *c = cl->ctl;
	char err[1024];

	if (c->n_queries >= CTL_MAX_QUERIES) {
		c->counters.busy++;
		snprintf(err, sizeof(err), "busy: %d queries are running; try again later",
			 CTL_MAX_QUERIES);
		client_error(cl, 1, err);
		return;
	}
	if (*req->filter) {
		cl->filter = kfl_compile(req->filter, err, sizeof(err));
		if (!cl->filter) {
			c->counters.bad_requests++;
			client_error(cl, 2, err);
			return;
		}
		unsigned n = kfl_regex_count(cl->filter);
		kfl_set_regex_limit(cl->filter, CTL_REGEX_STEPS / (n ? n : 1));
	}
	uint32_t want = req->limit && req->limit < CTL_RING_ENTRIES ? req->limit : CTL_RING_ENTRIES;
	if (!memory_allows(c->stats, want * sizeof(uint64_t)) ||
	    !(cl->matches = malloc(want * sizeof(uint64_t)))) {
		c->stats->memory.over_limit++;
		client_error(cl, 1, "busy: out of memory for the query; try again later");
		return;
	}
	cl->cap_matches = want;
	c->client_bytes += want * sizeof(uint64_t);
	account(c);
	c->n_queries++;
	cl->counted_query = true;
	cl->limit = req->limit;
	cl->follow = req->follow;
	cl->scan = cl->scan_end = c->total;
	cl->state = CL_SCANNING;
	cl->budget_ns = c->budget_ns;
	cl->deadline_ns = 0;
}

static void handle_request(struct ctl_client *cl, char *line, size_t len)
{
	struct ctl *c = cl->ctl;
	struct ctl_request req;
	char err[256];

	if (len && line[len - 1] == '\r')    /* nc -C, telnet */
		line[--len] = '\0';
	int rc = ctl_parse_request(line, len, &req, err, sizeof(err));
	if (rc) {
		c->counters.bad_requests++;
		client_error(cl, rc, err);
		return;
	}
	if (req.kind == CTL_REQ_QUERY) {
		start_query(cl, &req);
		return;
	}
	c->describe(c->describe_ctx, &c->scratch);
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	if (f) {
		if (req.kind == CTL_REQ_STATS) {
			doc_write_json(&c->scratch, DOC_ROOT, f);
			fputc('\n', f);
		} else {
			metrics_write(&c->scratch, f);
		}
		fclose(f);
	}
	if (text)
		client_queue(cl, text, n);
	free(text);
	cl->state = CL_CLOSING;
	cl->deadline_ns = 0;
}

/*
 * Read the request line.  The end of the client's input (a half-close, as
 * `echo stats | nc -U` does) also ends the request; the client is gone only
 * when the socket hangs up or a send fails.
 */
static void client_handle(struct watch *w, uint32_t events)
{
	struct ctl_client *cl = watch_container(w, struct ctl_client, w);

	if (cl->dead)
		return;     /* an event of the batch that saw it go */
	if (events & (EPOLLHUP | EPOLLERR)) {
		client_close(cl);
		return;
	}
	while ((events & EPOLLIN) && !cl->read_closed) {
		char junk[256];
		bool discard = cl->state != CL_READING;
		ssize_t n = discard ? recv(w->fd, junk, sizeof(junk), MSG_DONTWAIT) :
			    recv(w->fd, cl->in + cl->in_len, sizeof(cl->in) - 1 - cl->in_len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			client_close(cl);
			return;
		}
		if (n == 0) {
			cl->read_closed = true;
			if (cl->state == CL_READING && cl->in_len)
				handle_request(cl, cl->in, cl->in_len);
			else if (cl->state == CL_READING)
				cl->state = CL_CLOSING;   /* connected and left without asking */
			break;
		}
		if (discard)
			continue;
		size_t seen = cl->in_len;
		cl->in_len += (size_t)n;
		cl->in[cl->in_len] = '\0';
		char *nl = memchr(cl->in + seen, '\n', (size_t)n);
		if (nl) {
			*nl = '\0';
			handle_request(cl, cl->in, (size_t)(nl - cl->in));
		} else if (cl->in_len == sizeof(cl->in) - 1) {
			cl->ctl->counters.bad_requests++;
			client_error(cl, 2, "request too long");
		}
	}
	client_flush(cl);
}

static void listen_handle(struct watch *w, uint32_t events)
{
	struct ctl *c = watch_container(w, struct ctl, listen);

	(void)events;
	for (int i = 0; i < 32; i++) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		int slot = -1;
		for (int k = 0; k < CTL_MAX_CLIENTS && slot < 0; k++)
			if (!c->clients[k])
				slot = k;
		struct ctl_client *cl = NULL;
		if (slot >= 0 && memory_allows(c->stats, sizeof(*cl)))
			cl = calloc(1, sizeof(*cl));
		if (!cl) {
			static const char busy[] = "error 1 busy: too many clients are connected; try again\n";
			c->counters.busy++;
			send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		cl->ctl = c;
		cl->w.fd = fd;
		cl->w.handle = client_handle;
		cl->events = EPOLLIN;
		cl->deadline_ns = now_ns() + c->idle_ns;
		if (watch_add(c->epfd, &cl->w, EPOLLIN) < 0) {
			close(fd);
			free(cl);
			continue;
		}
		c->client_bytes += sizeof(*cl);
		account(c);
		c->counters.accepted++;
		c->clients[slot] = cl;
	}
}

/* ---- query work, in slices ---- */

/* Match one entry against the client's filter, charging the time to its budget. */
static bool client_matches(struct ctl_client *cl, const struct doc *d)
{
	if (!cl->filter)
		return true;
	uint64_t t0 = now_ns();
	bool m = kfl_match(cl->filter, d);
	cl->budget_ns -= (int64_t)(now_ns() - t0);
	return m;
}

static bool over_budget(struct ctl_client *cl)
{
	char msg[256];

	if (cl->budget_ns >= 0)
		return false;
	cl->ctl->counters.over_budget++;
	snprintf(msg, sizeof(msg), "query exceeded its budget (%lld ms of filter evaluation%s); "
		 "narrow the filter or simplify its regular expressions",
		 (long long)(cl->ctl->budget_ns / (int64_t)NS_PER_MS),
		 cl->state == CL_FOLLOWING ? ", refilled at 5% of the time" : "");
	client_error(cl, 1, msg);
	return true;
}

/* Render entry seq into the output.  False when it could not be (counted as lost). */
static bool send_entry(struct ctl_client *cl, uint64_t seq)
{
	struct ctl *c = cl->ctl;
	size_t len;

	if (seq < oldest_seq(c)) {
		cl->lost++;
		return false;
	}
	if (cl->lost) {
		char note[48];
		int n = snprintf(note, sizeof(note), "lost %llu\n", (unsigned long long)cl->lost);
		if (!client_queue(cl, note, (size_t)n))
			return false;
		c->counters.lost += cl->lost;
		cl->lost = 0;
	}
	char *line = doc_line(&slot_of(c, seq)->doc, &len);
	bool ok = line && client_queue(cl, line, len);
	free(line);
	if (!ok)
		cl->lost++;
	return ok;
}

/* Whether a step can make progress now. */
static bool client_has_work(const struct ctl_client *cl)
{
	const struct ctl *c = cl->ctl;

	if (cl->dead)
		return false;
	switch (cl->state) {
	case CL_SCANNING:
		return true;
	case CL_SENDING:
		return queued(cl) < CTL_OUT_HIGH;
	case CL_FOLLOWING:
		return cl->cursor < c->total && queued(cl) < CTL_OUT_HIGH;
	default:
		return false;
	}
}

static void client_step(struct ctl_client *cl)
{
	struct ctl *c = cl->ctl;

	switch (cl->state) {
	case CL_SCANNING: {
		uint64_t seq = cl->scan - 1;
		if (cl->scan == 0 || seq < oldest_seq(c) ||
		    (cl->limit && cl->n_matches == cl->limit) || cl->n_matches == cl->cap_matches) {
			cl->state = CL_SENDING;
			return;
		}
		if (client_matches(cl, &slot_of(c, seq)->doc))
			cl->matches[cl->n_matches++] = seq;
		cl->scan = seq;
		over_budget(cl);
		return;
	}
	case CL_SENDING:
		if (cl->n_matches) {
			send_entry(cl, cl->matches[--cl->n_matches]);
			return;
		}
		if (cl->follow) {
			cl->state = CL_FOLLOWING;
			cl->cursor = cl->scan_end;
			cl->refill_ns = now_ns();
		} else {
			client_release_query(cl);
			cl->state = CL_CLOSING;
		}
		return;
	case CL_FOLLOWING: {
		/* Too far behind: skip to the newest CTL_FOLLOW_BACKLOG (unsent entries are lost). */
		uint64_t from = oldest_seq(c);
		if (c->total - from > CTL_FOLLOW_BACKLOG)
			from = c->total - CTL_FOLLOW_BACKLOG;
		if (cl->cursor < from) {
			cl->lost += from - cl->cursor;   /* not all would have matched: an upper bound */
			cl->cursor = from;
		}
		uint64_t t = now_ns();
		cl->budget_ns += (int64_t)(t - cl->refill_ns) / 20;
		if (cl->budget_ns > c->budget_ns)
			cl->budget_ns = c->budget_ns;
		cl->refill_ns = t;
		uint64_t seq = cl->cursor++;
		if (client_matches(cl, &slot_of(c, seq)->doc))
			send_entry(cl, seq);
		over_budget(cl);
		return;
	}
	default:
		return;
	}
}

static void check_deadlines(struct ctl *c, uint64_t now)
{
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = c->clients[i];
		/* Silent since connecting, or not reading what waits for it. */
		if (cl && ((cl->deadline_ns && now >= cl->deadline_ns) ||
			   (cl->stuck_since_ns && now - cl->stuck_since_ns >= 10 * c->idle_ns))) {
			c->counters.timed_out++;
			client_close(cl);
		}
	}
}

bool ctl_run(struct ctl *c)
{
	bool more = false;

	if (!c)
		return false;
	reap(c);
	uint64_t start = now_ns(), deadline = start + CTL_SLICE_US * 1000ull;
	check_deadlines(c, start);
	/* Round robin, a few entries per client per turn, until the slice is used up. */
	for (bool progress = true; progress && !more;) {
		progress = false;
		for (unsigned k = 0; k < CTL_MAX_CLIENTS; k++) {
			struct ctl_client *cl = c->clients[(c->next_turn + k) % CTL_MAX_CLIENTS];
			if (!cl || !client_has_work(cl))
				continue;
			bool late = false;
			for (int s = 0; s < CTL_STEPS_PER_TURN && client_has_work(cl) && !late; s++) {
				client_step(cl);
				late = now_ns() >= deadline;
			}
			progress = true;
			if (late) {
				c->next_turn = (c->next_turn + k + 1) % CTL_MAX_CLIENTS;
				more = true;
				break;
			}
		}
	}
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = c->clients[i];
		if (cl && (queued(cl) || cl->state == CL_CLOSING))
			client_flush(cl);
	}
	for (int i = 0; i < CTL_MAX_CLIENTS && !more; i++)
		more = c->clients[i] && client_has_work(c->clients[i]);
	reap(c);
	return more;
}

/* ---- the entry sink: a copy into the ring, nothing more ---- */

static size_t doc_bytes(const struct doc *d)
{
	return (size_t)d->cap_nodes * sizeof(*d->nodes) + d->pool_cap;
}

static void ctl_emit(void *ctx, const struct doc *entry, const struct entry_meta *meta)
{
	struct ctl *c = ctx;
	struct ctl_slot *s = slot_of(c, c->total);

	(void)meta;
	doc_reset(&s->doc);
	for (uint32_t k = entry->nodes[DOC_ROOT].v.kids.first; k != DOC_NONE; k = entry->nodes[k].next)
		doc_copy(&s->doc, DOC_ROOT, doc_key(entry, k, NULL), entry, k);
	c->ring_bytes += doc_bytes(&s->doc) - s->bytes;
	s->bytes = doc_bytes(&s->doc);
	c->total++;
	if (c->count < CTL_RING_ENTRIES)
		c->count++;
	account(c);
	/* Over the memory limit: give back the oldest entries' memory. */
	while (c->count > 1 && !memory_allows(c->stats, 0)) {
		struct ctl_slot *old = slot_of(c, oldest_seq(c));
		c->ring_bytes -= old->bytes;
		doc_free(&old->doc);
		doc_init(&old->doc);
		old->bytes = 0;
		c->count--;
		c->counters.ring_evicted++;
		c->stats->memory.over_limit++;
		account(c);
	}
}

struct entry_sink ctl_entry_sink(struct ctl *c)
{
	return (struct entry_sink){ .emit = ctl_emit, .ctx = c };
}

/* ---- setup ---- */

bool ctl_serving(const struct ctl *c)
{
	return c && c->n_queries > 0;
}

void ctl_describe(const struct ctl *c, struct doc *d)
{
	unsigned clients = 0, followers = 0;

	if (!c)
		return;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->clients[i]) {
			clients++;
			followers += c->clients[i]->state == CL_FOLLOWING;
		}
	uint32_t o = doc_add_obj(d, DOC_ROOT, "control");
	doc_add_int(d, o, "clients", clients);
	doc_add_int(d, o, "followers", followers);
	doc_add_int(d, o, "ring_entries", c->count);
	doc_add_int(d, o, "accepted", (int64_t)c->counters.accepted);
	doc_add_int(d, o, "busy", (int64_t)c->counters.busy);
	doc_add_int(d, o, "timed_out", (int64_t)c->counters.timed_out);
	doc_add_int(d, o, "bad_requests", (int64_t)c->counters.bad_requests);
	doc_add_int(d, o, "over_budget", (int64_t)c->counters.over_budget);
	doc_add_int(d, o, "lost", (int64_t)c->counters.lost);
	doc_add_int(d, o, "ring_evicted", (int64_t)c->counters.ring_evicted);
}

void ctl_set_limits(struct ctl *c, unsigned idle_ms, unsigned budget_ms)
{
	c->idle_ns = (uint64_t)idle_ms * NS_PER_MS;
	c->budget_ns = (int64_t)budget_ms * (int64_t)NS_PER_MS;
}

struct ctl *ctl_open(const char *path, const char *group, int epfd, struct fl_stats *stats,
		     void (*describe)(void *ctx, struct doc *out), void *ctx, char *err, size_t errlen)
{
	struct ctl *c = calloc(1, sizeof(*c));
	int e;

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
	c->stats = stats ? stats : &c->own_stats;
	c->epfd = epfd;
	c->describe = describe;
	c->describe_ctx = ctx;
	ctl_set_limits(c, CTL_IDLE_TIMEOUT_MS, CTL_QUERY_BUDGET_MS);
	c->ring_bytes = CTL_RING_ENTRIES * sizeof(*c->ring);
	account(c);
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->lf.fd = -1;
	if ((e = ctl_listen_open(path, group, &c->lf, err, errlen)) < 0)
		goto fail;
	c->listen.fd = c->lf.fd;
	c->listen.handle = listen_handle;
	if (watch_add(epfd, &c->listen, EPOLLIN) < 0) {
		e = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	return c;
fail:
	ctl_close(c);
	errno = -e;
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
				client_close(c->clients[i]);
		}
	reap(c);
	ctl_listen_close(c->path, &c->lf);
	for (unsigned i = 0; i < CTL_RING_ENTRIES; i++)
		doc_free(&c->ring[i].doc);
	c->stats->memory.control_bytes = 0;
	doc_free(&c->scratch);
	free(c->ring);
	free(c);
}
