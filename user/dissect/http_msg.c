// SPDX-License-Identifier: MIT
/* HTTP/1.x start lines and header fields (RFC 9112), and their place in an entry. */
#include "dissect/http.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Methods a resynchronising parser trusts (any token is accepted in sync). */
static const char *const http_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "REPORT",
	"SEARCH", "PURGE",
};

/* RFC 9110 token characters: ALPHA, DIGIT and !#$%&'*+-.^_`|~ (a table: every header byte passes here). */
#define TC_RANGE(lo, hi) [lo ... hi] = true
static const bool tchar[256] = {
	TC_RANGE('a', 'z'), TC_RANGE('A', 'Z'), TC_RANGE('0', '9'),
	['!'] = true, ['#'] = true, ['$'] = true, ['%'] = true, ['&'] = true, ['\''] = true,
	['*'] = true, ['+'] = true, ['-'] = true, ['.'] = true, ['^'] = true, ['_'] = true,
	['`'] = true, ['|'] = true, ['~'] = true,
};

static inline bool is_tchar(uint8_t c)
{
	return tchar[c];
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Store text for the entry; truncated when the message's text space is full. */
static uint16_t store(struct http_msg *m, const uint8_t *s, size_t n, uint16_t *len)
{
	size_t room = HTTP_STORE_BYTES - m->text_len;
	if (n > room)
		n = room;
	uint16_t off = m->text_len;
	memcpy(m->text + off, s, n);
	m->text_len += (uint16_t)n;
	*len = (uint16_t)n;
	return off;
}

static void excerpt_err(char *err, size_t errlen, const char *what, const uint8_t *p, size_t n)
{
	char ex[128];
	dissect_excerpt(ex, sizeof(ex), p, n, 40);
	snprintf(err, errlen, "%s: \"%s\"", what, ex);
}

/* "HTTP/1.x" at p: returns the minor digit, or -1. */
static int parse_version(const uint8_t *p, size_t n)
{
	if (n != 8 || memcmp(p, "HTTP/1.", 7) != 0 || !is_digit(p[7]))
		return -1;
	return p[7] - '0';
}

static int parse_request_line(struct http_msg *m, const uint8_t *p, size_t n, char *err,
			      size_t errlen)
{
	size_t i = 0;
	while (i < n && is_tchar(p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ') {
		excerpt_err(err, errlen, "invalid request line", p, n);
		return -EINVAL;
	}
	size_t method_len = i++;
	size_t path_start = i;
	while (i < n && p[i] > 0x20 && p[i] != 0x7f)
		i++;
	if (i == path_start || i >= n || p[i] != ' ') {
		excerpt_err(err, errlen, "invalid request line", p, n);
		return -EINVAL;
	}
	size_t path_len = i - path_start;
	int minor = parse_version(p + i + 1, n - i - 1);
	if (minor < 0) {
		excerpt_err(err, errlen, "invalid request line (version)", p, n);
		return -EINVAL;
	}
	m->version_minor = (uint8_t)minor;
	m->method_off = store(m, p, method_len, &m->method_len);
	/* Keep the path within a quarter of the message's text space. */
	m->path_off = store(m, p + path_start,
			    path_len < HTTP_STORE_BYTES / 4 ? path_len : HTTP_STORE_BYTES / 4,
			    &m->path_len);
	return 0;
}

static int parse_status_line(struct http_msg *m, const uint8_t *p, size_t n, char *err,
			     size_t errlen)
{
	int minor = n >= 8 ? parse_version(p, 8) : -1;
	if (minor < 0 || n < 12 || p[8] != ' ' || !is_digit(p[9]) || !is_digit(p[10]) ||
	    !is_digit(p[11]) || (n > 12 && p[12] != ' ')) {
		excerpt_err(err, errlen, "invalid status line", p, n);
		return -EINVAL;
	}
	for (size_t i = 13; i < n; i++) {
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f) {
			excerpt_err(err, errlen, "invalid status line (reason)", p, n);
			return -EINVAL;
		}
	}
	m->version_minor = (uint8_t)minor;
	m->status = (uint16_t)((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
	if (n > 13)
		m->reason_off = store(m, p + 13, n - 13, &m->reason_len);
	return 0;
}

/* Does the comma-separated header value end with the token? */
static bool last_token_is(const uint8_t *v, size_t n, const char *tok)
{
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	size_t start = n;
	while (start && v[start - 1] != ',' && v[start - 1] != ' ' && v[start - 1] != '\t')
		start--;
	size_t tl = strlen(tok);
	return n - start == tl && strncasecmp((const char *)v + start, tok, tl) == 0;
}

/* Is the token one of the header value's comma- (or space-) separated elements? */
static bool has_token(const uint8_t *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok);
	/* The runs between commas, spaces and tabs: one comparison each. */
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && v[j] != ',' && v[j] != ' ' && v[j] != '\t')
			j++;
		if (j - i == tl && strncasecmp((const char *)v + i, tok, tl) == 0)
			return true;
		i = j + 1;
	}
	return false;
}

