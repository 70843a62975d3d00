// SPDX-License-Identifier: MIT
#include "sink/metrics.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "report/doc.h"

/* Members that go up and down; everything else is a counter. */
static bool is_gauge(const char *path)
{
	return strcmp(path, "flows_active") == 0 || strcmp(path, "capture_uptime_s") == 0 ||
	       strncmp(path, "memory_", 7) == 0;
}

/* "SynSent" -> "syn_sent", appended to name at *len. */
static void append_snake(char *name, size_t cap, size_t *len, const char *key, size_t key_len)
{
	for (size_t i = 0; i < key_len && *len + 2 < cap; i++) {
		char c = key[i];
		if (isupper((unsigned char)c)) {
			if (i > 0 && name[*len - 1] != '_')
				name[(*len)++] = '_';
			c = (char)tolower((unsigned char)c);
		} else if (!isalnum((unsigned char)c)) {
			c = '_';
		}
		name[(*len)++] = c;
	}
	name[*len] = '\0';
}

static void write_metric(FILE *out, const char *name, bool gauge, const char *label_key,
			 const char *label_value, double value)
{
	const char *suffix = gauge ? "" : "_total";
	fprintf(out, "# TYPE faultline_%s%s %s\n", name, suffix, gauge ? "gauge" : "counter");
	if (label_key)
		fprintf(out, "faultline_%s%s{%s=\"%s\"} %.0f\n", name, suffix, label_key, label_value,
			value);
	else
		fprintf(out, "faultline_%s%s %.0f\n", name, suffix, value);
}

void metrics_write(const struct doc *stats, FILE *out)
{
	const struct doc *d = stats;

	for (uint32_t group = d->nodes[DOC_ROOT].v.kids.first; group != DOC_NONE;
	     group = d->nodes[group].next) {
		size_t glen;
		const char *gkey = doc_key(d, group, &glen);
		char name[128];
		size_t len = 0;
		append_snake(name, sizeof(name), &len, gkey, glen);
		size_t base = len;

		if (strcmp(name, "capture") == 0) {
			/* An info metric carries the text: backend and interfaces as labels. */
			const char *backend = doc_path_str(d, group, "backend");
			fprintf(out, "# TYPE faultline_capture_info gauge\n"
				     "faultline_capture_info{backend=\"%s\",interfaces=\"", backend ? backend : "");
			uint32_t ifs = doc_get(d, group, "interfaces");
			for (uint32_t i = 0, n; (n = doc_index(d, ifs, i)) != DOC_NONE; i++)
				fprintf(out, "%s%s", i ? "," : "", doc_str(d, n, NULL));
			fputs("\"} 1\n", out);
		}
		for (uint32_t m = d->nodes[group].v.kids.first; m != DOC_NONE; m = d->nodes[m].next) {
			size_t klen;
			const char *key = doc_key(d, m, &klen);
			len = base;
			name[len++] = '_';
			append_snake(name, sizeof(name), &len, key, klen);
			enum doc_type t = doc_type_of(d, m);
			if (t == DOC_INT || t == DOC_REAL) {
				write_metric(out, name, is_gauge(name), NULL, NULL, doc_number(d, m));
			} else if (t == DOC_OBJ) {
				/* entries.errors.{type}: one metric with a label per type */
				bool first = true;
				for (uint32_t c = d->nodes[m].v.kids.first; c != DOC_NONE; c = d->nodes[c].next) {
					if (first)
						fprintf(out, "# TYPE faultline_%s_total counter\n", name);
					first = false;
					fprintf(out, "faultline_%s_total{type=\"%s\"} %.0f\n", name,
						doc_key(d, c, NULL), doc_number(d, c));
				}
			}
		}
	}
}

struct metrics_server {
	struct MHD_Daemon *daemon;
	void (*describe)(void *ctx, struct doc *out);
	void *ctx;
	struct doc scratch;
};

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
	} else if (strcmp(url, "/metrics") != 0) {
		status = MHD_HTTP_NOT_FOUND;
		body = strdup("faultline serves /metrics\n");
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
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	if (!colon || colon == listen + strlen(listen) - 1) {
		snprintf(err, errlen, "--metrics-listen takes ADDR:PORT, got '%s'", listen);
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
		snprintf(err, errlen, "--metrics-listen: bad port in '%s'", listen);
		return -EINVAL;
	}
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (hlen == 0 || strcmp(host, "*") == 0) {
		in4->sin_family = AF_INET;
		in4->sin_addr.s_addr = htonl(INADDR_ANY);
		in4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (host[0] == '[' && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		memmove(host, host + 1, hlen - 1);
	}
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	snprintf(err, errlen, "--metrics-listen: '%s' is not an IPv4 or IPv6 address", host);
	return -EINVAL;
}

struct metrics_server *metrics_server_start(const char *listen,
					    void (*describe)(void *ctx, struct doc *out), void *ctx,
					    char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	if (parse_listen(listen, &ss, err, errlen) < 0)
		return NULL;
	struct metrics_server *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->describe = describe;
	m->ctx = ctx;
	doc_init(&m->scratch);
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->daemon = MHD_start_daemon(flags, 0, NULL, NULL, answer, m,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_CONNECTION_LIMIT, 16u,
				     MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				     MHD_OPTION_END);
	if (!m->daemon) {
		snprintf(err, errlen, "cannot listen on %s for metrics (address in use or not local?)",
			 listen);
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
	MHD_run(m->daemon);
}

void metrics_server_stop(struct metrics_server *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->daemon);
	doc_free(&m->scratch);
	free(m);
}
