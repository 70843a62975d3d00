// SPDX-License-Identifier: MIT
#include "source/pcap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/decode.h"
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

/*
 * Each input is opened once (a FIFO or /dev/stdin has no second open): the
 * fast path reads the same descriptor with pread(), at its own offset, while
 * libpcap's stdio stream moves the descriptor's.
 */
struct pcap_source {
	pcap_t *pcap;
	int fd;                 /* the input; closed with the stream libpcap reads */
	bool plain;             /* a regular file that is not gzip: the fast path may take it */
	bool fast;              /* the fast path reads it */
	bool fast_ns;           /* nanosecond timestamps */
	bool ended;             /* the last record was read (or failed) */
	uint32_t file_snaplen;
	/* The fast path's read state: buf[off, have) is read but not parsed. */
	unsigned char *buf, *pkt;
	size_t buf_size, buf_cap, have, off;
	off_t file_off;         /* where the next read starts */
	bool eof;
	uint64_t number;        /* records handed out */
	FILE *file;             /* the file, or a stdio view of the gzFile, that libpcap reads */
	gzFile gz;              /* the decompressor behind the cookie, or NULL */
	char gz_err[160];       /* what zlib said when it failed, else "" */
	const char *path;
	uint32_t snaplen;
	uint32_t linktype;
};

/* Keep zlib's word for a failure (libpcap would only print errno); false if there is none. */
static bool note_gz_error(struct pcap_source *s, int errnum)
{
	int zerr = Z_OK;
	const char *why = gzerror(s->gz, &zerr), *colon;

	if (zerr == Z_OK || zerr == Z_STREAM_END)
		return false;
	/* gzerror() says "<fd:3>: message". */
	colon = strstr(why, ": ");
	if (colon)
		why = colon + 2;
	if (zerr == Z_ERRNO)
		snprintf(s->gz_err, sizeof(s->gz_err), "%s", strerror(errnum));
	else if (zerr == Z_BUF_ERROR)
		snprintf(s->gz_err, sizeof(s->gz_err), "gzip data cut short (%s)", why);
	else
		snprintf(s->gz_err, sizeof(s->gz_err), "corrupt gzip data (%s)", why);
	return true;
}

/* fopencookie glue: libpcap reads a FILE*, zlib decompresses behind it. */
static ssize_t gz_cookie_read(void *cookie, char *buf, size_t size)
{
	struct pcap_source *s = cookie;

	if (size > INT32_MAX)
		size = INT32_MAX;
	int n = gzread(s->gz, buf, (unsigned)size);
	if (n >= 0)
		return n;
	note_gz_error(s, errno);
	errno = EIO;
	return -1;
}

static int gz_cookie_close(void *cookie)
{
	struct pcap_source *s = cookie;
	return gzclose(s->gz) == Z_OK ? 0 : EOF;
}

/*
 * "-", /dev/stdin and /dev/fd/N name a descriptor we already have: opening
 * the path again would open a pipe's FIFO a second time (and wait for a
 * writer that is gone).  -1 for a real path.
 */
static int inherited_fd(const char *path)
{
	char *end;
	long n;

	if (strcmp(path, "-") == 0 || strcmp(path, "/dev/stdin") == 0)
		return STDIN_FILENO;
	if (strncmp(path, "/dev/fd/", 8) == 0)
		path += 8;
	else if (strncmp(path, "/proc/self/fd/", 14) == 0)
		path += 14;
	else
		return -1;
	n = strtol(path, &end, 10);
	return end != path && !*end && n >= 0 && n <= INT32_MAX ? (int)n : -1;
}