/* A field value's byte: visible, space, tab or obs-text; not another control or DEL. */
static inline bool value_byte_ok(uint8_t c)
{
	return (c >= 0x20 && c != 0x7f) || c == '\t';
}

/*
 * Every byte of a field value allowed?  Eight at a time: a word with no byte
 * below 0x20 and none equal to 0x7f is clean (the bit tricks of "Bit Twiddling
 * Hacks", hasless and haszero); a word that has one is looked at byte by byte
 * (it may be a tab).  Values are most of a head's bytes.
 */
static bool field_value_ok(const uint8_t *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	size_t k = 0;
	for (; k + 8 <= n; k += 8) {
		uint64_t x, del;
		memcpy(&x, p + k, 8);
		del = x ^ (0x7f * ones);
		if (((x - 0x20 * ones) & ~x & highs) | ((del - ones) & ~del & highs)) {
			for (size_t j = k; j < k + 8; j++)
				if (!value_byte_ok(p[j]))
					return false;
		}
	}
	for (; k < n; k++)
		if (!value_byte_ok(p[k]))
			return false;
	return true;
}

/*
 * Check a "Name: value" line (no line end): the name's length and where the
 * value is (optional whitespace trimmed).  Nothing is stored.  0 or -EINVAL.
 */
static int scan_field(const uint8_t *p, size_t n, bool trailer, size_t *name_len,
		      const uint8_t **value, size_t *value_len, char *err, size_t errlen)
{
	size_t i = 0;
	while (i < n && is_tchar(p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ':') {
		excerpt_err(err, errlen, trailer ? "invalid trailer field" : "invalid header field",
			    p, n);
		return -EINVAL;
	}
	*name_len = i;
	size_t v = i + 1, e = n;
	while (v < e && (p[v] == ' ' || p[v] == '\t'))
		v++;
	while (e > v && (p[e - 1] == ' ' || p[e - 1] == '\t'))
		e--;
	if (!field_value_ok(p + v, e - v)) {
		excerpt_err(err, errlen, trailer ? "invalid trailer field" : "invalid header field",
			    p, n);
		return -EINVAL;
	}
	*value = p + v;
	*value_len = e - v;
	return 0;
}

/*
 * Is a field line of n bytes (name_len + value_len of them kept) kept for the
 * entry?  At most HTTP_STORE_HEADERS, and their names and values (with the
 * start line's) within HTTP_STORE_BYTES; counts it either way.
 */
static bool keep_field(struct http_msg *m, size_t n, size_t name_len, size_t value_len)
{
	if (m->n_hdr < HTTP_STORE_HEADERS && m->kept_len + n <= HTTP_STORE_BYTES) {
		m->n_hdr++;
		m->kept_len += (uint16_t)(name_len + value_len);
		return true;
	}
	m->hdr_dropped++;
	return false;
}

/* Store a kept field's name and value in hdr[] (a trailer, or a head too large for one block). */
static void store_field(struct http_msg *m, const uint8_t *p, size_t name_len,
			const uint8_t *value, size_t value_len, bool trailer)
{
	struct http_hdr *h = &m->hdr[m->n_hdr - 1 - m->n_raw];
	h->trailer = trailer;
	h->name_off = store(m, p, name_len, &h->name_len);
	h->value_off = store(m, value, value_len, &h->value_len);
}

static int parse_content_length(struct http_head *h, const uint8_t *v, size_t n, char *err,
				size_t errlen)
{
	uint64_t len = 0;
	if (n == 0 || n > 18)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(v[i]))
			goto bad;
		len = len * 10 + (uint64_t)(v[i] - '0');
	}
	if (h->has_length && h->content_length != len) {
		snprintf(err, errlen, "conflicting Content-Length: %llu and %llu",
			 (unsigned long long)h->content_length, (unsigned long long)len);
		return -EINVAL;
	}
	h->has_length = true;
	h->content_length = len;
	return 0;
