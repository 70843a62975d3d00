// SPDX-License-Identifier: MIT
/* The recorder: pcap bytes, gzip, rotation, --write-filter buffers, write errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "report/doc.h"
#include "core/flow.h"
#include "sink/recorder.h"
#include "sink/recorder_file.h"

#define TS0 1700000000123456789ull

static char dir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_recorder.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *path_in_dir(const char *name)
{
	static char buf[4][256];
	static int i;
	char *p = buf[i++ % 4];
	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* A whole file, through gzread so that plain and gzip files read alike. */
static uint8_t *slurp(const char *path, size_t *len)
{
	gzFile gz = gzopen(path, "rb");
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	int k;

	assert_non_null(gz);
	while ((k = gzread(gz, buf + n, (unsigned)(cap - n))) > 0) {
		n += (size_t)k;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	assert_true(k == 0);
	gzclose(gz);
	*len = n;
	return buf;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

struct rec {
	uint32_t sec, nsec, incl, orig;
	uint8_t first;      /* first byte of data: the tests tag packets with it */
};

/* Parse a pcap file into records; returns the count, checks the header. */
static size_t read_pcap(const char *path, struct rec *out, size_t max, uint32_t *linktype)
{
	size_t len, off = PCAP_FILE_HEADER_LEN, n = 0;
	uint8_t *b = slurp(path, &len);

	assert_true(len >= PCAP_FILE_HEADER_LEN);
	assert_int_equal(get32(b), 0xa1b23c4d);
	if (linktype)
		*linktype = get32(b + 20);
	while (off < len) {
		assert_true(off + PCAP_RECORD_HEADER_LEN <= len);
		struct rec r = { get32(b + off), get32(b + off + 4), get32(b + off + 8),
				 get32(b + off + 12), 0 };
		assert_true(off + PCAP_RECORD_HEADER_LEN + r.incl <= len);
		r.first = r.incl ? b[off + PCAP_RECORD_HEADER_LEN] : 0;
		if (n < max)
			out[n] = r;
		n++;
		off += PCAP_RECORD_HEADER_LEN + r.incl;
	}
	free(b);
	return n;
}

static uint8_t payload[70000];

static struct fl_packet pkt(uint64_t ts, uint8_t tag, uint32_t caplen, uint32_t len)
{
	payload[0] = tag;
	return (struct fl_packet){ .ts_ns = ts, .data = payload, .caplen = caplen, .len = len,
				   .linktype = FL_LINK_ETHERNET };
}

/* A flow with the recorder's flow storage right after it, as the flow table lays it out. */
struct tflow {
	struct flow f;
	uint64_t tag;
};

static struct recorder *open_rec(const struct recorder_opts *o, struct fl_stats *st)
{
	char err[256];
	struct recorder *r = recorder_open(o, st, err, sizeof(err));
	if (!r)
		fail_msg("recorder_open: %s", err);
	recorder_set_flow_storage(r, (int)offsetof(struct tflow, tag));
	return r;
}

static void test_header_bytes(void **state)
{
	struct fl_stats st = { 0 };
	const char *path = path_in_dir("h.pcap");
	struct recorder_opts o = { .path = path, .linktype = FL_LINK_RAW, .snaplen = 1234 };
	size_t len;
	uint8_t *b;
	(void)state;

	recorder_close(open_rec(&o, &st));
	b = slurp(path, &len);
	/* An empty recording is the 24-byte header alone. */
	static const uint8_t want[24] = { 0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					  0xd2, 0x04, 0, 0, 101, 0, 0, 0 };
	assert_int_equal(len, 24);
	assert_memory_equal(b, want, 24);
	free(b);
	assert_int_equal(st.recorder.files, 1);
}

static void test_timestamps_and_lengths(void **state)
{
	struct fl_stats st = { 0 };
	const char *path = path_in_dir("ts.pcap");
	struct recorder_opts o = { .path = path, .linktype = FL_LINK_ETHERNET, .snaplen = 100 };
	struct recorder *r = open_rec(&o, &st);
	struct rec recs[4];
	struct fl_packet p;
	(void)state;

	p = pkt(TS0, 1, 60, 60);
	recorder_packet(r, &p, NULL);
	p = pkt(TS0 + 1, 2, 60, 1500);         /* the source's snaplen cut it */
	recorder_packet(r, &p, NULL);
	p = pkt(TS0 + 999999999, 3, 300, 300); /* ours cuts it */
	recorder_packet(r, &p, NULL);
	recorder_close(r);

	assert_int_equal(read_pcap(path, recs, 4, NULL), 3);
	assert_int_equal(recs[0].sec, 1700000000);
	assert_int_equal(recs[0].nsec, 123456789);
	assert_int_equal(recs[1].nsec, 123456790);
	assert_int_equal(recs[2].sec, 1700000001);
	assert_int_equal(recs[2].nsec, 123456788);
	assert_int_equal(recs[0].incl, 60);
	assert_int_equal(recs[0].orig, 60);
	assert_int_equal(recs[1].incl, 60);
	assert_int_equal(recs[1].orig, 1500);
	assert_int_equal(recs[2].incl, 100);
	assert_int_equal(recs[2].orig, 300);
	assert_int_equal(recs[2].first, 3);
	assert_int_equal(st.recorder.packets, 3);
	assert_int_equal(st.recorder.bytes, 220);
}

static void test_linktype_auto(void **state)
{
	struct fl_stats st = { 0 };
	const char *path = path_in_dir("auto.pcap");
	struct recorder_opts o = { .path = path, .linktype = RECORDER_LINKTYPE_AUTO };
	struct recorder *r = open_rec(&o, &st);
	struct fl_packet p = pkt(TS0, 1, 40, 40);
	uint32_t lt = 0;
	(void)state;

	p.linktype = FL_LINK_LINUX_SLL;
	recorder_packet(r, &p, NULL);
	p.linktype = FL_LINK_ETHERNET;          /* a second link type cannot go in */
	recorder_packet(r, &p, NULL);
	assert_non_null(recorder_last_error(r));
	recorder_close(r);
	assert_int_equal(read_pcap(path, NULL, 0, &lt), 1);
	assert_int_equal(lt, FL_LINK_LINUX_SLL);
	assert_int_equal(st.recorder.dropped, 1);
}

/* libpcap's DLT_RAW (12) is LINKTYPE_RAW (101) in a file. */
static void test_linktype_raw(void **state)
{
	struct fl_stats st = { 0 };
	const char *path = path_in_dir("raw.pcap");
	struct recorder_opts o = { .path = path, .linktype = RECORDER_LINKTYPE_AUTO };
	struct recorder *r = open_rec(&o, &st);
	struct fl_packet p = pkt(TS0, 0x45, 40, 40);
	uint32_t lt = 0;
	(void)state;

	p.linktype = 12;
	recorder_packet(r, &p, NULL);
	recorder_close(r);
	assert_int_equal(read_pcap(path, NULL, 0, &lt), 1);
	assert_int_equal(lt, 101);
}

static void test_gzip(void **state)
{
	struct fl_stats st = { 0 };
	const char *path = path_in_dir("z.pcap.gz");
	struct recorder_opts o = { .path = path, .linktype = FL_LINK_ETHERNET };
	struct recorder *r = open_rec(&o, &st);
	struct rec recs[2];
	uint8_t magic[2];
	FILE *f;
	(void)state;

	for (int i = 0; i < 1000; i++) {
		struct fl_packet p = pkt(TS0 + (uint64_t)i * 1000, (uint8_t)i, 1000, 1000);
		recorder_packet(r, &p, NULL);
	}
	recorder_close(r);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(magic, 1, 2, f), 2);
	fclose(f);
	assert_int_equal(magic[0], 0x1f);     /* really gzip, not plain */
	assert_int_equal(magic[1], 0x8b);
	assert_int_equal(read_pcap(path, recs, 2, NULL), 1000);
	assert_int_equal(recs[1].first, 1);
	assert_int_equal(recs[1].nsec, 123457789);
}

static void test_rotation_names(void **state)
{
	char buf[64];
	(void)state;

	assert_int_equal(rec_file_name("out.pcap", 1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "out-00001.pcap");
	rec_file_name("/tmp/x.y/out.pcap.gz", 12, buf, sizeof(buf));
	assert_string_equal(buf, "/tmp/x.y/out-00012.pcap.gz");
	rec_file_name("out", 3, buf, sizeof(buf));
	assert_string_equal(buf, "out-00003");
	rec_file_name("dir.d/trace", 3, buf, sizeof(buf));
	assert_string_equal(buf, "dir.d/trace-00003");
	rec_file_name("out.gz", 2, buf, sizeof(buf));
	assert_string_equal(buf, "out-00002.gz");
	rec_file_name(".hidden", 2, buf, sizeof(buf));
	assert_string_equal(buf, ".hidden-00002");
	assert_int_equal(rec_file_name("a-very-long-name.pcap", 1, buf, 8), -ENAMETOOLONG);
}

static void test_rotation(void **state)
{
	struct fl_stats st = { 0 };
	const char *path = path_in_dir("rot.pcap");
	struct recorder_opts o = { .path = path, .linktype = FL_LINK_ETHERNET,
				   .max_mb = 1, .max_files = 3 };
	struct recorder *r = open_rec(&o, &st);
	char name[256];
	size_t total = 0;
	struct stat sb;
	(void)state;

	/* 5000 records of 1016 bytes: 5.08 MB, 984 records a file: 6 files. */
	for (int i = 0; i < 5000; i++) {
		struct fl_packet p = pkt(TS0 + (uint64_t)i * 1000000, (uint8_t)i, 1000, 1000);
		recorder_packet(r, &p, NULL);
	}
	recorder_close(r);
	assert_int_equal(st.recorder.files, 6);
	assert_false(file_exists(path));
	for (uint32_t seq = 1; seq <= 6; seq++) {
		rec_file_name(path, seq, name, sizeof(name));
		if (seq <= 3) {
			assert_false(file_exists(name));
			continue;
		}
		assert_int_equal(stat(name, &sb), 0);
		assert_true(sb.st_size <= 1000000);
		total += read_pcap(name, NULL, 0, NULL);
		if (seq < 6)
			assert_int_equal(read_pcap(name, NULL, 0, NULL), 984);
	}
	assert_int_equal(total, 2 * 984 + (5000 - 5 * 984));   /* files 4, 5, 6 */
	assert_int_equal(st.recorder.packets, 5000);
}

static void test_rotation_gzip(void **state)
{
	struct fl_stats st = { 0 };
	const char *path = path_in_dir("rot.pcap.gz");
	struct recorder_opts o = { .path = path, .linktype = FL_LINK_ETHERNET, .max_mb = 1 };
	struct recorder *r = open_rec(&o, &st);
	char name[256];
	(void)state;

	/* The bound is on pcap bytes (uncompressed): the same 984 records a file. */
	for (int i = 0; i < 2000; i++) {
		struct fl_packet p = pkt(TS0 + (uint64_t)i, (uint8_t)i, 1000, 1000);
		recorder_packet(r, &p, NULL);
	}
	recorder_close(r);
	assert_int_equal(st.recorder.files, 3);
	rec_file_name(path, 1, name, sizeof(name));
	assert_non_null(strstr(name, "rot-00001.pcap.gz"));
	assert_int_equal(read_pcap(name, NULL, 0, NULL), 984);
	rec_file_name(path, 3, name, sizeof(name));
	assert_int_equal(read_pcap(name, NULL, 0, NULL), 2000 - 2 * 984);
}

/* Buffered packets reach the disk about once a second of packet time, not only at close. */
static void test_flush_each_second(void **state)
{
	struct fl_stats st = { 0 };
	const char *path = path_in_dir("sec.pcap");
	struct recorder_opts o = { .path = path, .linktype = FL_LINK_ETHERNET };
	struct recorder *r = open_rec(&o, &st);
	struct fl_packet p;
	struct stat sb;
	(void)state;

	p = pkt(TS0, 1, 100, 100);
	recorder_packet(r, &p, NULL);
	p = pkt(TS0 + 500000000, 2, 100, 100);
	recorder_packet(r, &p, NULL);
	assert_int_equal(st.recorder.packets, 0);          /* still in the buffer */
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	p = pkt(TS0 + 1000000000, 3, 100, 100);
	recorder_packet(r, &p, NULL);
	assert_int_equal(st.recorder.packets, 3);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 24 + 3 * 116);
	p = pkt(TS0 + 1000000001, 4, 100, 100);
	recorder_packet(r, &p, NULL);
	recorder_flush(r);                                  /* capture's idle timer */
	assert_int_equal(st.recorder.packets, 4);
	recorder_close(r);
}

/* The tests' KFL stand-in: an entry matches when it has an error. */
static bool match_error(const struct kfl_expr *filter, const struct doc *entry)
{
	(void)filter;
	return doc_get(entry, DOC_ROOT, "error") != DOC_NONE;
}

static void emit(struct recorder *r, struct flow *flow, bool error, uint64_t ts)
{
	struct doc d;
	struct entry_meta meta = { .flow = flow, .ts_ns = ts };

	doc_init(&d);
	doc_reset(&d);
	doc_add_str(&d, DOC_ROOT, "protocol", "tcp");
	if (error)
		doc_add_obj(&d, DOC_ROOT, "error");
	recorder_entry(r, &d, &meta);
	doc_free(&d);
}

static const struct kfl_expr *const FAKE_FILTER = (const struct kfl_expr *)&payload;

static struct recorder_opts filter_opts(const char *path)
{
	return (struct recorder_opts){ .path = path, .linktype = FL_LINK_ETHERNET,
				       .filter = FAKE_FILTER, .match = match_error };
}

static void test_filter_only_matching_flows(void **state)
{
	struct fl_stats st = { 0 };
	const char *path = path_in_dir("f.pcap");
	struct recorder_opts o = filter_opts(path);
	struct recorder *r = open_rec(&o, &st);
	struct tflow a = { 0 }, b = { 0 }, c = { 0 };
	struct rec recs[16];
	struct fl_packet p;
	size_t n;
	(void)state;

	/* a: 1x, b: 2x, c: 3x tags; b fails after its third packet. */
	for (int i = 0; i < 3; i++) {
		p = pkt(TS0 + (uint64_t)(3 * i + 0), (uint8_t)(0x10 + i), 80, 80);
		recorder_packet(r, &p, &a.f);
		p = pkt(TS0 + (uint64_t)(3 * i + 1), (uint8_t)(0x20 + i), 80, 80);
		recorder_packet(r, &p, &b.f);
		p = pkt(TS0 + (uint64_t)(3 * i + 2), (uint8_t)(0x30 + i), 80, 80);
		recorder_packet(r, &p, &c.f);
	}
	assert_true(st.memory.recorder_bytes > 0);
	emit(r, &a.f, false, TS0);            /* healthy: does not match */
	emit(r, &b.f, true, TS0 + 1);
	p = pkt(TS0 + 20, 0x23, 80, 80);
	recorder_packet(r, &p, &b.f);         /* after the match: written directly */
	p = pkt(TS0 + 21, 0x13, 80, 80);
	recorder_packet(r, &p, &a.f);
	recorder_flow_end(r, &a.f);
	recorder_flow_end(r, &b.f);
	recorder_flow_end(r, &c.f);
	assert_true(st.memory.recorder_bytes > 0);   /* the pool keeps its blocks for reuse */
	assert_int_equal(a.tag, 0);
	recorder_close(r);

	n = read_pcap(path, recs, 16, NULL);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(recs[i].first, 0x20 + i);
		assert_int_equal(recs[i].nsec, (i < 3 ? 123456789 + 3 * i + 1 : 123456789 + 20));
	}
	assert_int_equal(st.recorder.packets, 4);
	assert_int_equal(st.recorder.dropped, 0);
}

