// SPDX-License-Identifier: MIT
/*
 * pcap files for the recorder.  One buffer of whole records; written out
 * only when it is full, when the recorder flushes (about once a second of
 * packet time) and at rotation and close.  A gzip file gets one gzip member
 * per flush (readers take concatenated members as one stream), compressed
 * here and written with write(2), so that what is on disk always ends at a
 * whole member and so at a whole record.
 *
 * A write failure (disk full, I/O error, file removed under us) fails the
 * current file: what the buffer held is dropped and counted, the file is
 * truncated back to its last complete record (plain) or member (gzip) so it
 * stays readable, and later
 * packets are dropped (counted) until the next rotation opens a new file,
 * which is the retry.  Without rotation the recording stops there; the
 * capture goes on.  One failure event counts once in write_errors.
 */
#include "sink/recorder_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/packet.h"

#define REC_FILE_BUFFER_DEFAULT (1u << 20)
/* Level 1: several times faster than the default 6 for a few % more bytes; a capture must keep up. */
#define REC_FILE_GZ_LEVEL 1
#define REC_FILE_GZ_WINDOW (15 + 16)      /* 32 KiB window, gzip wrapper */

struct rec_file {
	struct rec_file_opts o;
	char *path;                 /* o.path, owned */
	struct fl_stats *stats;
	bool gzip;
	bool rotating;              /* o.max_bytes != 0: numbered files */

	/* The current file. */
	char name[PATH_MAX];
	int fd;                     /* -1 when none is open */
	bool regular;               /* a regular file: can be truncated */
	uint32_t seq;               /* its number when rotating */
	bool failed;                /* a write failed: drop until the next file */
	bool closed;                /* finished: nothing more goes in */
	bool header_done;
	uint64_t file_bytes;        /* bytes it holds or would have held (uncompressed) */
	uint64_t file_records;
	uint64_t written;           /* bytes of it safely on disk (compressed for gzip) */

	uint8_t *buf;
	size_t len, cap;
	z_stream zs;                /* gzip: one member per flush */
	uint8_t *zbuf;
	size_t zcap;
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

/* f->err as a sentence (long names are cut, never overflow). */
__attribute__((format(printf, 2, 3)))
static void set_message(struct rec_file *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->err, sizeof(f->err), fmt, ap);
	va_end(ap);
}