bad:
	excerpt_err(err, errlen, "invalid Content-Length", v, n);
	return -EINVAL;
}

int http_parse_head(struct http_msg *m, struct http_head *h, enum dissect_dir dir,
		    const uint8_t *p, size_t n, char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	unsigned fields = 0;
	bool first = true, raw = false;
	size_t pos = 0;

	while (pos < n) {
		const uint8_t *nl = memchr(p + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - p) : n;
		size_t next = nl ? end + 1 : n;
		if (end > pos && p[end - 1] == '\r')
			end--;
		const uint8_t *line = p + pos;
		size_t len = end - pos;
		pos = next;
		if (first) {
			first = false;
			int rc = dir == DISSECT_TO_SERVER ? parse_request_line(m, line, len, err, errlen)
							  : parse_status_line(m, line, len, err, errlen);
			if (rc)
				return rc;
			m->kept_len = m->text_len;
			/* The field lines as one block, when they fit: split when an entry is built. */
			if (n - pos <= (size_t)(HTTP_STORE_BYTES - m->text_len)) {
				raw = true;
				m->raw_off = store(m, p + pos, n - pos, &m->raw_len);
			}
			continue;
		}
		if (len == 0)
			break;        /* the empty line ending the head */
		if (line[0] == ' ' || line[0] == '\t') {
			if (fields == 0) {
				excerpt_err(err, errlen, "invalid header field (continuation first)",
					    line, len);
				return -EINVAL;
			}
			continue;     /* obsolete line folding: part of the previous value */
		}
		if (++fields > HTTP_MAX_HEADERS) {
			snprintf(err, errlen, "more than %u header fields", HTTP_MAX_HEADERS);
			return -EINVAL;
		}
		const uint8_t *v;
		size_t vl, nl_len;
		if (scan_field(line, len, false, &nl_len, &v, &vl, err, errlen))
			return -EINVAL;
		if (keep_field(m, len, nl_len, vl)) {
			if (raw)
				m->n_raw++;
			else
				store_field(m, line, nl_len, v, vl, false);
		}
		const char *name = (const char *)line;
		if (nl_len == 14 && strncasecmp(name, "Content-Length", 14) == 0) {
			if (parse_content_length(h, v, vl, err, errlen))
				return -EINVAL;
		} else if (nl_len == 17 && strncasecmp(name, "Transfer-Encoding", 17) == 0) {
			if (last_token_is(v, vl, "chunked"))
				h->chunked = true;
			else
				h->te_other = true;
		} else if (nl_len == 10 && strncasecmp(name, "Connection", 10) == 0) {
			if (has_token(v, vl, "close"))
				h->conn_close = true;
			if (has_token(v, vl, "upgrade"))
				h->upgrade = true;
		}
	}
	m->seen = true;
	m->has_length = h->has_length;
	m->content_length = h->content_length;
	m->chunked = h->chunked;
	return 0;
}

int http_parse_trailer(struct http_msg *m, const uint8_t *line, size_t n, char *err,
		       size_t errlen)
{
	const uint8_t *v;
	size_t vl, nl;
	if (scan_field(line, n, true, &nl, &v, &vl, err, errlen))
		return -EINVAL;
	/* Kept by the same rule as the head's fields, and where there is room for it. */
	if (m->n_hdr < HTTP_STORE_HEADERS && m->text_len + nl + vl > HTTP_STORE_BYTES) {
		m->hdr_dropped++;
		return 0;
	}
	if (keep_field(m, n, nl, vl))
		store_field(m, line, nl, v, vl, true);
	return 0;
}

void http_msg_reset(struct http_msg *m)
{
	memset(m, 0, offsetof(struct http_msg, text));
}