static void test_filter_flow_bounds(void **state)
{
	struct fl_stats st = { 0 };
	const char *path = path_in_dir("fb.pcap");
	struct recorder_opts o = filter_opts(path);
	struct tflow a = { 0 }, b = { 0 };
	struct rec recs[16];
	struct recorder *r;
	struct fl_packet p;
	(void)state;

	o.flow_buffer_packets = 4;
	o.flow_buffer_bytes = 3 * (16 + 500);
	r = open_rec(&o, &st);
	/* a: bounded by packets (10 small ones, the newest 4 kept). */
	for (int i = 0; i < 10; i++) {
		p = pkt(TS0 + (uint64_t)i, (uint8_t)i, 100, 100);
		recorder_packet(r, &p, &a.f);
	}
	/* b: bounded by bytes (3 records of 500 fit), and one too big to hold at all. */
	for (int i = 0; i < 5; i++) {
		p = pkt(TS0 + 100 + (uint64_t)i, (uint8_t)(0x40 + i), 500, 500);
		recorder_packet(r, &p, &b.f);
	}
	p = pkt(TS0 + 200, 0x50, 2000, 2000);
	recorder_packet(r, &p, &b.f);
	assert_int_equal(st.recorder.dropped, 6 + 2 + 1);
	emit(r, &a.f, true, TS0);
	emit(r, &b.f, true, TS0 + 100);
	recorder_close(r);

	assert_int_equal(read_pcap(path, recs, 16, NULL), 4 + 3);
	for (int i = 0; i < 4; i++)
		assert_int_equal(recs[i].first, 6 + i);
	for (int i = 0; i < 3; i++)
		assert_int_equal(recs[4 + i].first, 0x42 + i);
}

