// SPDX-License-Identifier: MIT
#include "source/pcap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/packet.h"

/*
 * The fast path: a classic little-endian pcap 2.4 file, read with read() into
 * a large buffer and parsed here, each packet copied to an aligned scratch
 * buffer (as libpcap hands it).  It is taken only where libpcap would return
 * exactly the same records; at the first record it would treat differently
 * (caplen above the file's snaplen or the wire length, a truncated tail) the
 * run goes on through libpcap from that record, so errors read the same.
 */
#define FAST_BUF (4u << 20)
#define FAST_MAX_SNAPLEN 262144u
#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du

struct pcap_source {
	pcap_t *pcap;
	int fast_fd;            /* -1: libpcap reads everything */
	bool fast_ns;           /* nanosecond timestamps */
	uint32_t file_snaplen;
	FILE *file;             /* the file, or a stdio view of the gzFile, that libpcap reads */
	const char *path;
	uint32_t snaplen;
	uint32_t linktype;
};

/* fopencookie glue: libpcap reads a FILE*, zlib decompresses behind it. */
static ssize_t gz_cookie_read(void *cookie, char *buf, size_t size)
{
	if (size > INT32_MAX)
		size = INT32_MAX;
	int n = gzread((gzFile)cookie, buf, (unsigned)size);
	return n < 0 ? -1 : n;
}

static int gz_cookie_close(void *cookie)
{
	return gzclose((gzFile)cookie) == Z_OK ? 0 : EOF;
}

static FILE *open_decompressing(const char *path, char *err, size_t errlen)
{
	int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/*
	 * A plain (not gzip) regular file is read through stdio directly: the
	 * cookie layer costs a copy and a call per libpcap read, about as much
	 * as the whole analysis.  Pipes and gzip files go through zlib.
	 */
	unsigned char magic[2];
	if (pread(fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) &&
	    !(magic[0] == 0x1f && magic[1] == 0x8b)) {
		FILE *f = fdopen(fd, "r");
		if (!f) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			return NULL;
		}
		setvbuf(f, NULL, _IOFBF, 1 << 20);
		return f;
	}
	gzFile gz = gzdopen(fd, "rb");
	if (!gz) {
		close(fd);
		snprintf(err, errlen, "%s: cannot open: out of memory", path);
		return NULL;
	}
	gzbuffer(gz, 256 * 1024);
	cookie_io_functions_t io = { .read = gz_cookie_read, .close = gz_cookie_close };
	FILE *f = fopencookie(gz, "r", io);
	if (!f) {
		gzclose(gz);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	}
	return f;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Link types whose file value libpcap passes through unchanged as the DLT. */
static bool fast_linktype(uint32_t lt)
{
	return lt == 0 || lt == 1 || lt == 113 || lt == 228 || lt == 229 || lt == 276;
}

/* Take the fast path if the file is a plain classic pcap libpcap reads as is. */
static void fast_open(struct pcap_source *s)
{
	unsigned char h[24];
	if (strcmp(s->path, "-") == 0)
		return;
	int fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	uint32_t magic = 0, snaplen = 0, lt = 0;
	if (pread(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h)) {
		magic = le32(h);
		snaplen = le32(h + 16);
		lt = le32(h + 20);
	}
	if ((magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS) || h[4] != 2 || h[5] != 0 ||
	    h[6] != 4 || h[7] != 0 || snaplen == 0 || snaplen > FAST_MAX_SNAPLEN ||
	    !fast_linktype(lt) || lt != s->linktype || lseek(fd, 24, SEEK_SET) != 24) {
		close(fd);
		return;
	}
	s->fast_fd = fd;
	s->fast_ns = magic == PCAP_MAGIC_NS;
	s->file_snaplen = snaplen;
}

/*
 * Read records until the end, or until one the fast path does not take.
 * Returns the number of packets fed; *done tells whether the file ended
 * cleanly (otherwise libpcap takes over from that packet).
 */