static void set_error(struct rec_file *f, int errnum, const char *what)
{
	f->last_errno = errnum;
	set_message(f, "cannot %s %s: %s", what, f->name, strerror(errnum));
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
	/* Cut a partial record (or member) off so the file reads cleanly up to the failure. */
	if (f->fd >= 0 && f->regular && ftruncate(f->fd, (off_t)f->written) < 0) {
		/* Nothing more to do: the error is already reported. */
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

/* The buffer as one complete gzip member in zbuf; its length, or 0 on failure. */
static size_t compress_member(struct rec_file *f)
{
	if (deflateReset(&f->zs) != Z_OK)
		return 0;
	f->zs.next_in = f->buf;
	f->zs.avail_in = (uInt)f->len;
	f->zs.next_out = f->zbuf;
	f->zs.avail_out = (uInt)f->zcap;
	if (deflate(&f->zs, Z_FINISH) != Z_STREAM_END)
		return 0;
	return f->zcap - f->zs.avail_out;
}

void rec_file_flush(struct rec_file *f)
{
	size_t done = 0, n = f->len;
	const uint8_t *out = f->buf;
	int rc;

	if (!f->len || f->failed || f->fd < 0)
		return;
	if (f->gzip) {
		out = f->zbuf;
		n = compress_member(f);
		if (!n) {
			fail_file(f, ENOMEM, "compress");
			return;
		}
	}
	rc = write_all(f->fd, out, n, &done);
	if (rc < 0) {
		/* A gzip member is whole or not at all: the file is cut back to the last one. */
		if (!f->gzip)
			keep_whole_records(f, done);
		fail_file(f, -rc, "write");
		return;
	}
	f->written += n;
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
	case FL_LINK_RAW_BSD:
	case FL_LINK_RAW_OPENBSD:
		return FL_LINK_RAW;
	case FL_LINK_ATM_RFC1483:
		return 100;        /* LINKTYPE_ATM_RFC1483 */
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
	int rc = close(f->fd), e = errno;
	f->fd = -1;
	if (rc < 0 && !f->failed)
		fail_file(f, e, "write");
}

/*
 * /dev/stdout, /dev/stderr and /dev/fd/N name a descriptor we already have
 * (they are the system's symbolic links, not a user's): it is used as is,
 * never truncated.  -1 for any other path.
 */
static int inherited_fd(const char *path)
{
	char *end;
	long n;

	if (strcmp(path, "/dev/stdout") == 0)
		return STDOUT_FILENO;
	if (strcmp(path, "/dev/stderr") == 0)
		return STDERR_FILENO;
	if (strncmp(path, "/dev/fd/", 8) != 0)
		return -1;
	n = strtol(path + 8, &end, 10);
	return end != path + 8 && !*end && n >= 0 && n <= INT32_MAX ? (int)n : -1;
}

static bool is_protected(const struct rec_file *f, const struct stat *st)
{
	for (size_t i = 0; i < f->o.n_protect; i++)
		if (f->o.protect[i].dev == (uint64_t)st->st_dev &&
		    f->o.protect[i].ino == (uint64_t)st->st_ino)
			return true;
	return false;
}

/*
 * The number of a rotated file's name (a directory entry), or 0 when the name
 * is not one of this recording's: PREFIX-NNNNN[N...]EXT, as rec_file_name()
 * writes them.
 */
static uint32_t ring_seq(const char *prefix, size_t prefix_len, const char *ext, const char *name)
{
	size_t digits = 0;
	uint64_t seq = 0;

	if (strncmp(name, prefix, prefix_len) != 0 || name[prefix_len] != '-')
		return 0;
	name += prefix_len + 1;
	while (name[digits] >= '0' && name[digits] <= '9') {
		seq = seq * 10 + (uint64_t)(name[digits] - '0');
		if (seq > UINT32_MAX - 1)
			return 0;
		digits++;
	}
	if (digits < 5 || (digits > 5 && name[0] == '0') || strcmp(name + digits, ext) != 0)
		return 0;
	return (uint32_t)seq;
}

/*
 * One pass over the directory of a rotated recording: the highest number in
 * use (*max_seq), an input among the numbered files (refused: -EEXIST with
 * err set), and with delete_upto, the numbered files up to it deleted.
 */
static int scan_ring(struct rec_file *f, uint32_t delete_upto, uint32_t *max_seq)
{
	char first[PATH_MAX], dirpath[PATH_MAX], prefix[PATH_MAX];
	const char *slash, *base, *ext, *shown;
	size_t prefix_len;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	/* The name of file 1 gives the prefix and the extension around the number. */
	if (rec_file_name(f->path, 1, first, sizeof(first)) < 0)
		return -ENAMETOOLONG;
	slash = strrchr(first, '/');
	base = slash ? slash + 1 : first;
	if (slash)
		snprintf(dirpath, sizeof(dirpath), "%.*s", (int)(slash - first) + 1, first);
	else
		snprintf(dirpath, sizeof(dirpath), ".");
	ext = strstr(base, "-00001") + 6;
	prefix_len = (size_t)(ext - 6 - base);
	shown = slash ? dirpath : "";       /* how names are shown in messages */
	snprintf(prefix, sizeof(prefix), "%.*s", (int)prefix_len, base);

	*max_seq = 0;
	d = opendir(dirpath);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) != NULL) {
		uint32_t seq = ring_seq(prefix, prefix_len, ext, de->d_name);
		struct stat st;
		if (!seq)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    is_protected(f, &st)) {
			set_message(f, "%s%s is an input file, and the rotation of "
				 "%s writes and deletes the files numbered like it", shown, de->d_name,
				 f->path);
			rc = -EEXIST;
			break;
		}
		if (seq > *max_seq)
			*max_seq = seq;
		if (seq <= delete_upto && unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
			/* Not a write error: the recording goes on, the ring is just bigger. */
			f->last_errno = errno;
			set_message(f, "cannot delete %s%s: %s", shown,
				 de->d_name, strerror(errno));
		}
	}
	closedir(d);
	return rc;
}