static void test_filter_total_bound(void **state)
{
	struct fl_stats st = { 0 };
	const char *path = path_in_dir("ft.pcap");
	struct recorder_opts o = filter_opts(path);
	struct tflow f[4] = { 0 };
	struct rec recs[32];
	struct recorder *r;
	struct fl_packet p;
	size_t n;
	(void)state;

	/* Room for 3.5 flows of 2 packets (in 512-byte blocks: 41 blocks, a flow takes 12). */
	o.snaplen = 4000;
	o.buffer_total_bytes = 21112;
	r = open_rec(&o, &st);
	for (int i = 0; i < 4; i++) {          /* 4 flows x 2 packets = 8 blocks wanted */
		for (int k = 0; k < 2; k++) {
			p = pkt(TS0 + (uint64_t)(10 * i + k), (uint8_t)(0x10 * (i + 1) + k), 3000, 3000);
			recorder_packet(r, &p, &f[i].f);
		}
	}
	/* flow 0, the oldest, lost its buffer to make room for flow 3. */
	assert_int_equal(st.recorder.dropped, 2);
	assert_true(st.memory.recorder_bytes <= 21112);
	for (int i = 0; i < 4; i++)
		emit(r, &f[i].f, true, TS0);
	recorder_close(r);
	n = read_pcap(path, recs, 32, NULL);
	assert_int_equal(n, 6);
	assert_int_equal(recs[0].first, 0x20);
	assert_int_equal(recs[5].first, 0x41);
}