static int open_decompressing(struct pcap_source *s, char *err, size_t errlen)
{
	const char *path = s->path;
	struct stat st;
	int inherited = inherited_fd(path);
	int fd = inherited >= 0 ? fcntl(inherited, F_DUPFD_CLOEXEC, 0) :
				  open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: %s", path, strerror(EISDIR));
		close(fd);
		return -1;
	}
	s->fd = fd;
	/*
	 * A plain (not gzip) regular file is read through stdio directly: the
	 * cookie layer costs a copy and a call per libpcap read, about as much
	 * as the whole analysis.  Pipes and gzip files go through zlib.
	 */
	unsigned char magic[2];
	if (S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_CUR) == 0 &&
	    pread(fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) &&
	    !(magic[0] == 0x1f && magic[1] == 0x8b)) {
		s->file = fdopen(fd, "r");
		if (!s->file) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		setvbuf(s->file, NULL, _IOFBF, 1 << 20);
		s->plain = true;
		return 0;
	}
	s->gz = gzdopen(fd, "rb");
	if (!s->gz) {
		close(fd);
		snprintf(err, errlen, "%s: cannot open: out of memory", path);
		return -1;
	}
	gzbuffer(s->gz, 256 * 1024);
	cookie_io_functions_t io = { .read = gz_cookie_read, .close = gz_cookie_close };
	s->file = fopencookie(s, "r", io);
	if (!s->file) {
		gzclose(s->gz);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
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
	if (!s->plain)
		return;
	uint32_t magic = 0, snaplen = 0, lt = 0;
	if (pread(s->fd, h, sizeof(h), 0) == (ssize_t)sizeof(h)) {
		magic = le32(h);
		snaplen = le32(h + 16);
		lt = le32(h + 20);
	}
	if ((magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS) || h[4] != 2 || h[5] != 0 ||
	    h[6] != 4 || h[7] != 0 || snaplen == 0 || snaplen > FAST_MAX_SNAPLEN ||
	    !fast_linktype(lt) || lt != s->linktype)
		return;
	s->pkt = aligned_alloc(64, (snaplen + 63) & ~63u);
	if (!s->pkt)
		return;
	s->fast = true;
	s->fast_ns = magic == PCAP_MAGIC_NS;
	s->file_snaplen = snaplen;
	s->file_off = 24;           /* after the file header */
}

/*
 * The fast path's next record: 1 with *fp set, 0 at a clean end, -1 at a
 * record it does not take (libpcap goes on from there and reports it).  The
 * buffer starts small and doubles while reads fill it, up to buf_cap: a file
 * read for its first packet only, or one of many open at once, holds little.
 */
static int fast_next(struct pcap_source *s, struct fl_packet *fp)
{
	for (;;) {
		if (s->have - s->off < 16 || s->have - s->off < 16 + (size_t)le32(s->buf + s->off + 8)) {
			/* Refill: keep the partial record, read more behind it. */
			if (s->eof)
				return s->have == s->off ? 0 : -1;  /* a partial tail: libpcap reports it */
			if (s->off) {
				memmove(s->buf, s->buf + s->off, s->have - s->off);
				s->have -= s->off;
				s->off = 0;
			}
			if (s->have == s->buf_size) {
				size_t size = s->buf_size ? s->buf_size * 2 : 65536;
				unsigned char *nb = size <= s->buf_cap ? realloc(s->buf, size) : NULL;
				if (!nb)
					return -1;      /* a record larger than the buffer may be: libpcap */
				s->buf = nb;
				s->buf_size = size;
			}
			ssize_t n = pread(s->fd, s->buf + s->have, s->buf_size - s->have, s->file_off);
			if (n < 0)
				return -1;
			s->file_off += n;
			if (n == 0)
				s->eof = true;
			else if ((size_t)n == s->buf_size - s->have && s->buf_size < s->buf_cap) {
				/* A read that fills the buffer: a big file, give it more room. */
				unsigned char *nb = realloc(s->buf, s->buf_size * 2);
				if (nb) {
					s->buf = nb;
					s->buf_size *= 2;
				}
			}
			s->have += (size_t)n;
			continue;
		}
		const unsigned char *h = s->buf + s->off;
		uint32_t caplen = le32(h + 8), len = le32(h + 12);
		if (caplen > s->file_snaplen || caplen > len)
			return -1;
		memcpy(s->pkt, h + 16, caplen);
		uint32_t frac = le32(h + 4);
		*fp = (struct fl_packet){
			.ts_ns = (uint64_t)le32(h) * 1000000000ull +
				 (s->fast_ns ? (uint64_t)frac : (uint64_t)frac * 1000u),
			.data = s->pkt,
			.caplen = caplen < s->snaplen ? caplen : s->snaplen,
			.len = len,
			.linktype = s->linktype,
		};
		s->off += 16 + (size_t)caplen;
		return 1;
	}
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
	s->fd = -1;
	s->buf_cap = FAST_BUF;
	if (open_decompressing(s, err, errlen) < 0) {
		free(s);
		return NULL;
	}
	s->pcap = pcap_fopen_offline_with_tstamp_precision(s->file, PCAP_TSTAMP_PRECISION_NANO,
							   pcap_err);
	if (!s->pcap && s->gz && !s->gz_err[0])
		note_gz_error(s, EIO);
	if (!s->pcap) {
		if (s->gz_err[0])
			snprintf(err, errlen, "%s: %s", path, s->gz_err);
		else if (strstr(pcap_err, "unknown file format") || strstr(pcap_err, "truncated dump file"))
			snprintf(err, errlen, "%s: not a pcap or pcapng capture (%s)", path, pcap_err);
		else
			snprintf(err, errlen, "%s: %s", path, pcap_err[0] ? pcap_err : "cannot read");
		fclose(s->file);
		free(s);
		return NULL;
	}
	s->linktype = (uint32_t)pcap_datalink(s->pcap);
	if (!decode_linktype_known(s->linktype)) {
		const char *name = pcap_datalink_val_to_name((int)s->linktype);
		snprintf(err, errlen, "%s: link type %u%s%s%s is not supported", path, s->linktype,
			 name ? " (" : "", name ? name : "", name ? ")" : "");
		pcap_close(s->pcap);
		free(s);
		return NULL;
	}
	fast_open(s);
	return s;
}