void http_msg_copy(struct http_msg *dst, const struct http_msg *src)
{
	memcpy(dst, src, offsetof(struct http_msg, text) + src->text_len);
}

int http_is_message_start(enum dissect_dir dir, const uint8_t *p, size_t n)
{
	if (dir == DISSECT_TO_CLIENT) {
		static const char proto[] = "HTTP/1.";
		size_t k = n < 7 ? n : 7;
		if (memcmp(p, proto, k) != 0)
			return 0;
		if (n < 13)
			return -1;
		return is_digit(p[7]) && p[8] == ' ' && is_digit(p[9]) && is_digit(p[10]) &&
		       is_digit(p[11]) && (p[12] == ' ' || p[12] == '\r' || p[12] == '\n');
	}
	for (size_t i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++) {
		size_t ml = strlen(http_methods[i]);
		size_t k = n < ml ? n : ml;
		if (memcmp(p, http_methods[i], k) != 0)
			continue;
		if (n <= ml)
			return -1;
		if (p[ml] != ' ')
			continue;
		/* The line must end in " HTTP/1.x". */
		const uint8_t *nl = memchr(p, '\n', n < 8192 ? n : 8192);
		if (!nl)
			return n < 8192 ? -1 : 0;
		size_t end = (size_t)(nl - p);
		if (end && p[end - 1] == '\r')
			end--;
		return end >= ml + 11 && memcmp(p + end - 9, " HTTP/1.", 8) == 0 &&
		       is_digit(p[end - 1]);
	}
	return 0;
}

bool http_start_plausible(enum dissect_dir dir, const uint8_t *p, size_t n)
{
	if (dir == DISSECT_TO_CLIENT) {
		size_t k = n < 7 ? n : 7;
		return memcmp(p, "HTTP/1.", k) == 0;
	}
	size_t i = 0;
	while (i < n && is_tchar(p[i]))
		i++;
	return i == n || (i > 0 && p[i] == ' ');
}

/* Find the end of the head (the empty line).  Returns its length, 0 if not there yet. */
size_t http_head_length(const uint8_t *p, size_t n)
{
	const uint8_t *q = p, *end = p + n;
	while (q < end) {
		const uint8_t *nl = memchr(q, '\n', (size_t)(end - q));
		if (!nl)
			return 0;
		const uint8_t *next = nl + 1;
		if (next < end && *next == '\n')
			return (size_t)(next + 1 - p);
		if (next + 1 < end && next[0] == '\r' && next[1] == '\n')
			return (size_t)(next + 2 - p);
		if (next + 1 >= end && next < end && *next == '\r')
			return 0;
		q = next;
	}
	return 0;
}

/* Chunk-size line: hex digits, optional extensions. */
int http_parse_chunk_size(const uint8_t *p, size_t n, uint64_t *size)
{
	size_t i = 0;
	uint64_t v = 0;
	while (i < n && i < 16) {
		uint8_t c = p[i];
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		v = v * 16 + (uint64_t)d;
		i++;
	}
	if (i == 0)
		return -1;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i < n && p[i] != ';')
		return -1;
	*size = v;
	return 0;
}

bool http_method_is(const struct http_msg *m, const char *name)
{
	size_t n = strlen(name);
	return m->method_len == n && memcmp(m->text + m->method_off, name, n) == 0;
}

/*
 * The kept fields in order: the first n_raw field lines of the raw block
 * (split here, checked when the head was read; folded continuation lines
 * are no fields), then hdr[].  Returns how many.
 */