/* Many undecided flows: memory stays under the total bound, what is pushed out is counted. */
static void test_filter_many_flows(void **state)
{
	struct fl_stats st = { 0 };
	const char *path = path_in_dir("many.pcap");
	struct recorder_opts o = filter_opts(path);
	enum { NFLOWS = 5000 };
	struct tflow *flows = calloc(NFLOWS, sizeof(*flows));
	uint64_t buffered = 0;
	struct recorder *r;
	(void)state;

	o.buffer_total_bytes = 1 << 20;
	r = open_rec(&o, &st);
	for (int k = 0; k < 4; k++) {
		for (int i = 0; i < NFLOWS; i++) {
			struct fl_packet p = pkt(TS0 + (uint64_t)(k * NFLOWS + i), (uint8_t)k, 200, 200);
			recorder_packet(r, &p, &flows[i].f);
			assert_true(st.memory.recorder_bytes <= 1 << 20);
		}
	}
	/* 20000 packets of 216 bytes cannot all be held in 1 MiB. */
	assert_true(st.recorder.dropped > 10000);
	/* The oldest buffers went first: the newest packets are still there. */
	emit(r, &flows[NFLOWS - 1].f, true, TS0);
	buffered = st.recorder.dropped;
	for (int i = 0; i < NFLOWS; i++)
		recorder_flow_end(r, &flows[i].f);
	assert_true(st.memory.recorder_bytes <= 1 << 20);
	assert_int_equal(st.recorder.dropped, buffered);  /* ending a flow is not a loss */
	recorder_close(r);
	free(flows);
	struct rec recs[4];
	assert_int_equal(read_pcap(path, recs, 4, NULL), 1);
	assert_int_equal(recs[0].first, 3);
}

