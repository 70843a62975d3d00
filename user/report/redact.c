// SPDX-License-Identifier: MIT
#include "report/redact.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static bool eq_ci(const char *s, size_t len, const char *name)
{
	return len == strlen(name) && strncasecmp(s, name, len) == 0;
}

static bool key_is(const struct doc *d, uint32_t node, const char *name)
{
	size_t len;
	const char *k = doc_key(d, node, &len);
	return eq_ci(k, len, name);
}

static void set(struct doc *d, uint32_t node, const char *s)
{
	doc_set_str(d, node, s, strlen(s));
}

static void redact_headers(struct doc *d, uint32_t hdrs)
{
	if (doc_type_of(d, hdrs) != DOC_OBJ)
		return;
	for (uint32_t c = d->nodes[hdrs].v.kids.first; c != DOC_NONE; c = d->nodes[c].next) {
		if (doc_type_of(d, c) != DOC_STR)
			continue;
		bool auth = key_is(d, c, "Authorization") || key_is(d, c, "Proxy-Authorization");
		if (!auth && !key_is(d, c, "Cookie") && !key_is(d, c, "Set-Cookie"))
			continue;
		size_t len;
		const char *v = doc_str(d, c, &len);
		const char *sp = auth ? memchr(v, ' ', len) : NULL;
		/* The scheme ("Bearer", "Basic") says how, not what: kept. */
		if (sp && sp > v && (size_t)(sp - v) < 32) {
			char buf[32 + sizeof(REDACTED) + 1];
			size_t n = (size_t)(sp - v);
			memcpy(buf, v, n);
			buf[n] = ' ';
			memcpy(buf + n + 1, REDACTED, sizeof(REDACTED));
			set(d, c, buf);
		} else if (len) {
			set(d, c, REDACTED);
		}
	}
}

static bool secret_param(const char *name, size_t len)
{
	static const char *const names[] = {
		"password", "passwd", "pwd", "pass", "token", "access_token", "refresh_token",
		"id_token", "api_key", "apikey", "secret", "client_secret",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (eq_ci(name, len, names[i]))
			return true;
	return false;
}

/* Append s[0..n) to out at *o, never past cap (the result is cut, never overrun). */
static void put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
	if (*o + n > cap)
		n = cap - *o;
	memcpy(out + *o, s, n);
	*o += n;
}

/* A request target: the password of URL userinfo, credential query values. */
static void redact_target(struct doc *d, uint32_t node)
{
	if (doc_type_of(d, node) != DOC_STR)
		return;
	size_t len;
	const char *s = doc_str(d, node, &len);
	char out[16384];
	size_t o = 0, i = 0;
	bool changed = false;
	if (len > 2048) {
		/* Longer than the dissectors keep (HTTP_STORE_BYTES): all or nothing. */
		if (memchr(s, '?', len) || memchr(s, '@', len))
			set(d, node, REDACTED);
		return;
	}

	/* scheme://user:password@host/... (absolute form, to proxies) */
	const char *sep = memmem(s, len, "://", 3);
	const char *q0 = memchr(s, '?', len);
	if (sep && (!q0 || sep < q0)) {
		size_t a = (size_t)(sep - s) + 3, e = a;
		while (e < len && s[e] != '/' && s[e] != '?' && s[e] != '#')
			e++;
		const char *at = memchr(s + a, '@', e - a);
		if (at) {
			/* The last '@' of the authority ends the userinfo. */
			for (const char *p = at; p && p < s + e; p = memchr(p + 1, '@', (size_t)(s + e - p - 1)))
				at = p;
			const char *colon = memchr(s + a, ':', (size_t)(at - (s + a)));
			put(out, sizeof(out), &o, s, a);
			if (colon) {
				put(out, sizeof(out), &o, s + a, (size_t)(colon - (s + a)) + 1);
			}
			put(out, sizeof(out), &o, REDACTED, sizeof(REDACTED) - 1);
			i = (size_t)(at - s);
			changed = true;
		}
	}
	const char *q = memchr(s + i, '?', len - i);
	if (q) {
		size_t qs = (size_t)(q - s) + 1;
		put(out, sizeof(out), &o, s + i, qs - i);
		i = qs;
		while (i < len && s[i] != '#') {
			size_t e = i;
			while (e < len && s[e] != '&' && s[e] != '#')
				e++;
			const char *eqp = memchr(s + i, '=', e - i);
			if (eqp && secret_param(s + i, (size_t)(eqp - (s + i))) && eqp + 1 < s + e) {
				put(out, sizeof(out), &o, s + i, (size_t)(eqp - (s + i)) + 1);
				put(out, sizeof(out), &o, REDACTED, sizeof(REDACTED) - 1);
				changed = true;
			} else {
				put(out, sizeof(out), &o, s + i, e - i);
			}
			i = e;
			if (i < len && s[i] == '&') {
				put(out, sizeof(out), &o, "&", 1);
				i++;
			}
		}
	}
	if (!changed)
		return;
	put(out, sizeof(out), &o, s + i, len - i);
	doc_set_str(d, node, out, o);
}