static uint64_t fast_run(struct pcap_source *s, const struct packet_sink *out, bool *done)
{
	unsigned char *buf = malloc(FAST_BUF);
	unsigned char *pkt = aligned_alloc(64, FAST_MAX_SNAPLEN);
	uint64_t number = 0;
	size_t have = 0, off = 0;
	bool eof = false;
	*done = false;
	if (!buf || !pkt)
		goto out;
	for (;;) {
		if (have - off < 16 || have - off < 16 + (size_t)le32(buf + off + 8)) {
			/* Refill: keep the partial record, read more behind it. */
			if (eof) {
				*done = have == off;     /* a partial tail: libpcap reports it */
				break;
			}
			memmove(buf, buf + off, have - off);
			have -= off;
			off = 0;
			ssize_t n = read(s->fast_fd, buf + have, FAST_BUF - have);
			if (n < 0)
				break;
			if (n == 0)
				eof = true;
			have += (size_t)n;
			continue;
		}
		const unsigned char *h = buf + off;
		uint32_t caplen = le32(h + 8), len = le32(h + 12);
		if (caplen > s->file_snaplen || caplen > len)
			break;
		memcpy(pkt, h + 16, caplen);
		uint32_t frac = le32(h + 4);
		struct fl_packet fp = {
			.ts_ns = (uint64_t)le32(h) * 1000000000ull +
				 (s->fast_ns ? (uint64_t)frac : (uint64_t)frac * 1000u),
			.data = pkt,
			.caplen = caplen < s->snaplen ? caplen : s->snaplen,
			.len = len,
			.linktype = s->linktype,
		};
		off += 16 + (size_t)caplen;
		number++;
		out->packet(out->ctx, &fp);
	}
out:
	free(buf);
	free(pkt);
	return number;
}

struct pcap_source *pcap_source_open(const char *path, uint32_t snaplen, char *err, size_t errlen)
{
	char pcap_err[PCAP_ERRBUF_SIZE] = "";
	struct pcap_source *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	s->path = path;
	s->snaplen = snaplen;
	s->file = open_decompressing(path, err, errlen);
	if (!s->file) {
		free(s);
		return NULL;
	}
	s->pcap = pcap_fopen_offline_with_tstamp_precision(s->file, PCAP_TSTAMP_PRECISION_NANO,
							   pcap_err);
	if (!s->pcap) {
		if (strstr(pcap_err, "unknown file format") || strstr(pcap_err, "truncated dump file"))
			snprintf(err, errlen, "%s: not a pcap or pcapng capture (%s)", path, pcap_err);
		else
			snprintf(err, errlen, "%s: %s", path, pcap_err[0] ? pcap_err : "cannot read");
		fclose(s->file);
		free(s);
		return NULL;
	}
	s->linktype = (uint32_t)pcap_datalink(s->pcap);
	s->fast_fd = -1;
	fast_open(s);
	return s;
}

uint32_t pcap_source_linktype(const struct pcap_source *s)
{
	return s->linktype;
}

int pcap_source_run(struct pcap_source *s, const struct packet_sink *out, char *err,
		    size_t errlen)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;
	uint64_t number = 0;
	int rc;

	if (s->fast_fd >= 0) {
		bool done;
		uint64_t fed = fast_run(s, out, &done);
		if (done)
			return 0;
		/* libpcap goes on from the first record the fast path left. */
		for (number = 0; number < fed; number++)
			if (pcap_next_ex(s->pcap, &hdr, &data) != 1)
				break;
	}
	while ((rc = pcap_next_ex(s->pcap, &hdr, &data)) == 1) {
		number++;
		struct fl_packet pkt = {
			.ts_ns = (uint64_t)hdr->ts.tv_sec * 1000000000ull + (uint64_t)hdr->ts.tv_usec,
			.data = data,
			.caplen = hdr->caplen < s->snaplen ? hdr->caplen : s->snaplen,
			.len = hdr->len,
			/* pcapng may change link type per interface; libpcap reports it per file */
			.linktype = (uint32_t)pcap_datalink(s->pcap),
		};
		out->packet(out->ctx, &pkt);
	}
	if (rc == PCAP_ERROR) {
		snprintf(err, errlen, "%s: packet %llu: %s", s->path, (unsigned long long)number + 1,
			 pcap_geterr(s->pcap));
		return -EIO;
	}
	return 0;
}

void pcap_source_close(struct pcap_source *s)
{
	if (!s)
		return;
	pcap_close(s->pcap);     /* closes the FILE (and the gzFile behind a cookie) */
	if (s->fast_fd >= 0)
		close(s->fast_fd);
	free(s);
}