/* An entry with no flow records the packet that caused it, before or after it is observed. */
/* tap.memoryLimitMb: the pool grows only into what the others leave. */
static void test_filter_memory_budget(void **state)
{
	struct fl_stats st = { 0 };
	const char *path = path_in_dir("budget.pcap");
	struct recorder_opts o = filter_opts(path);
	enum { NFLOWS = 500 };
	struct tflow *flows = calloc(NFLOWS, sizeof(*flows));
	struct recorder *r;
	(void)state;

	st.memory.limit_bytes = 96 * 1024;
	st.memory.flow_bytes = 32 * 1024;         /* what the flow table holds */
	o.buffer_total_bytes = 1 << 20;           /* the recorder's own bound is not the limit */
	r = open_rec(&o, &st);
	for (int k = 0; k < 4; k++) {
		for (int i = 0; i < NFLOWS; i++) {
			struct fl_packet p = pkt(TS0 + (uint64_t)(k * NFLOWS + i), (uint8_t)k, 200, 200);
			recorder_packet(r, &p, &flows[i].f);
			assert_true(memory_used(&st) <= st.memory.limit_bytes);
		}
	}
	assert_true(st.memory.recorder_bytes > 32 * 1024);
	assert_true(st.recorder.dropped > 1000);
	assert_true(st.memory.over_limit > 0);
	/* The newest packets are still held: a match writes them. */
	emit(r, &flows[NFLOWS - 1].f, true, TS0);
	for (int i = 0; i < NFLOWS; i++)
		recorder_flow_end(r, &flows[i].f);
	recorder_close(r);
	assert_int_equal(st.memory.recorder_bytes, 0);
	free(flows);
	struct rec recs[4];
	assert_int_equal(read_pcap(path, recs, 4, NULL), 1);
	assert_int_equal(recs[0].first, 3);
}

static void test_filter_flowless_entry(void **state)
{
	struct fl_stats st = { 0 };
	const char *path = path_in_dir("lone.pcap");
	struct recorder_opts o = filter_opts(path);
	struct recorder *r = open_rec(&o, &st);
	struct rec recs[8];
	struct fl_packet p;
	(void)state;

	p = pkt(TS0, 0x01, 60, 60);
	recorder_packet(r, &p, NULL);
	p = pkt(TS0 + 5, 0x02, 60, 60);
	recorder_packet(r, &p, NULL);
	emit(r, NULL, true, TS0 + 5);     /* observed first, then the entry */
	emit(r, NULL, true, TS0 + 9);     /* the entry first, then its packet */
	p = pkt(TS0 + 9, 0x03, 60, 60);
	recorder_packet(r, &p, NULL);
	p = pkt(TS0 + 10, 0x04, 60, 60);
	recorder_packet(r, &p, NULL);
	recorder_close(r);

	assert_int_equal(read_pcap(path, recs, 8, NULL), 2);
	assert_int_equal(recs[0].first, 0x02);
	assert_int_equal(recs[1].first, 0x03);
}

