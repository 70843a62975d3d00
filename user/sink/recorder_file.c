// SPDX-License-Identifier: MIT
/*
 * pcap files for the recorder.  One buffer of whole records; write(2) or
 * gzwrite() only when it is full, when the recorder flushes (about once a
 * second of packet time) and at rotation and close.
 *
 * A write failure (disk full, I/O error, file removed under us) fails the
 * current file: what the buffer held is dropped and counted, a plain file is
 * truncated back to its last complete record so it stays readable, and later
 * packets are dropped (counted) until the next rotation opens a new file,
 * which is the retry.  Without rotation the recording stops there; the
 * capture goes on.  One failure event counts once in write_errors.
 */
#include "sink/recorder_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define REC_FILE_BUFFER_DEFAULT (1u << 20)
#define REC_FILE_GZ_BUFFER (256u << 10)
/* Level 1: several times faster than the default 6 for a few % more bytes; a capture must keep up. */
#define REC_FILE_GZ_MODE "wb1"

struct rec_file {
	struct rec_file_opts o;
	char *path;                 /* o.path, owned */
	struct fl_stats *stats;
	bool gzip;
	bool rotating;              /* o.max_bytes != 0: numbered files */

	/* The current file. */
	char name[PATH_MAX];
	int fd;                     /* -1 when none is open */
	gzFile gz;
	uint32_t seq;               /* its number when rotating */
	bool failed;                /* a write failed: drop until the next file */
	bool closed;                /* finished: nothing more goes in */
	bool header_done;
	uint64_t file_bytes;        /* bytes it holds or would have held (uncompressed) */
	uint64_t file_records;
	uint64_t written;           /* bytes of it safely on disk (plain files) */

	uint8_t *buf;
	size_t len, cap;
	bool buf_header;            /* the buffer starts with the file header */
	uint64_t buf_packets, buf_bytes;   /* counted in stats once written */

	int last_errno;
	char err[PATH_MAX + 128];
};

