// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the recorder's files (sink/recorder_file.c).  Packets of
 * fuzzed sizes and timestamps are written, with or without gzip, rotation by
 * a fuzzed byte bound, a ring of K files, flushes at fuzzed points and a
 * restart half way (the numbering must go on), into a temporary directory;
 * then every file is read back (zlib reads plain and gzip alike) and the
 * records compared with what was written: the files in number order hold
 * exactly the newest packets, whole and in order, no file past the bound
 * unless it holds a single packet, and exactly K files when K is set.
 *
 * Input: [opts][snaplen/64][max_bytes/64 u16][K] then records
 * [ctl][caplen u16][len u16][ts step u32]: ctl bit 0 = flush after it (and
 * read the open file back: it must end at a whole record, gzip too), bit 1 =
 * restart (close and open again) after it.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "sink/recorder_file.h"

#define MAX_RECORDS 512

struct want {
	uint32_t sec, nsec, caplen, len;
	uint8_t first;
};

static char dir[64];
static struct want wants[2 * MAX_RECORDS];
static uint8_t data[65536];

static void empty_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
}

static void remove_dir(void)
{
	empty_dir();
	rmdir(dir);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Append file `path`'s records to got[]; its uncompressed size, or abort on a bad file. */
static size_t read_file(const char *path, struct want *got, size_t *n_got, uint32_t snaplen)
{
	static uint8_t buf[4 << 20];
	gzFile gz = gzopen(path, "rb");
	size_t len = 0, off = 24;
	int k;

	if (!gz)
		abort();
	while ((k = gzread(gz, buf + len, (unsigned)(sizeof(buf) - len))) > 0)
		len += (size_t)k;
	if (k < 0 || len == sizeof(buf))        /* a member cut short, or corrupt */
		abort();
	gzclose(gz);
	if (len < 24 || get32(buf) != PCAP_NSEC_MAGIC || get32(buf + 16) != snaplen)
		abort();
	while (off < len) {
		if (off + 16 > len)
			abort();
		struct want w = { get32(buf + off), get32(buf + off + 4), get32(buf + off + 8),
				  get32(buf + off + 12), 0 };
		if (w.caplen > snaplen || off + 16 + w.caplen > len || *n_got >= 2 * MAX_RECORDS)
			abort();
		w.first = w.caplen ? buf[off + 16] : 0;
		got[(*n_got)++] = w;
		off += 16 + w.caplen;
	}
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	static struct want got[2 * MAX_RECORDS];
	struct fl_stats stats;
	char path[128], name[160], err[256];
	size_t off = 5, n_want = 0, n_got = 0, files = 0, kept_from = 0;
	uint64_t ts = 1700000000ull * 1000000000ull, files_opened = 0;

	if (!dir[0]) {
		/* tmpfs: thousands of files a second, no disk. */
		snprintf(dir, sizeof(dir), "/dev/shm/fuzz_recorder.XXXXXX");
		if (!mkdtemp(dir)) {
			snprintf(dir, sizeof(dir), "/tmp/fuzz_recorder.XXXXXX");
			if (!mkdtemp(dir))
				abort();
		}
		atexit(remove_dir);
	}
	if (size < 5)
		return 0;
	empty_dir();
	memset(&stats, 0, sizeof(stats));
	bool gzip = in[0] & 1, rotate = in[0] & 2;
	uint32_t snaplen = 64u * (1u + in[1] % 64);
	uint64_t max_bytes = rotate ? 64ull * (1u + (in[2] | (unsigned)in[3] << 8) % 256) : 0;
	uint32_t max_files = rotate ? in[4] % 5 : 0;
	snprintf(path, sizeof(path), "%s/rec.pcap%s", dir, gzip ? ".gz" : "");
	struct rec_file_opts o = { .path = path, .snaplen = snaplen, .linktype = 1,
				   .max_bytes = max_bytes, .max_files = max_files,
				   .buffer_bytes = (size_t)in[0] * 64 };
	struct rec_file *f = rec_file_open(&o, &stats, err, sizeof(err));
	if (!f)
		abort();
	files_opened = stats.recorder.files;

	while (off + 9 <= size && n_want < MAX_RECORDS) {
		uint8_t ctl = in[off];
		uint32_t caplen = (in[off + 1] | (uint32_t)in[off + 2] << 8) % (snaplen + 1);
		uint32_t len = in[off + 3] | (uint32_t)in[off + 4] << 8;
		ts += get32(in + off + 5) * 1000ull + in[off + 5];
		off += 9;
		for (uint32_t i = 0; i < caplen; i++)
			data[i] = (uint8_t)(n_want + i);
		uint8_t *dst = rec_file_reserve(f, ts, caplen, len);
		if (!dst)
			abort();                /* a local disk does not fail here */
		memcpy(dst, data, caplen);
		wants[n_want] = (struct want){ (uint32_t)(ts / 1000000000ull),
					       (uint32_t)(ts % 1000000000ull), caplen,
					       len > caplen ? len : caplen, caplen ? data[0] : 0 };
		n_want++;
		if (ctl & 1) {
			/* Flushed, the current file reads cleanly while it is still open (gzip too). */
			static struct want scratch[2 * MAX_RECORDS];
			size_t n_scratch = 0;
			rec_file_flush(f);
			if (!rotate)
				snprintf(name, sizeof(name), "%s", path);
			else if (rec_file_name(path, (uint32_t)stats.recorder.files, name, sizeof(name)) < 0)
				abort();
			read_file(name, scratch, &n_scratch, snaplen);
		}
		if (ctl & 2) {
			/* A restart: the ring goes on after the files already there. */
			if (rec_file_close(f) < 0)
				abort();
			if (!rotate)
				kept_from = n_want;     /* one file: the restart starts it over */
			f = rec_file_open(&o, &stats, err, sizeof(err));
			if (!f)
				abort();
		}
	}
	if (rec_file_close(f) < 0 || stats.recorder.write_errors || stats.recorder.dropped ||
	    stats.recorder.packets != n_want)
		abort();
	files_opened = stats.recorder.files;

	/* Read back: file 1 (or every numbered file that is left, in order). */
	if (!rotate) {
		read_file(path, got, &n_got, snaplen);
		files = 1;
	} else {
		for (uint32_t seq = 1; seq <= files_opened; seq++) {
			if (rec_file_name(path, seq, name, sizeof(name)) < 0)
				abort();
			if (access(name, F_OK) != 0) {
				if (!max_files || files)
					abort();         /* only the oldest go, never one in the middle */
				continue;
			}
			size_t before = n_got;
			size_t bytes = read_file(name, got, &n_got, snaplen);
			if (bytes > max_bytes && n_got - before > 1)
				abort();                 /* past the bound with more than one packet */
			files++;
		}
		if (max_files && files != (files_opened < max_files ? files_opened : max_files))
			abort();
	}
	/* The files hold the newest packets, whole and in order. */
	if (n_got > n_want - kept_from || (!max_files && n_got != n_want - kept_from))
		abort();
	for (size_t i = 0; i < n_got; i++) {
		const struct want *w = &wants[n_want - n_got + i], *g = &got[i];
		if (w->sec != g->sec || w->nsec != g->nsec || w->caplen != g->caplen ||
		    w->len != g->len || w->first != g->first)
			abort();
	}
	return 0;
}