static void test_write_error_dev_full(void **state)
{
	struct fl_stats st = { 0 };
	struct recorder_opts o = { .path = "/dev/full", .linktype = FL_LINK_ETHERNET };
	struct recorder *r;
	struct fl_packet p;
	(void)state;

	if (!file_exists("/dev/full"))
		skip();
	r = open_rec(&o, &st);
	assert_null(recorder_last_error(r));
	/* 3 s of packets: the 1 s flush rule writes, the write fails. */
	for (int i = 0; i < 3000; i++) {
		p = pkt(TS0 + (uint64_t)i * 1000000, 1, 100, 100);
		recorder_packet(r, &p, NULL);
	}
	assert_non_null(recorder_last_error(r));
	assert_non_null(strstr(recorder_last_error(r), "/dev/full"));
	assert_non_null(strstr(recorder_last_error(r), strerror(ENOSPC)));
	assert_int_equal(st.recorder.write_errors, 1);      /* once, not per packet */
	assert_int_equal(st.recorder.packets, 0);
	assert_int_equal(st.recorder.dropped, 3000);
	recorder_close(r);
	assert_int_equal(st.recorder.write_errors, 1);
}

/* A small tmpfs: a full disk mid-file, then space freed and the next rotation retries. */
static char small_fs[96];

