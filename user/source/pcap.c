// SPDX-License-Identifier: MIT
#include "source/pcap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/decode.h"
#include "core/packet.h"

/*
 * The fast path: a plain pcap or pcapng file (either byte order) is parsed
 * here, in place: each packet is handed to the pipeline where it lies in a
 * reused read buffer (or in the mapped file, FAULTLINE_READ_MMAP=1), never
 * copied per packet.  It is taken only where libpcap would return exactly
 * the same records; at the first record or block it would treat differently
 * (caplen above the snaplen or the wire length, a truncated tail, a second
 * pcapng section, a timestamp resolution or offset other than micro- or
 * nanoseconds, a simple packet block) the run goes on through libpcap from
 * that packet, so errors read the same.  gzip and pipes (stdin) keep
 * libpcap's stream path.
 */
#define FAST_BUF (4u << 20)         /* the read buffer: holds the largest record */
#define FAST_MIN_BUF (512u << 10)   /* the least it may be set to (several files) */
#ifndef FAST_READ
#define FAST_READ (256u << 10)      /* read at a time: what stays in the CPU cache */
#endif
#define FAST_MAX_SNAPLEN 262144u
#define FAST_WINDOW (8u << 20)     /* pages dropped behind the reader in steps of this */
#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAPNG_SHB 0x0a0d0d0au
#define PCAPNG_BOM 0x1a2b3c4du
#define PCAPNG_MAX_IF 64u
#define PCAPNG_MAX_BLOCK FAST_BUF

/* One pcapng interface as libpcap would report its packets. */
struct ng_if {
	uint32_t snaplen;
	bool ns;          /* if_tsresol 9 (else 6, the default) */
};

/*
 * The file bytes the fast path parses, in place: the file mapped whole, or
 * a buffer refilled with pread() (the default: see fast_window_open).
 * Records are handed to the pipeline where they lie; a pointer stays valid
 * until the next fast_need().
 */
struct fast_window {
	const unsigned char *buf;   /* file bytes [base, base + have) */
	unsigned char *own;         /* the read buffer, or NULL when mapped */
	size_t base, have;
	size_t file_len;            /* mapped: the size mapped */
	bool eof;                   /* the file's end is in the buffer (a read error counts) */
	size_t page, released, populated;   /* mapped: pages mapped in ahead, dropped behind */
	size_t prefetched;          /* cache lines asked for up to here (window offset) */
	size_t cap;                 /* the read buffer's size */
};

/*
 * Each input is opened once (a FIFO or /dev/stdin has no second open): the
 * fast path maps the same descriptor, while libpcap's stdio stream moves the
 * descriptor's offset.
 */
struct pcap_source {
	pcap_t *pcap;
	int fd;                 /* the input; closed with the stream libpcap reads */
	bool plain;             /* a regular file that is not gzip: the fast path may take it */
	bool fast;              /* the fast path reads it */
	bool fast_ns;           /* classic pcap: nanosecond timestamps */
	bool swapped;           /* the file's byte order is not ours */
	bool pcapng;
	uint32_t file_snaplen;
	FILE *file;             /* the file, or a stdio view of the gzFile, that libpcap reads */
	gzFile gz;              /* the decompressor behind the cookie, or NULL */
	char gz_err[160];       /* what zlib said when it failed, else "" */
	const char *path;
	uint32_t snaplen;
	uint32_t linktype;
	bool (*stop)(void *ctx);  /* asked after each packet: stop reading (-c) */
	void *stop_ctx;
	/* The fast path's cursor: where the next record starts, the window over it. */
	struct fast_window w;
	bool w_open;
	size_t off;
	size_t buf_cap;         /* the read buffer (FAST_BUF unless set lower) */
	uint64_t fed;           /* records the fast path handed out */
	uint64_t number;        /* records handed out (either path) */
	enum { RUN_FAST, RUN_PCAP, RUN_END } state;
	uint32_t if_base;       /* added to packets' interface number (several files) */
	struct ng_if ifs[PCAPNG_MAX_IF];
	uint32_t n_if, ng_limit;
	bool ng_started;
	/* A pipe or FIFO: read as it comes (see stream_read), inflated here when gzip. */
	unsigned char peek[2];
	unsigned n_peek, peek_off;
	bool inflating, z_end, in_eof;
	z_stream zs;
	unsigned char *zin;
};

