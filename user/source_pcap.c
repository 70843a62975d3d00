// SPDX-License-Identifier: MIT
#include "source_pcap.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "packet.h"
#include "pipeline.h"

struct pcap_source {
	pcap_t *pcap;
	FILE *file;             /* a stdio view of the gzFile that libpcap reads */
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
	return s;
}

uint32_t pcap_source_linktype(const struct pcap_source *s)
{
	return s->linktype;
}

int pcap_source_run(struct pcap_source *s, struct pipeline *p, char *err, size_t errlen)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;
	uint64_t number = 0;
	int rc;

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
		pipeline_packet(p, &pkt);
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
	pcap_close(s->pcap);     /* closes the FILE, which closes the gzFile */
	free(s);
}