int rec_file_name(const char *path, uint32_t seq, char *buf, size_t len)
{
	size_t n = strlen(path);
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *ext = path + n;
	int w;

	if (n > 3 && strcmp(path + n - 3, ".gz") == 0 && path + n - 3 > base)
		ext = path + n - 3;
	/* The extension before ".gz" (or the last one); a leading dot is a name. */
	for (const char *p = ext - 1; p > base; p--) {
		if (*p == '.') {
			ext = p;
			break;
		}
	}
	w = snprintf(buf, len, "%.*s-%05u%s", (int)(ext - path), path, seq, ext);
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

static void set_error(struct rec_file *f, int errnum, const char *what)
{
	f->last_errno = errnum;
	snprintf(f->err, sizeof(f->err), "cannot %s %s: %s", what, f->name, strerror(errnum));
}

/* A failure of the current file: count it once, drop what it was going to get. */
static void fail_file(struct rec_file *f, int errnum, const char *what)
{
	set_error(f, errnum, what);
	f->stats->recorder.write_errors++;
	f->stats->recorder.dropped += f->buf_packets;
	f->buf_packets = f->buf_bytes = 0;
	f->len = 0;
	f->buf_header = false;
	f->failed = true;
	/* Cut a partial record off so the file reads cleanly up to the failure. */
	if (f->fd >= 0 && !f->gzip && ftruncate(f->fd, (off_t)f->written) < 0) {
		/* /dev/full and pipes cannot be truncated: nothing more to do. */
	}
}

/* Write n bytes; *done says how many went out even on failure. */
static int write_all(int fd, const uint8_t *p, size_t n, size_t *done)
{
	*done = 0;
	while (*done < n) {
		ssize_t w = write(fd, p + *done, n - *done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -ENOSPC;
		*done += (size_t)w;
	}
	return 0;
}

/*
 * A short write of a plain file: keep the records that made it whole (they
 * count as written), so the truncated file holds every packet it can.
 */
static void keep_whole_records(struct rec_file *f, size_t done)
{
	size_t off = f->buf_header ? PCAP_FILE_HEADER_LEN : 0, end = off;
	uint64_t packets = 0, bytes = 0;

	if (done < off)
		return;
	while (end + PCAP_RECORD_HEADER_LEN <= done) {
		uint32_t incl;
		memcpy(&incl, f->buf + end + 8, 4);
		if (end + PCAP_RECORD_HEADER_LEN + incl > done)
			break;
		end += PCAP_RECORD_HEADER_LEN + incl;
		packets++;
		bytes += incl;
	}
	f->written += end;
	f->stats->recorder.packets += packets;
	f->stats->recorder.bytes += bytes;
	f->buf_packets -= packets;
	f->buf_bytes -= bytes;
}

void rec_file_flush(struct rec_file *f)
{
	size_t done = 0;
	int rc = 0;

	if (!f->len || f->failed || f->fd < 0)
		return;
	if (f->gzip) {
		if (gzwrite(f->gz, f->buf, (unsigned)f->len) == 0) {
			int zerr;
			gzerror(f->gz, &zerr);
			rc = zerr == Z_ERRNO && errno ? -errno : -EIO;
		}
	} else {
		rc = write_all(f->fd, f->buf, f->len, &done);
	}
	if (rc < 0) {
		if (!f->gzip)
			keep_whole_records(f, done);
		fail_file(f, -rc, "write");
		return;
	}
	f->written += f->len;
	f->stats->recorder.packets += f->buf_packets;
	f->stats->recorder.bytes += f->buf_bytes;
	f->buf_packets = f->buf_bytes = 0;
	f->len = 0;
	f->buf_header = false;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/*
 * pcap files carry LINKTYPE_* numbers; libpcap hands sources DLT_* numbers.
 * They are the same except for a few, of which raw IP is the one we meet:
 * DLT_RAW is 12 (14 on OpenBSD), LINKTYPE_RAW 101.
 */
static uint32_t file_linktype(uint32_t dlt)
{
	switch (dlt) {
	case 12:
	case 14:
		return 101;
	case 11:                   /* DLT_ATM_RFC1483 */
		return 100;
	default:
		return dlt;
	}
}

/*
 * The file header goes in with the first record (or at close), so that the
 * link type can come from the first packet.  Host byte order, as libpcap
 * writes it: readers recognise the swapped magic.
 */
static void start_file(struct rec_file *f)
{
	uint8_t *p = f->buf + f->len;

	if (f->header_done)
		return;
	f->header_done = true;
	f->file_bytes += PCAP_FILE_HEADER_LEN;
	if (f->failed || f->fd < 0)
		return;
	/* The buffer is empty here: the previous file's data went out at rotation. */
	put32(p, PCAP_NSEC_MAGIC);
	put16(p + 4, 2);
	put16(p + 6, 4);
	put32(p + 8, 0);       /* thiszone */
	put32(p + 12, 0);      /* sigfigs */
	put32(p + 16, f->o.snaplen);
	put32(p + 20, file_linktype(f->o.linktype));
	f->len += PCAP_FILE_HEADER_LEN;
	f->buf_header = true;
}

static void close_current(struct rec_file *f)
{
	if (f->fd < 0)
		return;
	/* An empty recording is still a valid pcap. */
	start_file(f);
	rec_file_flush(f);
	if (f->gzip) {
		int zrc = gzclose(f->gz);
		if (zrc != Z_OK && !f->failed)
			fail_file(f, zrc == Z_ERRNO && errno ? errno : EIO, "write");
		f->gz = NULL;
	} else if (close(f->fd) < 0 && !f->failed) {
		fail_file(f, errno, "write");
	}
	f->fd = -1;
}

/*
 * Open file `seq` (or the path itself when not rotating) and delete the one
 * that falls off the ring.  0 or -errno; f->name names the file either way.
 */
static int open_current(struct rec_file *f, uint32_t seq)
{
	int err;

	f->seq = seq;
	f->failed = false;
	f->header_done = false;
	f->file_bytes = f->file_records = f->written = 0;
	if (!f->rotating) {
		snprintf(f->name, sizeof(f->name), "%s", f->path);
	} else if (rec_file_name(f->path, seq, f->name, sizeof(f->name)) < 0) {
		snprintf(f->name, sizeof(f->name), "%s", f->path);
		return -ENAMETOOLONG;
	}
	f->fd = open(f->name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f->fd < 0)
		return -errno;
	if (f->gzip) {
		f->gz = gzdopen(f->fd, REC_FILE_GZ_MODE);
		if (!f->gz) {
			err = errno ? errno : ENOMEM;
			close(f->fd);
			f->fd = -1;
			return -err;
		}
		gzbuffer(f->gz, REC_FILE_GZ_BUFFER);
	}
	f->stats->recorder.files++;

	if (f->rotating && f->o.max_files && seq > f->o.max_files) {
		char old[PATH_MAX];
		if (rec_file_name(f->path, seq - f->o.max_files, old, sizeof(old)) == 0 &&
		    unlink(old) < 0 && errno != ENOENT) {
			/* Not a write error: the recording goes on, the ring is just bigger. */
			f->last_errno = errno;
			snprintf(f->err, sizeof(f->err), "cannot delete %s: %s", old, strerror(errno));
		}
	}
	return 0;
}

struct rec_file *rec_file_open(const struct rec_file_opts *o, struct fl_stats *stats,
			       char *err, size_t errlen)
{
	struct rec_file *f = calloc(1, sizeof(*f));
	size_t n;
	int rc;

	if (!f)
		goto nomem;
	f->o = *o;
	f->stats = stats;
	f->fd = -1;
	f->path = strdup(o->path);
	n = strlen(o->path);
	f->gzip = n > 3 && strcmp(o->path + n - 3, ".gz") == 0;
	f->rotating = o->max_bytes != 0;
	f->cap = o->buffer_bytes ? o->buffer_bytes : REC_FILE_BUFFER_DEFAULT;
	/* A buffer always holds the file header and one whole record. */
	if (f->cap < PCAP_FILE_HEADER_LEN + PCAP_RECORD_HEADER_LEN + (size_t)o->snaplen)
		f->cap = PCAP_FILE_HEADER_LEN + PCAP_RECORD_HEADER_LEN + (size_t)o->snaplen;
	f->buf = malloc(f->cap);
	if (!f->path || !f->buf)
		goto nomem;

	rc = open_current(f, 1);
	if (rc < 0) {
		snprintf(err, errlen, "cannot create %s: %s", f->name, strerror(-rc));
		free(f->buf);
		free(f->path);
		free(f);
		errno = -rc;
		return NULL;
	}
	return f;
nomem:
	snprintf(err, errlen, "cannot record to %s: %s", o->path, strerror(ENOMEM));
	if (f) {
		free(f->path);
		free(f);
	}
	errno = ENOMEM;
	return NULL;
}

int rec_file_finish(struct rec_file *f)
{
	close_current(f);
	f->closed = true;
	return f->last_errno ? -f->last_errno : 0;
}

int rec_file_close(struct rec_file *f)
{
	int rc;

	if (!f)
		return 0;
	rc = rec_file_finish(f);
	free(f->buf);
	free(f->path);
	free(f);
	return rc;
}

void rec_file_set_linktype(struct rec_file *f, uint32_t linktype)
{
	f->o.linktype = linktype;
}

static void rotate(struct rec_file *f)
{
	int rc;

	close_current(f);
	rc = open_current(f, f->seq + 1);
	if (rc < 0)
		fail_file(f, -rc, "create");
}

uint8_t *rec_file_reserve(struct rec_file *f, uint64_t ts_ns, uint32_t caplen, uint32_t len)
{
	size_t rec = PCAP_RECORD_HEADER_LEN + (size_t)caplen;
	uint8_t *p;

	if (f->closed)
		return NULL;
	if (f->rotating && f->file_records &&
	    f->file_bytes + rec > f->o.max_bytes)
		rotate(f);
	start_file(f);
	f->file_bytes += rec;
	f->file_records++;
	if (!f->failed && f->cap - f->len < rec)
		rec_file_flush(f);
	if (f->failed) {
		f->stats->recorder.dropped++;
		return NULL;
	}
	p = f->buf + f->len;
	put32(p, (uint32_t)(ts_ns / 1000000000ull));
	put32(p + 4, (uint32_t)(ts_ns % 1000000000ull));
	put32(p + 8, caplen);
	put32(p + 12, len > caplen ? len : caplen);
	f->len += rec;
	f->buf_packets++;
	f->buf_bytes += caplen;
	return p + PCAP_RECORD_HEADER_LEN;
}

const char *rec_file_error(const struct rec_file *f)
{
	return f->err[0] ? f->err : NULL;
}