static unsigned gather_fields(const struct http_msg *m, struct http_hdr *out)
{
	unsigned n = 0;
	size_t pos = m->raw_off, end = (size_t)m->raw_off + m->raw_len;

	while (n < m->n_raw && pos < end) {
		const char *line = m->text + pos;
		const char *nl = memchr(line, '\n', end - pos);
		size_t len = nl ? (size_t)(nl - line) : end - pos;
		pos += len + 1;
		if (line[0] == '\n' || line[0] == '\r' || line[0] == ' ' || line[0] == '\t')
			continue;       /* the empty line, or a folded continuation */
		if (line[len - 1] == '\r')
			len--;
		const char *colon = memchr(line, ':', len);
		if (!colon)
			continue;       /* cannot be: every line was checked */
		size_t v = (size_t)(colon - line) + 1, e = len;
		while (v < e && (line[v] == ' ' || line[v] == '\t'))
			v++;
		while (e > v && (line[e - 1] == ' ' || line[e - 1] == '\t'))
			e--;
		struct http_hdr *h = &out[n++];
		h->trailer = false;
		h->name_off = (uint16_t)(line - m->text);
		h->name_len = (uint16_t)(colon - line);
		h->value_off = (uint16_t)(line - m->text + v);
		h->value_len = (uint16_t)(e - v);
	}
	for (unsigned i = 0; i + m->n_raw < m->n_hdr && n < HTTP_STORE_HEADERS; i++)
		out[n++] = m->hdr[i];
	return n;
}

/* Headers as an object; repeated names are joined with ", " as RFC 9110 allows. */
static void headers_to_doc(const struct http_msg *m, const struct http_hdr *hdr, unsigned n_hdr,
			   struct doc *d, uint32_t parent, const char *key, bool trailers)
{
	uint32_t obj = DOC_NONE;
	char joined[HTTP_STORE_BYTES];
	for (unsigned i = 0; i < n_hdr; i++) {
		const struct http_hdr *h = &hdr[i];
		if (h->trailer != trailers)
			continue;
		bool repeat = false;
		for (unsigned j = 0; j < i && !repeat; j++)
			repeat = hdr[j].trailer == trailers && hdr[j].name_len == h->name_len &&
				 strncasecmp(m->text + hdr[j].name_off, m->text + h->name_off,
					     h->name_len) == 0;
		if (repeat)
			continue;
		size_t jl = 0;
		for (unsigned j = i; j < n_hdr; j++) {
			const struct http_hdr *o = &hdr[j];
			if (o->trailer != trailers || o->name_len != h->name_len ||
			    strncasecmp(m->text + o->name_off, m->text + h->name_off, h->name_len))
				continue;
			if (jl && jl + 2 < sizeof(joined)) {
				memcpy(joined + jl, ", ", 2);
				jl += 2;
			}
			size_t c = o->value_len < sizeof(joined) - jl ? o->value_len : sizeof(joined) - jl;
			memcpy(joined + jl, m->text + o->value_off, c);
			jl += c;
		}
		if (obj == DOC_NONE)
			obj = doc_add_obj(d, parent, key);
		char name[HTTP_STORE_BYTES];
		memcpy(name, m->text + h->name_off, h->name_len);
		name[h->name_len] = 0;
		doc_add_strn(d, obj, name, joined, jl);
	}
	if (obj == DOC_NONE && !trailers)
		doc_add_obj(d, parent, key);
}

void http_msg_to_doc(const struct http_msg *m, enum dissect_dir dir, struct doc *d,
		     const char *key)
{
	if (d->discard)
		return;       /* read --stats: nobody reads the entry, skip joining the headers */
	if (!m->seen) {
		doc_add_null(d, DOC_ROOT, key);
		return;
	}
	uint32_t o = doc_add_obj(d, DOC_ROOT, key);
	if (dir == DISSECT_TO_SERVER) {
		doc_add_strn(d, o, "method", m->text + m->method_off, m->method_len);
		doc_add_strn(d, o, "path", m->text + m->path_off, m->path_len);
	} else {
		doc_add_int(d, o, "status", m->status);
		doc_add_strn(d, o, "reason", m->text + m->reason_off, m->reason_len);
	}
	doc_add_strf(d, o, "version", "HTTP/1.%u", m->version_minor);
	struct http_hdr hdr[HTTP_STORE_HEADERS];
	unsigned n_hdr = gather_fields(m, hdr);
	headers_to_doc(m, hdr, n_hdr, d, o, "headers", false);
	headers_to_doc(m, hdr, n_hdr, d, o, "trailers", true);
	if (m->hdr_dropped)
		doc_add_int(d, o, "headers_dropped", m->hdr_dropped);
	doc_add_int(d, o, "body_bytes", (int64_t)m->body_bytes);
	if (m->truncated)
		doc_add_bool(d, o, "truncated", true);
}
