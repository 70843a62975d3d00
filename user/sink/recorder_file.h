/* SPDX-License-Identifier: MIT */
/*
 * The recorder's file side: pcap (nanosecond magic) written through one large
 * buffer, gzip-compressed when the path ends in ".gz", rotated by size into
 * numbered files with the oldest deleted.  Used only by recorder.c.
 *
 * Why not libpcap's dumper: it has no way to write nanosecond pcap into a
 * gzFile without a fopencookie() shim, and the format is 24 + 16 bytes of
 * headers; writing it here keeps one code path for plain and gzip output and
 * lets a record be reserved in the buffer and filled in place (the flow
 * buffers copy straight from their blocks).
 */
#ifndef FL_RECORDER_FILE_H
#define FL_RECORDER_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report/stats.h"

#define PCAP_NSEC_MAGIC 0xa1b23c4du
#define PCAP_FILE_HEADER_LEN 24
#define PCAP_RECORD_HEADER_LEN 16

/* A file by identity (device and inode), not by name: an input the recorder must not touch. */
struct rec_file_id {
	uint64_t dev, ino;
};

struct rec_file_opts {
	const char *path;
	uint32_t snaplen;         /* written in the file header; records are never longer */
	uint32_t linktype;        /* DLT number; may be set later, before the first record */
	uint64_t max_bytes;       /* rotate before a file passes this (uncompressed); 0: never */
	uint32_t max_files;       /* keep the newest K files when rotating; 0: keep all */
	size_t buffer_bytes;      /* write buffer; 0: 1 MiB */
	/*
	 * Files never to write, truncate or delete (the inputs of `read`): a
	 * recording file that is one of them (a hard link, a rotated name the
	 * ring would reuse or delete) is refused.
	 */
	const struct rec_file_id *protect;
	size_t n_protect;
	bool follow_symlinks;     /* else a symbolic link as a recording file is refused (ELOOP) */
};

struct rec_file;

/*
 * Creates the first file.  NULL with errno set and a message in err.
 * Rotating, the numbering goes on after the highest numbered file already in
 * the directory, and with max_files the ring holds exactly that many files
 * across restarts (older numbered files are deleted).
 *
 * Every write is of whole records, so a file cut by a failure (a full disk)
 * reads cleanly up to its last whole packet: a plain file is truncated back
 * to it, and a gzip file is written as one gzip member per flush, truncated
 * back to its last whole member.  stats.recorder.packets counts only packets
 * that reached the file.
 */
struct rec_file *rec_file_open(const struct rec_file_opts *o, struct fl_stats *stats,
			       char *err, size_t errlen);
/* Flush and close the file (f stays for rec_file_error()); 0 or -errno of the last failure. */
int rec_file_finish(struct rec_file *f);
/* Finish if not yet done, and free f. */
int rec_file_close(struct rec_file *f);

void rec_file_set_linktype(struct rec_file *f, uint32_t linktype);

/*
 * Room for one record of `caplen` bytes (caplen <= snaplen) in the buffer, its
 * header written: the caller copies the packet bytes to the returned pointer.
 * Rotates first when the record would take the file past max_bytes.  NULL when
 * the file is failed (after a write error): the packet is counted as dropped.
 */
uint8_t *rec_file_reserve(struct rec_file *f, uint64_t ts_ns, uint32_t caplen, uint32_t len);

/* Write the buffer out now (a timer in capture; the recorder's 1 s packet-time rule). */
void rec_file_flush(struct rec_file *f);

/* The last failure as a sentence naming the file, or NULL. */
const char *rec_file_error(const struct rec_file *f);

/* Name of file `seq` (1-based) of a rotated recording: out.pcap.gz -> out-00001.pcap.gz. */
int rec_file_name(const char *path, uint32_t seq, char *buf, size_t len);

#endif
