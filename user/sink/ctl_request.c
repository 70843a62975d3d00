// SPDX-License-Identifier: MIT
/* The control socket's request line (ctl.h): parsed without allocating, every byte checked. */
#include "sink/ctl.h"

#include <stdio.h>
#include <string.h>

/* Largest LIMIT accepted; more than the ring keeps means "all" anyway. */
#define CTL_LIMIT_MAX 1000000000u

static int usage(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return 2;
}

int ctl_parse_request(const char *line, size_t len, struct ctl_request *req, char *err,
		      size_t errlen)
{
	const char *p = line, *end = line + len;

	memset(req, 0, sizeof(*req));
	req->filter = "";
	if (memchr(line, '\0', len))
		return usage(err, errlen, "request holds a NUL byte");
	if ((size_t)(end - p) == 5 && memcmp(p, "stats", 5) == 0) {
		req->kind = CTL_REQ_STATS;
		return 0;
	}
	if ((size_t)(end - p) == 7 && memcmp(p, "metrics", 7) == 0) {
		req->kind = CTL_REQ_METRICS;
		return 0;
	}
	if ((size_t)(end - p) < 6 || memcmp(p, "query ", 6) != 0)
		return usage(err, errlen, "unknown request (expected 'stats', 'metrics' or 'query')");
	req->kind = CTL_REQ_QUERY;
	p += 6;
	/* LIMIT: digits only (no sign: "query -5" is a usage error, not 2^64-5). */
	uint64_t limit = 0;
	const char *digits = p;
	while (p < end && *p >= '0' && *p <= '9') {
		limit = limit * 10 + (uint64_t)(*p - '0');
		if (limit > CTL_LIMIT_MAX)
			return usage(err, errlen, "query: LIMIT is larger than 1000000000");
		p++;
	}
	if (p == digits || (p < end && *p != ' '))
		return usage(err, errlen, "query takes: LIMIT FOLLOW [FILTER] (LIMIT a whole number)");
	req->limit = (uint32_t)limit;
	if (p == end)
		return 0;             /* "query N": no follow, no filter */
	p++;
	if (p < end && (*p == '0' || *p == '1') && (p + 1 == end || p[1] == ' ')) {
		req->follow = *p == '1';
		p++;
	} else {
		return usage(err, errlen, "query takes: LIMIT FOLLOW [FILTER] (FOLLOW 0 or 1)");
	}
	while (p < end && *p == ' ')
		p++;
	req->filter = p;
	return 0;
}
