// SPDX-License-Identifier: MIT
/*
 * /metrics over HTTP: libmicrohttpd driven from the capture's epoll loop,
 * with the probes of an orchestrator: /healthz (200 whenever the loop answers:
 * it serves these requests itself, so a stuck loop answers nothing) and
 * /readyz (200 while programs are attached to at least one interface, 503
 * before and in between).
 *
 * No client can starve the scrape: one request per connection (the answer
 * says "Connection: close"), every connection closed METRICS_DEADLINE_S after
 * it was accepted whatever it sends (a trickling client too), at most
 * METRICS_PER_IP connections per client address and METRICS_CONNECTIONS in
 * all.  libmicrohttpd's own messages go through fl_log.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/log.h"
#include "sink/metrics.h"

#define METRICS_CONNECTIONS 512
#define METRICS_PER_IP 16
#define METRICS_IDLE_S 5
#define METRICS_DEADLINE_S 10
#define METRICS_MEMORY_LIMIT (16 * 1024)   /* per connection: the request head must fit */

struct metrics_conn {
	struct MHD_Connection *conn;   /* NULL: free */
	int fd;
	uint64_t deadline_ns;
	bool shut;
};

struct metrics_server {
	struct MHD_Daemon *daemon;
	void (*describe)(void *ctx, struct doc *out);
	unsigned (*attached)(void *ctx);
	void *ctx;
	struct doc scratch;
	char last_error[256];          /* libmicrohttpd's last message, for a failed start */
	struct metrics_conn conns[METRICS_CONNECTIONS];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A client's misbehaviour is not the operator's problem: debug level, one line. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct metrics_server *m = cls;
	size_t n;

	vsnprintf(m->last_error, sizeof(m->last_error), fmt, ap);
	n = strlen(m->last_error);
	while (n && (m->last_error[n - 1] == '\n' || m->last_error[n - 1] == '\r'))
		m->last_error[--n] = '\0';
	pr_debug("metrics: %s\n", m->last_error);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct metrics_server *m = cls;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct metrics_conn *c = *socket_context;
		if (c)
			c->conn = NULL;
		*socket_context = NULL;
		return;
	}
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	for (unsigned i = 0; i < METRICS_CONNECTIONS && info; i++) {
		struct metrics_conn *c = &m->conns[i];
		if (c->conn)
			continue;
		*c = (struct metrics_conn){ .conn = conn, .fd = info->connect_fd,
					    .deadline_ns = mono_ns() + METRICS_DEADLINE_S * 1000000000ull };
		*socket_context = c;
		return;
	}
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **req_cls)
{
	struct metrics_server *m = cls;
	(void)version; (void)upload_data; (void)upload_size; (void)req_cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned status = MHD_HTTP_OK;
	char *body = NULL;
	size_t len = 0;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		body = strdup("only GET\n");
	} else if (strcmp(url, "/healthz") == 0) {
		body = strdup("ok\n");
	} else if (strcmp(url, "/readyz") == 0) {
		unsigned n = m->attached(m->ctx);
		if (n == 0)
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
		if (asprintf(&body, n ? "ready: capturing on %u interface%s\n" :
				  "not ready: no interface attached\n", n, n == 1 ? "" : "s") < 0)
			body = NULL;
	} else if (strcmp(url, "/metrics") != 0) {
		status = MHD_HTTP_NOT_FOUND;
		body = strdup("faultline serves /metrics, /healthz and /readyz\n");
	} else {
		FILE *f = open_memstream(&body, &len);
		if (f) {
			m->describe(m->ctx, &m->scratch);
			metrics_write(&m->scratch, f);
			fclose(f);
		}
	}
	if (!body)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type",
				status == MHD_HTTP_OK ? "text/plain; version=0.0.4; charset=utf-8"
						      : "text/plain");
	MHD_add_response_header(resp, "Connection", "close");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

int metrics_parse_listen(const char *listen, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[128];
	const char *colon = strrchr(listen, ':');

	if (!colon || colon == listen || colon[1] == '\0') {
		snprintf(err, errlen, "--metrics-listen takes ADDR:PORT (e.g. 127.0.0.1:9464, "
			 "[::1]:9464, 0.0.0.0:9464), got '%s'", listen);
		return -EINVAL;
	}
	size_t hlen = (size_t)(colon - listen);
	if (hlen >= sizeof(host)) {
		snprintf(err, errlen, "--metrics-listen: address too long");
		return -EINVAL;
	}
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535) {
		snprintf(err, errlen, "--metrics-listen: bad port in '%s' (1-65535)", listen);
		return -EINVAL;
	}
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((uint16_t)port);
			return 0;
		}
	} else if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		return 0;
	}
	snprintf(err, errlen, "--metrics-listen: '%s' is not an IPv4 address or a bracketed IPv6 "
		 "address", host);
	return -EINVAL;
}

struct metrics_server *metrics_server_start(const char *listen,
					    void (*describe)(void *ctx, struct doc *out),
					    unsigned (*attached)(void *ctx), void *ctx,
					    char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	if (metrics_parse_listen(listen, &ss, err, errlen) < 0)
		return NULL;
	struct metrics_server *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->describe = describe;
	m->attached = attached;
	m->ctx = ctx;
	doc_init(&m->scratch);
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;   /* without MHD_USE_DUAL_STACK: IPV6_V6ONLY, the address given */
	m->daemon = MHD_start_daemon(flags, 0, NULL, NULL, answer, m,
				     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNECTIONS,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)METRICS_PER_IP,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_IDLE_S,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_MEMORY_LIMIT,
				     MHD_OPTION_NOTIFY_CONNECTION, on_connection, m,
				     MHD_OPTION_END);
	if (!m->daemon) {
		snprintf(err, errlen, "--metrics-listen %s: cannot listen%s%s", listen,
			 m->last_error[0] ? ": " : " (address in use or not local?)", m->last_error);
		doc_free(&m->scratch);
		free(m);
		return NULL;
	}
	return m;
}

int metrics_server_fd(const struct metrics_server *m)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	return info ? info->epoll_fd : -1;
}

void metrics_server_run(struct metrics_server *m)
{
	uint64_t now = mono_ns();

	MHD_run(m->daemon);
	/* Past its deadline: shut the socket down; libmicrohttpd sees the end and closes it. */
	for (unsigned i = 0; i < METRICS_CONNECTIONS; i++) {
		struct metrics_conn *c = &m->conns[i];
		if (c->conn && !c->shut && now >= c->deadline_ns) {
			shutdown(c->fd, SHUT_RDWR);
			c->shut = true;
		}
	}
}

void metrics_server_stop(struct metrics_server *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->daemon);
	doc_free(&m->scratch);
	free(m);
}
