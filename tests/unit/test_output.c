// SPDX-License-Identifier: MIT
/*
 * The table output: widths fitted to the terminal, addresses shortened in
 * the middle with their port kept, colour codes on and off, a date row
 * before the first row and whenever the day changes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "report/doc.h"
#include "report/doc_json.h"
#include "sink/output.h"

#define REFUSED_V6(ts) \
	"{\"id\":1,\"ts\":\"" ts "\",\"protocol\":\"tcp\"," \
	"\"src\":{\"ip\":\"fd18:aaaa:bbbb:cccc:dddd:eeee:ffff:1111\",\"port\":50008}," \
	"\"dst\":{\"ip\":\"fd18:1234:5678:9abc:def0:1234:5678:9abc\",\"port\":443}," \
	"\"error\":{\"type\":\"tcp\",\"message\":\"SynSent\",\"reason\":\"refused\"}," \
	"\"tcp\":{\"reason\":\"refused\",\"waited_ms\":0}}"
#define HTTP_500 \
	"{\"id\":2,\"ts\":\"2026-11-30T10:00:00.000001Z\",\"protocol\":\"http\"," \
	"\"src\":{\"ip\":\"198.18.1.2\",\"port\":40000},\"dst\":{\"ip\":\"198.18.2.2\",\"port\":80}," \
	"\"request\":{\"method\":\"GET\",\"path\":\"/\"},\"response\":{\"status\":500}}"
#define HTTP_200 \
	"{\"id\":3,\"ts\":\"2026-11-30T10:00:01.000001Z\",\"protocol\":\"http\"," \
	"\"src\":{\"ip\":\"198.18.1.2\",\"port\":40001},\"dst\":{\"ip\":\"198.18.2.2\",\"port\":80}," \
	"\"request\":{\"method\":\"GET\",\"path\":\"/\"},\"response\":{\"status\":200}}"

/* Print the JSON entries through a table output; the text (caller frees). */
static char *render(unsigned width, bool colour, const char **entries, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	struct output *o = output_new(f, OUTPUT_TABLE, colour, NULL, NULL);
	assert_non_null(o);
	output_set_width(o, width);
	struct entry_sink sink = output_sink(o);
	for (size_t i = 0; i < n; i++) {
		struct doc d;
		doc_init(&d);
		assert_int_equal(doc_parse_json(&d, entries[i], strlen(entries[i])), 0);
		sink.emit(sink.ctx, &d, NULL);
		doc_free(&d);
	}
	output_free(o);
	fclose(f);
	return buf;
}

/* Columns of a line (code points; the ellipsis is one). */
static size_t cols(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

static void test_shorten(void **state)
{
	(void)state;
	char ep[128];
	strcpy(ep, "[fd18:aaaa:bbbb:cccc:dddd:eeee:ffff:1111]:50008");
	output_shorten_endpoint(ep, sizeof(ep), 20);
	assert_string_equal(ep, "[fd18:a\u2026:1111]:50008");
	assert_int_equal(cols(ep, strlen(ep)), 20);
	strcpy(ep, "198.18.100.200:65535");
	output_shorten_endpoint(ep, sizeof(ep), 16);
	assert_string_equal(ep, "198.1\u2026.200:65535");
	/* What fits stays as it is. */
	strcpy(ep, "198.18.1.2:40000");
	output_shorten_endpoint(ep, sizeof(ep), 16);
	assert_string_equal(ep, "198.18.1.2:40000");
	/* A bare IPv6 address (no port): cut in the middle. */
	strcpy(ep, "fd18:aaaa:bbbb:cccc:dddd:eeee:ffff:1111");
	output_shorten_endpoint(ep, sizeof(ep), 15);
	assert_string_equal(ep, "fd18:aa\u2026ff:1111");
}

/* Every line within the width, the columns where the header puts them, words unbroken. */
static void test_width(void **state)
{
	(void)state;
	const char *e[] = { REFUSED_V6("2026-11-30T10:00:00.000001Z"), HTTP_500 };
	for (unsigned w = 72; w <= 200; w += 16) {
		char *t = render(w, false, e, 2);
		const char *dst_col = strstr(t, "DESTINATION");
		assert_non_null(dst_col);
		size_t want = (size_t)(dst_col - t);
		for (char *line = t, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
			assert_true(cols(line, (size_t)(nl - line)) <= w);
			/* Rows: "->" right before the destination column. */
			char *arrow = strstr(line, " -> ");
			if (arrow && arrow < nl)
				assert_int_equal(cols(line, (size_t)(arrow - line)) + 4, want);
		}
		/* The port survives shortening. */
		assert_non_null(strstr(t, "]:50008"));
		assert_non_null(strstr(t, "]:443"));
		/* "refused," is never cut mid-word. */
		assert_non_null(strstr(t, "refused"));
		free(t);
	}
	/* Unlimited: one line per row, whatever the summary's length. */
	char *t = render(0, false, e, 2);
	int lines = 0;
	for (char *p = t; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 4);   /* header, date, two rows */
	free(t);
}

static void test_colour(void **state)
{
	(void)state;
	const char *e[] = { REFUSED_V6("2026-11-30T10:00:00.000001Z"), HTTP_500, HTTP_200 };
	char *t = render(0, true, e, 3);
	const char *l1 = strchr(strchr(strchr(t, '\n') + 1, '\n') + 1, '\n');  /* end of row 1 */
	assert_non_null(l1);
	assert_non_null(strstr(t, "\n\033[31m"));          /* the error: red */
	assert_non_null(strstr(t, "\n\033[33m"));          /* HTTP 500: yellow */
	assert_non_null(strstr(t, "\n\033[2m"));           /* HTTP 200: dim */
	assert_non_null(strstr(t, "\033[0m\n"));
	free(t);
	t = render(0, false, e, 3);
	assert_null(strchr(t, '\033'));
	free(t);
}

static void test_dates(void **state)
{
	(void)state;
	const char *e[] = {
		REFUSED_V6("2026-11-29T23:59:59.000001Z"),
		REFUSED_V6("2026-11-29T23:59:59.500001Z"),
		REFUSED_V6("2026-11-30T00:00:00.100001Z"),
	};
	char *t = render(0, false, e, 3);
	const char *a = strstr(t, "--- 2026-11-29 ---\n");
	const char *b = strstr(t, "--- 2026-11-30 ---\n");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);
	assert_null(strstr(a + 1, "--- 2026-11-29"));    /* once per day */
	assert_non_null(strstr(b, "00:00:00.100001"));  /* the new day's row after its date */
	assert_null(strstr(b + 1, "\n---"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shorten),
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_colour),
		cmocka_unit_test(test_dates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