static int mount_small_fs(void **state)
{
	char cmd[256];
	(void)state;
	snprintf(small_fs, sizeof(small_fs), "%s/small", dir);
	if (geteuid() != 0 || (mkdir(small_fs, 0700) < 0 && errno != EEXIST)) {
		small_fs[0] = 0;
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=2500k tmpfs '%s' 2>/dev/null", small_fs);
	if (system(cmd) != 0)
		small_fs[0] = 0;
	return 0;
}

static int umount_small_fs(void **state)
{
	char cmd[256];
	(void)state;
	if (!small_fs[0])
		return 0;
	snprintf(cmd, sizeof(cmd), "umount '%s'", small_fs);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_write_error_full_disk(void **state)
{
	struct fl_stats st = { 0 };
	char path[160], name[6][200];
	struct recorder_opts o = { .path = path, .linktype = FL_LINK_ETHERNET, .max_mb = 1 };
	struct recorder *r;
	uint64_t kept3;
	bool freed = false;
	(void)state;

	if (geteuid() != 0 || !small_fs[0] || !file_exists(small_fs)) {
		print_message("skipped: mounting a tmpfs needs root\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/full.pcap", small_fs);
	for (uint32_t i = 1; i <= 5; i++)
		rec_file_name(path, i, name[i], sizeof(name[i]));
	r = open_rec(&o, &st);
	/* 984 packets a file: 2 files fit in 2500k, the third fills the disk. */
	for (int i = 0; i < 4 * 984 + 100; i++) {
		struct fl_packet p = pkt(TS0 + (uint64_t)i * 1000, (uint8_t)i, 1000, 1000);
		recorder_packet(r, &p, NULL);
		if (st.recorder.write_errors && !freed) {
			/* Someone makes room: the next file is the retry. */
			assert_int_equal(unlink(name[1]), 0);
			assert_int_equal(unlink(name[2]), 0);
			freed = true;
		}
	}
	assert_true(freed);
	assert_non_null(strstr(recorder_last_error(r), strerror(ENOSPC)));
	assert_non_null(strstr(recorder_last_error(r), "full-00003.pcap"));
	recorder_close(r);

	assert_int_equal(st.recorder.write_errors, 1);
	assert_int_equal(st.recorder.files, 5);
	/* The file that hit the full disk ends at its last whole packet. */
	kept3 = read_pcap(name[3], NULL, 0, NULL);
	assert_true(kept3 > 0 && kept3 < 984);
	assert_int_equal(read_pcap(name[4], NULL, 0, NULL), 984);
	assert_int_equal(read_pcap(name[5], NULL, 0, NULL), 100);
	assert_int_equal(st.recorder.packets, 2 * 984 + kept3 + 984 + 100);
	assert_int_equal(st.recorder.dropped, 984 - kept3);
}

/* gzip on a full disk: the error may only show when the stream is closed; finish reports it. */
static void test_write_error_gzip_full_disk(void **state)
{
	struct fl_stats st = { 0 };
	char path[160];
	struct recorder_opts o = { .path = path, .linktype = FL_LINK_ETHERNET };
	struct recorder *r;
	(void)state;

	if (geteuid() != 0 || !small_fs[0] || !file_exists(small_fs)) {
		print_message("skipped: mounting a tmpfs needs root\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/full.pcap.gz", small_fs);
	r = open_rec(&o, &st);
	srand(7);
	/* 3 MB that does not compress, in 1.5 ms of packet time: only finish writes it. */
	for (int i = 0; i < 3000; i++) {
		for (int k = 0; k < 1000; k++)
			payload[k] = (uint8_t)rand();
		struct fl_packet p = { .ts_ns = TS0 + (uint64_t)i * 500, .data = payload,
				       .caplen = 1000, .len = 1000, .linktype = FL_LINK_ETHERNET };
		recorder_packet(r, &p, NULL);
	}
	recorder_finish(r);
	assert_true(st.recorder.write_errors >= 1);
	assert_non_null(recorder_last_error(r));
	assert_non_null(strstr(recorder_last_error(r), "full.pcap.gz"));
	recorder_close(r);
	memset(payload, 0, sizeof(payload));
	/* Cut by the full disk, it still reads cleanly to its last whole packet, and
	 * recorder.packets counts exactly the packets in it. */
	size_t kept = read_pcap(path, NULL, 0, NULL);
	assert_true(kept > 0 && kept < 3000);
	assert_int_equal(st.recorder.packets, kept);
	assert_int_equal(st.recorder.dropped, 3000 - kept);
}

/* ---- the inputs are never touched; symbolic links; restarts ---- */

static struct rec_file_id id_of(const char *path)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	return (struct rec_file_id){ (uint64_t)sb.st_dev, (uint64_t)sb.st_ino };
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static bool has_text(const char *path, const char *text)
{
	char buf[128] = "";
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strcmp(buf, text) == 0;
}

/* A hard link to an input is the input: refused before anything is truncated. */
static void test_refuses_input_hard_link(void **state)
{
	struct fl_stats st = { 0 };
	const char *in = path_in_dir("in.pcap"), *out = path_in_dir("in-link.pcap");
	struct rec_file_id id;
	char err[512] = "";
	(void)state;

	write_text(in, "the input");
	assert_int_equal(link(in, out), 0);
	id = id_of(in);
	struct recorder_opts o = { .path = out, .linktype = 1, .protect = &id, .n_protect = 1 };
	assert_null(recorder_open(&o, &st, err, sizeof(err)));
	assert_int_equal(errno, EEXIST);
	assert_non_null(strstr(err, "in-link.pcap"));
	assert_non_null(strstr(err, "input"));
	assert_true(has_text(in, "the input"));
	assert_int_equal(st.recorder.files, 0);
}

/* -w r.pcap --write-max-mb 1 reading r-00001.pcap: the ring would overwrite or delete it. */
static void test_refuses_rotated_input(void **state)
{
	struct fl_stats st = { 0 };
	const char *in = path_in_dir("ring-00001.pcap"), *out = path_in_dir("ring.pcap");
	struct rec_file_id id;
	char err[512] = "";
	(void)state;

	write_text(in, "rotated input");
	id = id_of(in);
	struct recorder_opts o = { .path = out, .linktype = 1, .max_mb = 1, .max_files = 1,
				   .protect = &id, .n_protect = 1 };
	assert_null(recorder_open(&o, &st, err, sizeof(err)));
	assert_int_equal(errno, EEXIST);
	assert_non_null(strstr(err, "ring-00001.pcap"));
	assert_true(has_text(in, "rotated input"));
	/* Under another name of the ring's directory, the same input. */
	const char *other = path_in_dir("ring-00009.pcap");
	assert_int_equal(rename(in, other), 0);
	assert_null(recorder_open(&o, &st, err, sizeof(err)));
	assert_true(has_text(other, "rotated input"));
}

static void test_symlink_refused_unless_asked(void **state)
{
	struct fl_stats st = { 0 };
	char target[256], out[256], dangling[256], nowhere[256], err[512] = "";
	struct recorder *r;
	(void)state;

	snprintf(target, sizeof(target), "%s", path_in_dir("target.txt"));
	snprintf(out, sizeof(out), "%s", path_in_dir("sym.pcap"));
	snprintf(dangling, sizeof(dangling), "%s", path_in_dir("dangling.pcap"));
	snprintf(nowhere, sizeof(nowhere), "%s", path_in_dir("nowhere.pcap"));
	write_text(target, "precious");
	assert_int_equal(symlink(target, out), 0);
	struct recorder_opts o = { .path = out, .linktype = 1 };
	assert_null(recorder_open(&o, &st, err, sizeof(err)));
	assert_int_equal(errno, ELOOP);
	assert_non_null(strstr(err, "symbolic link"));
	assert_non_null(strstr(err, "--write-follow-symlinks"));
	assert_true(has_text(target, "precious"));
	/* A dangling link is not followed either (it would create its target). */
	assert_int_equal(symlink(nowhere, dangling), 0);
	o.path = dangling;
	assert_null(recorder_open(&o, &st, err, sizeof(err)));
	assert_false(file_exists(nowhere));
	/* Asked for: written through the link. */
	o.path = out;
	o.follow_symlinks = true;
	r = open_rec(&o, &st);
	recorder_close(r);
	assert_int_equal(read_pcap(target, NULL, 0, NULL), 0);
}

/* /dev/stdout and /dev/fd/N are the system's links to a descriptor we have: used as is. */
static void test_dev_fd_is_not_a_refused_symlink(void **state)
{
	struct fl_stats st = { 0 };
	const char *path = path_in_dir("fd.pcap");
	char fdpath[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	(void)state;

	assert_true(fd >= 0);
	snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", fd);
	struct recorder_opts o = { .path = fdpath, .linktype = FL_LINK_ETHERNET };
	struct recorder *r = open_rec(&o, &st);
	struct fl_packet p = pkt(TS0, 7, 100, 100);
	recorder_packet(r, &p, NULL);
	recorder_close(r);
	close(fd);
	assert_int_equal(read_pcap(path, NULL, 0, NULL), 1);
}

/* Three runs of one ring of K = 2: the numbers go on, exactly 2 files stay. */
static void test_rotation_across_restarts(void **state)
{
	const char *path = path_in_dir("again.pcap");
	char name[256];
	(void)state;

	for (int run = 0; run < 3; run++) {
		struct fl_stats st = { 0 };
		struct recorder_opts o = { .path = path, .linktype = FL_LINK_ETHERNET,
					   .max_mb = 1, .max_files = 2 };
		struct recorder *r = open_rec(&o, &st);
		/* 3 files a run: 984 + 984 + 32 records. */
		for (int i = 0; i < 2000; i++) {
			struct fl_packet p = pkt(TS0 + (uint64_t)i, (uint8_t)i, 1000, 1000);
			recorder_packet(r, &p, NULL);
		}
		recorder_close(r);
		assert_int_equal(st.recorder.files, 3);
	}
	for (uint32_t seq = 1; seq <= 10; seq++) {
		rec_file_name(path, seq, name, sizeof(name));
		assert_int_equal(file_exists(name), seq == 8 || seq == 9);
	}
	rec_file_name(path, 9, name, sizeof(name));
	assert_int_equal(read_pcap(name, NULL, 0, NULL), 2000 - 2 * 984);
	/* A bigger K later keeps what is there and adds to it. */
	struct fl_stats st = { 0 };
	struct recorder_opts o = { .path = path, .linktype = FL_LINK_ETHERNET,
				   .max_mb = 1, .max_files = 5 };
	recorder_close(open_rec(&o, &st));
	for (uint32_t seq = 1; seq <= 11; seq++) {
		rec_file_name(path, seq, name, sizeof(name));
		assert_int_equal(file_exists(name), seq >= 8 && seq <= 10);
	}
}

/* A gzip recording is whole members on disk after every flush: readable while it runs. */
static void test_gzip_readable_after_each_flush(void **state)
{
	struct fl_stats st = { 0 };
	const char *path = path_in_dir("live.pcap.gz");
	struct recorder_opts o = { .path = path, .linktype = FL_LINK_ETHERNET };
	struct recorder *r = open_rec(&o, &st);
	(void)state;

	for (int round = 1; round <= 3; round++) {
		for (int i = 0; i < 100; i++) {
			struct fl_packet p = pkt(TS0 + (uint64_t)(round * 100 + i), (uint8_t)i, 200, 200);
			recorder_packet(r, &p, NULL);
		}
		recorder_flush(r);
		/* slurp() fails on a stream that ends mid-member. */
		assert_int_equal(read_pcap(path, NULL, 0, NULL), (size_t)round * 100);
		assert_int_equal(st.recorder.packets, (uint64_t)round * 100);
	}
	recorder_close(r);
	assert_int_equal(read_pcap(path, NULL, 0, NULL), 300);
}

static void test_open_failure(void **state)
{
	struct fl_stats st = { 0 };
	struct recorder_opts o = { .path = "/nonexistent-dir/x.pcap", .linktype = 1 };
	char err[256] = "";
	(void)state;

	assert_null(recorder_open(&o, &st, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "/nonexistent-dir/x.pcap"));
	assert_int_equal(st.recorder.write_errors, 0);
	o.path = path_in_dir("nomatch.pcap");
	o.filter = FAKE_FILTER;              /* a filter needs its matcher */
	assert_null(recorder_open(&o, &st, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_bytes),
		cmocka_unit_test(test_timestamps_and_lengths),
		cmocka_unit_test(test_linktype_auto),
		cmocka_unit_test(test_linktype_raw),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_rotation_names),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_rotation_gzip),
		cmocka_unit_test(test_flush_each_second),
		cmocka_unit_test(test_filter_only_matching_flows),
		cmocka_unit_test(test_filter_flow_bounds),
		cmocka_unit_test(test_filter_total_bound),
		cmocka_unit_test(test_filter_many_flows),
		cmocka_unit_test(test_filter_memory_budget),
		cmocka_unit_test(test_filter_flowless_entry),
		cmocka_unit_test(test_write_error_dev_full),
		cmocka_unit_test_setup_teardown(test_write_error_full_disk, mount_small_fs,
						umount_small_fs),
		cmocka_unit_test_setup_teardown(test_write_error_gzip_full_disk, mount_small_fs,
						umount_small_fs),
		cmocka_unit_test(test_refuses_input_hard_link),
		cmocka_unit_test(test_refuses_rotated_input),
		cmocka_unit_test(test_symlink_refused_unless_asked),
		cmocka_unit_test(test_dev_fd_is_not_a_refused_symlink),
		cmocka_unit_test(test_rotation_across_restarts),
		cmocka_unit_test(test_gzip_readable_after_each_flush),
		cmocka_unit_test(test_open_failure),
	};
	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