#define STREAM_ZIN (64u * 1024)

/* One read() of what is there (a pipe hands what its writer wrote so far), after the peeked bytes. */
static ssize_t raw_read(struct pcap_source *s, unsigned char *buf, size_t size)
{
	if (s->peek_off < s->n_peek) {
		size_t n = s->n_peek - s->peek_off;
		if (n > size)
			n = size;
		memcpy(buf, s->peek + s->peek_off, n);
		s->peek_off += (unsigned)n;
		return (ssize_t)n;
	}
	for (;;) {
		ssize_t n = read(s->fd, buf, size);
		if (n >= 0 || errno != EINTR)
			return n;
	}
}

/*
 * fopencookie glue for a pipe, a FIFO or a terminal: zlib's gzread waits to
 * fill its whole buffer, so `tcpdump -U -w - | faultline read -` would be
 * judged only in 256 KB steps.  Here each call returns what one read() got
 * (inflated when the stream is gzip), so every packet is judged on arrival.
 * Errors use zlib's words as the gzFile path does.
 */
static ssize_t stream_read(void *cookie, char *buf, size_t size)
{
	struct pcap_source *s = cookie;

	if (!s->inflating)
		return raw_read(s, (unsigned char *)buf, size);
	for (;;) {
		if (s->zs.avail_in == 0 && !s->in_eof) {
			ssize_t n = raw_read(s, s->zin, STREAM_ZIN);
			if (n < 0) {
				snprintf(s->gz_err, sizeof(s->gz_err), "%s", strerror(errno));
				errno = EIO;
				return -1;
			}
			if (n == 0)
				s->in_eof = true;
			s->zs.next_in = s->zin;
			s->zs.avail_in = (uInt)n;
		}
		if (s->z_end) {
			/* Another gzip member may follow; anything else after one is ignored, as gzread does. */
			if (s->zs.avail_in == 0) {
				if (s->in_eof)
					return 0;
				continue;
			}
			if (s->zs.next_in[0] != 0x1f)
				return 0;
			inflateReset(&s->zs);
			s->z_end = false;
		}
		s->zs.next_out = (Bytef *)buf;
		s->zs.avail_out = (uInt)(size > UINT32_MAX ? UINT32_MAX : size);
		int ret = inflate(&s->zs, Z_NO_FLUSH);
		size_t produced = (size > UINT32_MAX ? UINT32_MAX : size) - s->zs.avail_out;
		if (ret == Z_STREAM_END) {
			s->z_end = true;
		} else if (ret != Z_OK && ret != Z_BUF_ERROR) {
			snprintf(s->gz_err, sizeof(s->gz_err), "corrupt gzip data (%s)",
				 s->zs.msg ? s->zs.msg : "inflate failed");
			errno = EIO;
			return -1;
		}
		if (produced)
			return (ssize_t)produced;
		if (s->in_eof && s->zs.avail_in == 0 && !s->z_end) {
			snprintf(s->gz_err, sizeof(s->gz_err), "gzip data cut short (unexpected end of file)");
			errno = EIO;
			return -1;
		}
	}
}

static int stream_close(void *cookie)
{
	struct pcap_source *s = cookie;

	if (s->inflating)
		inflateEnd(&s->zs);
	free(s->zin);
	s->zin = NULL;
	return close(s->fd);
}

