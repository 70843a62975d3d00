// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: KFL.  The input is a query; it is compiled and, when it
 * compiles, evaluated over fixed entries (an HTTP exchange with headers, an
 * array and every value type, an ICMP error, an empty entry).  A syntax error
 * must leave a message in the caller's buffer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kfl/kfl.h"
#include "report/doc.h"

static struct doc entries[3];

static void build_http(struct doc *d)
{
	doc_reset(d);
	doc_add_int(d, DOC_ROOT, "id", 7);
	doc_add_str(d, DOC_ROOT, "ts", "2026-11-26T06:41:56.718846Z");
	doc_add_str(d, DOC_ROOT, "protocol", "http");
	uint32_t s = doc_add_obj(d, DOC_ROOT, "src");
	doc_add_str(d, s, "ip", "198.18.1.2");
	doc_add_int(d, s, "port", 36060);
	uint32_t t = doc_add_obj(d, DOC_ROOT, "dst");
	doc_add_str(d, t, "ip", "2001:db8::2");
	doc_add_int(d, t, "port", 8080);
	uint32_t rq = doc_add_obj(d, DOC_ROOT, "request");
	doc_add_str(d, rq, "method", "GET");
	doc_add_str(d, rq, "path", "/api/v1/users/42?limit=10");
	uint32_t h = doc_add_obj(d, rq, "headers");
	doc_add_str(d, h, "Host", "shop.example.internal");
	doc_add_str(d, h, "Content-Length", "512");
	doc_add_strn(d, h, "X-Bin", "a\0b\xff", 4);
	uint32_t a = doc_add_arr(d, rq, "values");
	doc_add_int(d, a, NULL, -1);
	doc_add_real(d, a, NULL, 2.5);
	doc_add_str(d, a, NULL, "500");
	doc_add_bool(d, a, NULL, true);
	doc_add_null(d, a, NULL);
	uint32_t rs = doc_add_obj(d, DOC_ROOT, "response");
	doc_add_int(d, rs, "status", 503);
	doc_add_str(d, rs, "reason", "Service Unavailable");
	doc_add_real(d, DOC_ROOT, "elapsed_ms", 1.234);
	uint32_t e = doc_add_obj(d, DOC_ROOT, "error");
	doc_add_str(d, e, "type", "half-connection");
	doc_add_str(d, e, "reason", "reset");
	uint32_t tcp = doc_add_obj(d, DOC_ROOT, "tcp");
	doc_add_int(d, tcp, "retransmissions", 1);
	doc_add_bool(d, tcp, "midstream", false);
}

static void build_icmp(struct doc *d)
{
	doc_reset(d);
	doc_add_str(d, DOC_ROOT, "protocol", "icmp");
	doc_add_str(d, DOC_ROOT, "transport", "udp");
	uint32_t i = doc_add_obj(d, DOC_ROOT, "icmp");
	doc_add_int(d, i, "type", 3);
	doc_add_int(d, i, "code", 4);
	doc_add_str(d, i, "code_name", "Fragmentation needed");
	doc_add_int(d, i, "mtu", 1000);
	doc_add_null(d, DOC_ROOT, "error");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (int i = 0; i < 3; i++)
		doc_init(&entries[i]);
	build_http(&entries[0]);
	build_icmp(&entries[1]);
	doc_reset(&entries[2]);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *query = malloc(size + 1);
	char err[512];
	if (!query)
		return 0;
	memcpy(query, data, size);
	query[size] = '\0';
	err[0] = '\0';
	struct kfl_expr *e = kfl_compile(query, err, sizeof(err));
	if (e) {
		for (int i = 0; i < 3; i++)
			(void)kfl_match(e, &entries[i]);
		kfl_free(e);
	} else if (errno == EINVAL && (err[0] == '\0' || !memchr(err, '\0', sizeof(err)))) {
		__builtin_trap();    /* a failed compile always says why */
	}
	free(query);
	return 0;
}
