// SPDX-License-Identifier: MIT
/*
 * Safe JSON: SHA-1 and Community ID v1 against published vectors, strings
 * that strict parsers accept whatever the bytes, and credential redaction.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/sha1.h"
#include "report/community_id.h"
#include "report/doc.h"
#include "report/redact.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* FIPS 180 examples ("abc", the two-block message; checked with sha1sum). */
static void test_sha1(void **state)
{
	(void)state;
	uint8_t dg[SHA1_DIGEST_LEN];
	char h[41];
	sha1("abc", 3, dg);
	hex(dg, sizeof(dg), h);
	assert_string_equal(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha1(two, strlen(two), dg);
	hex(dg, sizeof(dg), h);
	assert_string_equal(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	sha1("", 0, dg);
	hex(dg, sizeof(dg), h);
	assert_string_equal(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

static const char *cid(const char *sip, const char *dip, uint8_t proto, uint16_t sp, uint16_t dp)
{
	static char out[COMMUNITY_ID_LEN];
	uint8_t sa[16], da[16];
	int af = strchr(sip, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(af, sip, sa), 1);
	assert_int_equal(inet_pton(af, dip, da), 1);
	assert_true(community_id_v1(0, sa, da, af == AF_INET ? 4 : 16, proto, sp, dp, out));
	return out;
}

/*
 * Published Community ID v1 values (seed 0): Tenzir's community_id() example
 * for TCP, and the spec's baseline (tests/data/baseline_default.json of the
 * reference implementations) for ICMPv6 neighbour discovery and a one-way
 * ICMPv6 destination unreachable.
 */
static void test_community_id_vectors(void **state)
{
	(void)state;
	assert_string_equal(cid("1.2.3.4", "43.3.132.3", 6, 4584, 3483),
			    "1:koNcqhFRD5kb254ZrLsdv630jCM=");
	/* Both directions of a flow hash alike. */
	assert_string_equal(cid("43.3.132.3", "1.2.3.4", 6, 3483, 4584),
			    "1:koNcqhFRD5kb254ZrLsdv630jCM=");
	assert_string_equal(cid("fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 58, 135, 136),
			    "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
	assert_string_equal(cid("fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 58, 136, 135),
			    "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
	assert_string_equal(cid("3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 58, 3, 0),
			    "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=");
	assert_string_equal(cid("fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 58, 135, 136),
			    "1:zavyT/cezQr1fmImYCwYnMXbgck=");
	/* Not the same flow once a port differs. */
	assert_string_not_equal(cid("1.2.3.4", "43.3.132.3", 6, 4585, 3483),
				 "1:koNcqhFRD5kb254ZrLsdv630jCM=");
}

/* The JSON text of a doc with one string member. */
static char *json_of(const char *s, size_t len)
{
	struct doc d;
	doc_init(&d);
	doc_reset(&d);
	doc_add_strn(&d, DOC_ROOT, "v", s, len);
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	doc_write_json(&d, DOC_ROOT, f);
	fclose(f);
	doc_free(&d);
	return buf;
}

static void expect_json(const char *s, size_t len, const char *want)
{
	char *got = json_of(s, len);
	assert_string_equal(got, want);
	free(got);
}

static void test_strings_are_utf8(void **state)
{
	(void)state;
	expect_json("caf\xc3\xa9", 5, "{\"v\":\"caf\xc3\xa9\"}");          /* valid: as is */
	expect_json("a\xe9z", 3, "{\"v\":\"a\\u00e9z\"}");                   /* lone Latin-1 byte */
	expect_json("\xc0\xaf", 2, "{\"v\":\"\\u00c0\\u00af\"}");           /* overlong '/' */
	expect_json("\xed\xa0\x80", 3, "{\"v\":\"\\u00ed\\u00a0\\u0080\"}"); /* a surrogate */
	expect_json("\xf4\x90\x80\x80", 4, "{\"v\":\"\\u00f4\\u0090\\u0080\\u0080\"}"); /* > U+10FFFF */
	expect_json("\xe2\x82", 2, "{\"v\":\"\\u00e2\\u0082\"}");           /* cut short */
	expect_json("\xf0\x9f\x98\x80", 4, "{\"v\":\"\xf0\x9f\x98\x80\"}");  /* 4-byte: as is */
	expect_json("a\0b\x7f\"\\", 6, "{\"v\":\"a\\u0000b\\u007f\\\"\\\\\"}");
}

static struct doc *http_doc(const char *path, const char *const *hdrs)
{
	static struct doc d;
	doc_init(&d);
	doc_reset(&d);
	doc_add_str(&d, DOC_ROOT, "protocol", "http");
	uint32_t rq = doc_add_obj(&d, DOC_ROOT, "request");
	doc_add_str(&d, rq, "path", path);
	uint32_t h = doc_add_obj(&d, rq, "headers");
	for (; hdrs && hdrs[0]; hdrs += 2)
		doc_add_str(&d, h, hdrs[0], hdrs[1]);
	return &d;
}

static void test_redact_http(void **state)
{
	(void)state;
	static const char *const hdrs[] = {
		"Host", "example.test", "authorization", "Bearer abc.def.ghi",
		"Proxy-Authorization", "Basic dXNlcjpwYXNz", "Cookie", "sid=s3cr3t; theme=dark",
		"Authorization-Hint", "not a credential", NULL,
	};
	struct doc *d = http_doc("/login?user=bob&password=hunter2&next=%2F&TOKEN=t0k#frag", hdrs);
	redact_entry(d);
	assert_string_equal(doc_path_str(d, DOC_ROOT, "request.headers.Host"), "example.test");
	assert_string_equal(doc_path_str(d, DOC_ROOT, "request.headers.authorization"),
			    "Bearer (redacted)");
	assert_string_equal(doc_path_str(d, DOC_ROOT, "request.headers.Proxy-Authorization"),
			    "Basic (redacted)");
	assert_string_equal(doc_path_str(d, DOC_ROOT, "request.headers.Cookie"), "(redacted)");
	assert_string_equal(doc_path_str(d, DOC_ROOT, "request.headers.Authorization-Hint"),
			    "not a credential");
	assert_string_equal(doc_path_str(d, DOC_ROOT, "request.path"),
			    "/login?user=bob&password=(redacted)&next=%2F&TOKEN=(redacted)#frag");
	doc_free(d);

	d = http_doc("http://alice:pa%40ss@proxy.test:8080/x?a=1", NULL);
	redact_entry(d);
	assert_string_equal(doc_path_str(d, DOC_ROOT, "request.path"),
			    "http://alice:(redacted)@proxy.test:8080/x?a=1");
	doc_free(d);
	d = http_doc("https://ghp_tokenonly@host.test/", NULL);
	redact_entry(d);
	assert_string_equal(doc_path_str(d, DOC_ROOT, "request.path"), "https://(redacted)@host.test/");
	doc_free(d);
	d = http_doc("/plain/path?q=1&passwordless=yes", NULL);
	redact_entry(d);
	assert_string_equal(doc_path_str(d, DOC_ROOT, "request.path"), "/plain/path?q=1&passwordless=yes");
	doc_free(d);
}

static struct doc *redis_doc(const char *cmd, const char *const *args)
{
	static struct doc d;
	doc_init(&d);
	doc_reset(&d);
	doc_add_str(&d, DOC_ROOT, "protocol", "redis");
	uint32_t rq = doc_add_obj(&d, DOC_ROOT, "request");
	doc_add_str(&d, rq, "command", cmd);
	uint32_t a = doc_add_arr(&d, rq, "args");
	for (; *args; args++)
		doc_add_str(&d, a, NULL, *args);
	return &d;
}

static const char *arg(struct doc *d, unsigned i)
{
	return doc_str(d, doc_index(d, doc_path(d, DOC_ROOT, "request.args"), i), NULL);
}

static void test_redact_redis(void **state)
{
	(void)state;
	static const char *const a1[] = { "user", "secret", NULL };
	struct doc *d = redis_doc("auth", a1);
	redact_entry(d);
	assert_string_equal(arg(d, 0), "(redacted)");
	assert_string_equal(arg(d, 1), "(redacted)");
	doc_free(d);
	static const char *const a2[] = { "3", "AUTH", "u", "pw", "SETNAME", "app", NULL };
	d = redis_doc("HELLO", a2);
	redact_entry(d);
	assert_string_equal(arg(d, 1), "AUTH");
	assert_string_equal(arg(d, 2), "(redacted)");
	assert_string_equal(arg(d, 3), "(redacted)");
	assert_string_equal(arg(d, 4), "SETNAME");
	assert_string_equal(arg(d, 5), "app");
	doc_free(d);
	static const char *const a3[] = { "SET", "requirepass", "s3", NULL };
	d = redis_doc("CONFIG", a3);
	redact_entry(d);
	assert_string_equal(arg(d, 2), "(redacted)");
	doc_free(d);
	static const char *const a4[] = { "auth", "value", NULL };
	d = redis_doc("SET", a4);
	redact_entry(d);
	assert_string_equal(arg(d, 1), "value");
	doc_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha1),
		cmocka_unit_test(test_community_id_vectors),
		cmocka_unit_test(test_strings_are_utf8),
		cmocka_unit_test(test_redact_http),
		cmocka_unit_test(test_redact_redis),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