/* A descriptor that is not a regular file: peek at the gzip magic, then read through stream_read. */
static int open_stream(struct pcap_source *s, char *err, size_t errlen)
{
	while (s->n_peek < sizeof(s->peek)) {
		ssize_t n = read(s->fd, s->peek + s->n_peek, sizeof(s->peek) - s->n_peek);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		s->n_peek += (unsigned)n;
	}
	if (s->n_peek == 2 && s->peek[0] == 0x1f && s->peek[1] == 0x8b) {
		s->zin = malloc(STREAM_ZIN);
		if (!s->zin || inflateInit2(&s->zs, 16 + MAX_WBITS) != Z_OK) {
			free(s->zin);
			snprintf(err, errlen, "%s: cannot open: out of memory", s->path);
			return -1;
		}
		s->inflating = true;
	}
	cookie_io_functions_t io = { .read = stream_read, .close = stream_close };
	s->file = fopencookie(s, "r", io);
	if (!s->file) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		if (s->inflating)
			inflateEnd(&s->zs);
		free(s->zin);
		return -1;
	}
	return 0;
}

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
	if (!S_ISREG(st.st_mode)) {
		if (open_stream(s, err, errlen) < 0) {
			close(fd);
			return -1;
		}
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

static uint32_t rd32(const struct pcap_source *s, const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return s->swapped ? __builtin_bswap32(v) : v;
}

static uint16_t rd16(const struct pcap_source *s, const unsigned char *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return s->swapped ? __builtin_bswap16(v) : v;
}

/* Link types whose file value libpcap passes through unchanged as the DLT. */
static bool fast_linktype(uint32_t lt)
{
	return lt == 0 || lt == 1 || lt == 113 || lt == 228 || lt == 229 || lt == 276;
}

/* Take the fast path if the file is a plain pcap or pcapng libpcap reads as is. */
static void fast_open(struct pcap_source *s)
{
	struct stat st;
	unsigned char h[24];
	uint32_t magic, v;

	if (!s->plain || fstat(s->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    pread(s->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return;
	memcpy(&magic, h, sizeof(magic));
	if (magic == PCAPNG_SHB) {
		memcpy(&v, h + 8, sizeof(v));
		s->pcapng = true;
		s->swapped = v != PCAPNG_BOM;
		if (s->swapped && __builtin_bswap32(v) != PCAPNG_BOM)
			goto no;
	} else {
		s->swapped = magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS;
		magic = rd32(s, h);
		if ((magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS) || rd16(s, h + 4) != 2 ||
		    rd16(s, h + 6) != 4)
			goto no;
		s->fast_ns = magic == PCAP_MAGIC_NS;
		s->file_snaplen = rd32(s, h + 16);
		uint32_t lt = rd32(s, h + 20);
		if (s->file_snaplen == 0 || s->file_snaplen > FAST_MAX_SNAPLEN ||
		    !fast_linktype(lt) || lt != s->linktype)
			goto no;
	}
	if (!fast_linktype(s->linktype))
		goto no;
	s->fast = true;
	return;
no:
	s->pcapng = s->swapped = false;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif


/*
 * Mapping the file saves the copy read() makes, but each page then costs a
 * first-touch fault the copy does not; on a virtual machine with shadow page
 * tables (this project's CI and bench machines) that costs more than the
 * copy: 270 MB walked once took 0.30-0.43 s with pread() into a reused
 * buffer and 0.70-1.1 s mapped (MAP_POPULATE or not).  So pread() into a
 * 4 MiB buffer that is reused (its pages stay mapped, its lines cached) is
 * the default, and FAULTLINE_READ_MMAP=1 maps instead, for hosts where
 * page faults are cheap.  Neither copies a packet.
 */
static bool fast_window_open(struct pcap_source *s, struct fast_window *w)
{
	const char *mm = getenv("FAULTLINE_READ_MMAP");
	struct stat st;

	memset(w, 0, sizeof(*w));
	w->page = (size_t)sysconf(_SC_PAGESIZE);
	if (mm && strcmp(mm, "1") == 0 && fstat(s->fd, &st) == 0 && st.st_size > 0 &&
	    (uint64_t)st.st_size <= SIZE_MAX / 2) {
		void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, s->fd, 0);
		if (map != MAP_FAILED) {
			madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
			w->buf = map;
			w->have = w->file_len = (size_t)st.st_size;
			w->eof = true;
			return true;
		}
	}
	w->cap = s->buf_cap;
	w->own = malloc(w->cap);
	w->buf = w->own;
	return w->own != NULL;
}

static void fast_window_close(struct fast_window *w)
{
	if (w->own)
		free(w->own);
	else if (w->buf)
		munmap((void *)w->buf, w->file_len);
}

/* n bytes at file offset off (never before the last call's), or NULL at the end. */
static const unsigned char *fast_need(struct pcap_source *s, struct fast_window *w, size_t off,
				      size_t n)
{
	size_t at = off - w->base;

	if (at <= w->have && w->have - at >= n)
		return w->buf + at;
	if (!w->own || n > w->cap)
		return NULL;
	/* Keep the partial record, read more behind it. */
	if (at < w->have) {
		memmove(w->own, w->own + at, w->have - at);
		w->have -= at;
	} else {
		w->have = 0;      /* the start, after the file header */
	}
	w->base = off;
	w->prefetched = 0;
	while (w->have < n && !w->eof) {
		/* FAST_READ at a time (what stays in the cache), at least the record, within the buffer */
		size_t room = w->cap - w->have, need = n - w->have;   /* need <= room: n <= cap */
		size_t want = need > FAST_READ ? need : FAST_READ;
		if (want > room)
			want = room;
		ssize_t r = pread(s->fd, w->own + w->have, want, (off_t)(w->base + w->have));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			w->eof = true;     /* a read error: libpcap reads on and reports it */
		else
			w->have += (size_t)r;
	}
	return w->have >= n ? w->buf : NULL;
}

/* The file ended cleanly at off (a mapped file that changed size since is libpcap's). */
static bool fast_clean_end(const struct pcap_source *s, const struct fast_window *w, size_t off)
{
	struct stat st;

	if (off != w->base + w->have || !w->eof)
		return false;
	return w->own || (fstat(s->fd, &st) == 0 && (uint64_t)st.st_size == w->file_len);
}

/* The bytes ahead, into the cache before they are read (cheap: once per line). */
#define FAST_PREFETCH 4096u

static inline void fast_prefetch(struct fast_window *w, size_t off)
{
	size_t at = off - w->base;
	size_t want = at + FAST_PREFETCH < w->have ? at + FAST_PREFETCH : w->have;

	if (w->prefetched < at)
		w->prefetched = at & ~(size_t)63;
	for (; w->prefetched < want; w->prefetched += 64)
		__builtin_prefetch(w->buf + w->prefetched);
}

/*
 * Mapped: map the next stretch in with one call, and drop the pages wholly
 * behind off from the mapping (not from the page cache), so the resident
 * size stays a window, not the file.  Once per FAST_WINDOW/2 bytes.
 */
static void fast_advance(struct fast_window *w, size_t off)
{
	if (w->own)
		return;
	if (off + FAST_WINDOW / 2 >= w->populated && w->populated < w->file_len) {
		size_t from = w->populated / w->page * w->page;
		size_t n = w->file_len - from < FAST_WINDOW ? w->file_len - from : FAST_WINDOW;
		madvise((void *)(w->buf + from), n, MADV_POPULATE_READ);  /* a hint */
		w->populated = from + n;
	}
	size_t upto = off / w->page * w->page;
	if (upto >= w->released + FAST_WINDOW) {
		madvise((void *)(w->buf + w->released), upto - w->released, MADV_DONTNEED);
		w->released = upto;
	}
}

/* Parse an IDB's options; false if libpcap would scale or shift its times. */
static bool ng_idb(const struct pcap_source *s, const unsigned char *b, uint32_t blen,
		   struct ng_if *ifc)
{
	uint32_t off = 16;

	if (blen < 20 || rd16(s, b + 8) != s->linktype)
		return false;
	ifc->snaplen = rd32(s, b + 12);
	ifc->ns = false;
	while (off + 4 <= blen - 4) {
		uint16_t code = rd16(s, b + off), len = rd16(s, b + off + 2);
		if (code == 0)
			break;
		if ((uint32_t)len > blen - 4 - off - 4)
			return false;
		if (code == 9) {              /* if_tsresol */
			if (len != 1 || (b[off + 4] != 6 && b[off + 4] != 9))
				return false;
			ifc->ns = b[off + 4] == 9;
		} else if (code == 14) {      /* if_tsoffset */
			return false;
		}
		off += 4 + (((uint32_t)len + 3) & ~3u);
	}
	return true;
}

/*
 * Classic pcap: the next record, 1; 0 at a clean end; -1 at a record libpcap
 * would treat differently (or a partial tail libpcap reports): libpcap goes
 * on from there.
 */
static int fast_next_pcap(struct pcap_source *s, struct fl_packet *fp)
{
	struct fast_window *w = &s->w;
	const unsigned char *h;

	if (s->off == 0)
		s->off = 24;
	fast_advance(w, s->off);
	if (!(h = fast_need(s, w, s->off, 16)) ||
	    !(h = fast_need(s, w, s->off, 16 + (size_t)rd32(s, h + 8))))
		return fast_clean_end(s, w, s->off) ? 0 : -1;
	uint32_t caplen = rd32(s, h + 8), len = rd32(s, h + 12);
	if (caplen > s->file_snaplen || caplen > len)
		return -1;
	uint32_t frac = rd32(s, h + 4);
	*fp = (struct fl_packet){
		.ts_ns = (uint64_t)rd32(s, h) * 1000000000ull +
			 (s->fast_ns ? (uint64_t)frac : (uint64_t)frac * 1000u),
		.data = h + 16,
		.caplen = caplen < s->snaplen ? caplen : s->snaplen,
		.len = len,
		.linktype = s->linktype,
		.ifindex = s->if_base,
	};
	s->off += 16 + (size_t)caplen;
	fast_prefetch(w, s->off);
	return 1;
}

/* pcapng: the next enhanced packet block, as fast_next_pcap. */
static int fast_next_pcapng(struct pcap_source *s, struct fl_packet *fp)
{
	struct fast_window *w = &s->w;
	const unsigned char *b;

	for (;;) {
		fast_advance(w, s->off);
		if (!(b = fast_need(s, w, s->off, 12)))
			return fast_clean_end(s, w, s->off) ? 0 : -1;
		uint32_t type = rd32(s, b), blen = rd32(s, b + 4);
		if (blen < 12 || blen % 4 || blen > PCAPNG_MAX_BLOCK ||
		    !(b = fast_need(s, w, s->off, blen)) || rd32(s, b + blen - 4) != blen)
			return -1;
		if (type == PCAPNG_SHB) {
			if (s->ng_started)
				return -1;          /* a new section: libpcap decides */
			s->ng_started = true;
		} else if (!s->ng_started) {
			return -1;
		} else if (type == 1) {          /* interface description */
			if (s->n_if >= PCAPNG_MAX_IF || !ng_idb(s, b, blen, &s->ifs[s->n_if]))
				return -1;
			if (s->n_if == 0 && s->ifs[0].snaplen && s->ifs[0].snaplen < s->ng_limit)
				s->ng_limit = s->ifs[0].snaplen;  /* libpcap's snapshot: the first interface's */
			s->n_if++;
		} else if (type == 6) {          /* enhanced packet */
			if (blen < 32)
				return -1;
			uint32_t ifid = rd32(s, b + 8), caplen = rd32(s, b + 20), len = rd32(s, b + 24);
			if (ifid >= s->n_if || caplen > blen - 32 || caplen > len || caplen > s->ng_limit ||
			    (s->ifs[ifid].snaplen && caplen > s->ifs[ifid].snaplen))
				return -1;
			uint64_t t = (uint64_t)rd32(s, b + 12) << 32 | rd32(s, b + 16);
			*fp = (struct fl_packet){
				.ts_ns = s->ifs[ifid].ns ? t : t * 1000u,
				.data = b + 28,
				.caplen = caplen < s->snaplen ? caplen : s->snaplen,
				.len = len,
				.linktype = s->linktype,
				/* The interface the packet was captured on: the EPB's, 1-based. */
				.ifindex = s->if_base + ifid + 1,
			};
			s->off += blen;
			fast_prefetch(w, s->off);
			return 1;
		} else if (type == 2 || type == 3) {
			return -1;                   /* (simple) packet blocks: libpcap's */
		}
		s->off += blen;                       /* statistics, names, custom: skipped */
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
	s->ng_limit = FAST_MAX_SNAPLEN;
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

void pcap_source_set_stop(struct pcap_source *s, bool (*stop)(void *ctx), void *ctx)
{
	s->stop = stop;
	s->stop_ctx = ctx;
}

uint32_t pcap_source_linktype(const struct pcap_source *s)
{
	return s->linktype;
}

void pcap_source_set_buffer_cap(struct pcap_source *s, size_t bytes)
{
	if (bytes < FAST_MIN_BUF)
		bytes = FAST_MIN_BUF;
	if (bytes > FAST_BUF)
		bytes = FAST_BUF;
	if (!s->w_open)
		s->buf_cap = bytes;
}

void pcap_source_set_if_base(struct pcap_source *s, uint32_t base)
{
	s->if_base = base;
}

const char *pcap_source_path(const struct pcap_source *s)
{
	return s->path;
}

uint32_t pcap_source_interfaces(const struct pcap_source *s)
{
	return s->n_if;
}

/* The fast path's next record: 1, 0 at the clean end, -1: libpcap takes over. */
static int fast_next(struct pcap_source *s, struct fl_packet *pkt)
{
	if (!s->w_open) {
		if (!fast_window_open(s, &s->w)) {
			fast_window_close(&s->w);
			memset(&s->w, 0, sizeof(s->w));
			return -1;
		}
		s->w_open = true;
	}
	return s->pcapng ? fast_next_pcapng(s, pkt) : fast_next_pcap(s, pkt);
}

int pcap_source_next(struct pcap_source *s, struct fl_packet *pkt, char *err, size_t errlen)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;
	int rc;

	if (s->state == RUN_FAST && s->fast) {
		rc = fast_next(s, pkt);
		if (rc > 0) {
			s->fed++;
			s->number++;
			return 1;
		}
		if (s->w_open) {
			fast_window_close(&s->w);
			s->w_open = false;
		}
		if (rc == 0) {
			s->state = RUN_END;
			return 0;
		}
		/* libpcap goes on from the first record the fast path left. */
		for (uint64_t n = 0; n < s->fed; n++)
			if (pcap_next_ex(s->pcap, &hdr, &data) != 1)
				break;
	}
	if (s->state == RUN_END)
		return 0;
	s->state = RUN_PCAP;
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
			/* libpcap does not say a pcapng packet's interface: the file's. */
			.ifindex = s->if_base,
		};
		return 1;
	}
	s->state = RUN_END;
	/* A gzip stream cut short may end at a record boundary: libpcap sees a clean end. */
	if (s->gz && !s->gz_err[0])
		note_gz_error(s, EIO);
	if (rc == PCAP_ERROR || s->gz_err[0]) {
		if (s->gz_err[0]) {
			snprintf(err, errlen, "%s: after packet %llu: %s", s->path,
				 (unsigned long long)s->number, s->gz_err);
			return -EBADMSG;
		}
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

	while ((rc = pcap_source_next(s, &pkt, err, errlen)) == 1) {
		out->packet(out->ctx, &pkt);
		if (s->stop && s->stop(s->stop_ctx))
			return 0;                     /* -c N: enough entries */
	}
	return rc;
}

void pcap_source_close(struct pcap_source *s)
{
	if (!s)
		return;
	if (s->w_open)
		fast_window_close(&s->w);
	pcap_close(s->pcap);     /* closes the FILE, its descriptor, and the gzFile behind a cookie */
	free(s);
}