static bool arg_is(const struct doc *d, uint32_t args, uint32_t i, const char *name)
{
	uint32_t n = doc_index(d, args, i);
	if (doc_type_of(d, n) != DOC_STR)
		return false;
	size_t len;
	const char *s = doc_str(d, n, &len);
	return eq_ci(s, len, name);
}

static void redact_arg(struct doc *d, uint32_t args, uint32_t i)
{
	uint32_t n = doc_index(d, args, i);
	if (doc_type_of(d, n) == DOC_STR)
		set(d, n, REDACTED);
}

static void redact_redis(struct doc *d)
{
	uint32_t req = doc_get(d, DOC_ROOT, "request");
	uint32_t cmd = doc_get(d, req, "command");
	uint32_t args = doc_get(d, req, "args");
	if (doc_type_of(d, cmd) != DOC_STR || doc_type_of(d, args) != DOC_ARR)
		return;
	size_t len;
	const char *c = doc_str(d, cmd, &len);
	uint32_t n = d->nodes[args].v.kids.count;
	if (eq_ci(c, len, "AUTH")) {
		for (uint32_t i = 0; i < n; i++)
			redact_arg(d, args, i);
	} else if (eq_ci(c, len, "HELLO") || eq_ci(c, len, "MIGRATE")) {
		/* HELLO 3 AUTH user pass; MIGRATE ... AUTH pass | AUTH2 user pass */
		for (uint32_t i = 0; i < n; i++) {
			uint32_t k = arg_is(d, args, i, "AUTH2") ? 2 :
				     arg_is(d, args, i, "AUTH") ? (eq_ci(c, len, "HELLO") ? 2 : 1) : 0;
			for (uint32_t j = 1; j <= k && i + j < n; j++)
				redact_arg(d, args, i + j);
			i += k;
		}
	} else if (eq_ci(c, len, "CONFIG") && n >= 3 && arg_is(d, args, 0, "SET")) {
		for (uint32_t i = 1; i + 1 < n; i += 2)
			if (arg_is(d, args, i, "requirepass") || arg_is(d, args, i, "masterauth") ||
			    arg_is(d, args, i, "masteruser"))
				redact_arg(d, args, i + 1);
	}
}

void redact_entry(struct doc *d)
{
	const char *proto = doc_path_str(d, DOC_ROOT, "protocol");
	if (!proto)
		return;
	if (strcmp(proto, "http") == 0) {
		uint32_t req = doc_get(d, DOC_ROOT, "request");
		uint32_t resp = doc_get(d, DOC_ROOT, "response");
		redact_headers(d, doc_get(d, req, "headers"));
		redact_headers(d, doc_get(d, req, "trailers"));
		redact_headers(d, doc_get(d, resp, "headers"));
		redact_headers(d, doc_get(d, resp, "trailers"));
		redact_target(d, doc_get(d, req, "path"));
	} else if (strcmp(proto, "redis") == 0) {
		redact_redis(d);
	}
}
