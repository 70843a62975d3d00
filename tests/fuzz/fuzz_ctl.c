// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the control socket's request line (ctl_parse_request),
 * and for a query its filter compiled and matched the way the server does
 * (bounded regexes) against a small entry.  Input: the bytes of one line,
 * without its '\n' (NUL bytes included: the parser must refuse them).
 *   tests/fuzz/fuzz.sh [SECONDS]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kfl/kfl.h"
#include "report/doc.h"
#include "sink/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request req;
	char err[1024];

	if (size > CTL_REQUEST_MAX)
		return 0;
	char *line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	int rc = ctl_parse_request(line, size, &req, err, sizeof(err));
	if (rc == 0 && req.kind == CTL_REQ_QUERY) {
		/* The filter lies inside the line, NUL-terminated by it. */
		if (*req.filter && (req.filter < line || req.filter > line + size))
			abort();
		struct kfl_expr *e = kfl_compile(req.filter, err, sizeof(err));
		if (e) {
			unsigned n = kfl_regex_count(e);
			kfl_set_regex_limit(e, 10000 / (n ? n : 1));
			struct doc d;
			doc_init(&d);
			doc_reset(&d);
			doc_add_int(&d, DOC_ROOT, "id", 7);
			doc_add_str(&d, DOC_ROOT, "protocol", "http");
			uint32_t r = doc_add_obj(&d, DOC_ROOT, "request");
			doc_add_str(&d, r, "path", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
			uint32_t er = doc_add_obj(&d, DOC_ROOT, "error");
			doc_add_str(&d, er, "type", "tcp");
			kfl_match(e, &d);
			doc_free(&d);
			kfl_free(e);
		}
	} else if (rc != 0 && rc != 2) {
		abort();
	}
	free(line);
	return 0;
}