/* Delete the numbered file that falls off the ring, unless it is an input. */
static void delete_old(struct rec_file *f, uint32_t seq)
{
	char old[PATH_MAX];
	struct stat st;

	if (rec_file_name(f->path, seq, old, sizeof(old)) < 0 ||
	    lstat(old, &st) < 0 || is_protected(f, &st))
		return;
	if (unlink(old) < 0 && errno != ENOENT) {
		/* Not a write error: the recording goes on, the ring is just bigger. */
		f->last_errno = errno;
		set_message(f, "cannot delete %s: %s", old, strerror(errno));
	}
}

/*
 * Open file `seq` (or the path itself when not rotating) and delete the one
 * that falls off the ring.  0 or -errno; f->name names the file either way.
 * -EEXIST: the file is an input (f->err says so); -ELOOP: a symbolic link.
 * The file is truncated only once it is known not to be an input.
 */
static int open_current(struct rec_file *f, uint32_t seq)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (f->o.follow_symlinks ? 0 : O_NOFOLLOW);
	struct stat st;
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
	int inherited = f->rotating ? -1 : inherited_fd(f->name);
	f->fd = inherited >= 0 ? fcntl(inherited, F_DUPFD_CLOEXEC, 0) : open(f->name, flags, 0644);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &st) < 0) {
		err = errno;
		goto fail;
	}
	if (is_protected(f, &st)) {
		if (f->rotating)
			set_message(f, "%s is an input file", f->name);
		else
			set_message(f, "it is the same file as an input");
		err = EEXIST;
		goto fail;
	}
	f->regular = S_ISREG(st.st_mode) && inherited < 0;
	if (f->regular && ftruncate(f->fd, 0) < 0) {
		err = errno;
		goto fail;
	}
	f->stats->recorder.files++;

	if (f->rotating && f->o.max_files && seq > f->o.max_files)
		delete_old(f, seq - f->o.max_files);
	return 0;
fail:
	close(f->fd);
	f->fd = -1;
	return -err;
}

static void rec_file_free(struct rec_file *f)
{
	if (f->zbuf)
		deflateEnd(&f->zs);
	free(f->zbuf);
	free(f->buf);
	free(f->path);
	free(f);
}

struct rec_file *rec_file_open(const struct rec_file_opts *o, struct fl_stats *stats,
			       char *err, size_t errlen)
{
	struct rec_file *f = calloc(1, sizeof(*f));
	uint32_t first = 1, last = 0;
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
	if (f->gzip) {
		if (deflateInit2(&f->zs, REC_FILE_GZ_LEVEL, Z_DEFLATED, REC_FILE_GZ_WINDOW, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			goto nomem;
		f->zcap = deflateBound(&f->zs, (uLong)f->cap);
		f->zbuf = malloc(f->zcap);
		if (!f->zbuf) {
			deflateEnd(&f->zs);
			goto nomem;
		}
	}

	/* A restart goes on after the files already there, never over them. */
	if (f->rotating) {
		rc = scan_ring(f, 0, &last);
		if (rc < 0)
			goto fail;
		first = last + 1;
	}
	rc = open_current(f, first);
	if (rc < 0)
		goto fail;
	/* The ring holds K files: the new one and the K - 1 before it. */
	if (f->rotating && f->o.max_files && first > f->o.max_files) {
		f->err[0] = 0;
		rc = scan_ring(f, first - f->o.max_files, &last);
		if (rc < 0) {
			close_current(f);
			goto fail;
		}
	}
	return f;
fail:
	if (rc == -EEXIST)
		snprintf(err, errlen, "refusing to record to %s: %s", o->path, f->err);
	else if (rc == -ELOOP && !o->follow_symlinks)
		snprintf(err, errlen, "refusing to record to %s: it is a symbolic link "
			 "(--write-follow-symlinks follows it)", f->name);
	else
		snprintf(err, errlen, "cannot create %s: %s", f->name[0] ? f->name : o->path,
			 strerror(-rc));
	rec_file_free(f);
	errno = -rc;
	return NULL;
nomem:
	snprintf(err, errlen, "cannot record to %s: %s", o->path, strerror(ENOMEM));
	if (f)
		rec_file_free(f);
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
	rec_file_free(f);
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
	if (rc < 0) {
		fail_file(f, -rc, "create");
		if (rc == -EEXIST || (rc == -ELOOP && !f->o.follow_symlinks))
			set_message(f, "refusing to write %s: it is %s", f->name,
				 rc == -EEXIST ? "an input file" : "a symbolic link");
	}
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