uint32_t pcap_source_linktype(const struct pcap_source *s)
{
	return s->linktype;
}

void pcap_source_set_buffer_cap(struct pcap_source *s, size_t bytes)
{
	s->buf_cap = bytes < 2 * FAST_MAX_SNAPLEN ? 2 * FAST_MAX_SNAPLEN : bytes > FAST_BUF ? FAST_BUF : bytes;
}

int pcap_source_next(struct pcap_source *s, struct fl_packet *pkt, char *err, size_t errlen)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;
	int rc;

	if (s->ended)
		return 0;
	if (s->fast) {
		rc = fast_next(s, pkt);
		if (rc > 0) {
			s->number++;
			return 1;
		}
		/* libpcap goes on from the first record the fast path left. */
		s->fast = false;
		free(s->buf);
		s->buf = NULL;
		if (rc == 0) {
			s->ended = true;
			return 0;
		}
		for (uint64_t skipped = 0; skipped < s->number; skipped++)
			if (pcap_next_ex(s->pcap, &hdr, &data) != 1)
				break;
	}
	rc = pcap_next_ex(s->pcap, &hdr, &data);
	if (rc == 1) {
		s->number++;
		*pkt = (struct fl_packet){
			.ts_ns = (uint64_t)hdr->ts.tv_sec * 1000000000ull + (uint64_t)hdr->ts.tv_usec,
			.data = data,
			.caplen = hdr->caplen < s->snaplen ? hdr->caplen : s->snaplen,
			.len = hdr->len,
			/* pcapng may change link type per interface; libpcap reports it per file */
			.linktype = (uint32_t)pcap_datalink(s->pcap),
		};
		return 1;
	}
	s->ended = true;
	/* A gzip stream cut short may end at a record boundary: libpcap sees a clean end. */
	if (s->gz && !s->gz_err[0])
		note_gz_error(s, EIO);
	if (s->gz_err[0]) {
		snprintf(err, errlen, "%s: after packet %llu: %s", s->path,
			 (unsigned long long)s->number, s->gz_err);
		return -EBADMSG;
	}
	if (rc == PCAP_ERROR) {
		snprintf(err, errlen, "%s: packet %llu: %s", s->path,
			 (unsigned long long)s->number + 1, pcap_geterr(s->pcap));
		return -EIO;
	}
	return 0;
}

int pcap_source_run(struct pcap_source *s, const struct packet_sink *out, char *err,
		    size_t errlen)
{
	struct fl_packet pkt;
	int rc;

	while ((rc = pcap_source_next(s, &pkt, err, errlen)) == 1)
		out->packet(out->ctx, &pkt);
	return rc;
}

const char *pcap_source_path(const struct pcap_source *s)
{
	return s->path;
}

bool pcap_source_reopenable(const char *path)
{
	struct stat st;
	return inherited_fd(path) < 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

void pcap_source_close(struct pcap_source *s)
{
	if (!s)
		return;
	pcap_close(s->pcap);     /* closes the FILE, its descriptor, and the gzFile behind a cookie */
	free(s->buf);
	free(s->pkt);
	free(s);
}
