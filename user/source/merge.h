/* SPDX-License-Identifier: MIT */
/*
 * Several capture files read as one capture, in timestamp order, as mergecap
 * does: a heap over the open inputs, each contributing its next packet.
 *
 * Any number of files, whatever the descriptor limit: the soft RLIMIT_NOFILE
 * is raised to the hard one when the files need it, and a regular file is
 * opened only when the merge reaches its first packet's time and closed at its
 * end, so files that follow each other in time (tcpdump -C/-G, editcap -c)
 * hold one or two descriptors.  When more files overlap in time than can be
 * open at once, the open file whose next packet is the latest is closed and
 * opened again when the merge reaches that packet (re-reading up to it): the
 * order is mergecap's, only slower.  Each regular file is opened once to read
 * its first packet's time and again when its turn comes; "-", /dev/stdin,
 * /dev/fd/N and FIFOs are opened exactly once and stay open (more of them than
 * the limit allows is an error naming the limit).
 */
#ifndef FL_SOURCE_MERGE_H
#define FL_SOURCE_MERGE_H

#include <stddef.h>
#include <stdint.h>

struct packet_sink;
struct pcap_merge;

/*
 * Check every file (each is opened and its first packet read, or it is
 * opened for good when it cannot be opened twice).  NULL with a message in err
 * naming the file and the problem, or the descriptor limit.
 */
struct pcap_merge *pcap_merge_open(char *const *paths, int n, uint32_t snaplen, char *err,
				   size_t errlen);

/*
 * Called for a file that failed during the run (rc as pcap_source_next()
 * returns, or -EMFILE/-ENOENT... when a file could not be opened again); the
 * other files go on.
 */
typedef void (*pcap_merge_error_fn)(void *ctx, int rc, const char *msg);

/*
 * Feed every packet of every file to out in timestamp order (ties: the file
 * named first).  0, or -EMFILE (err says so) when more pipes overlap in time
 * than can be open at once: the packets before were analysed.
 */
int pcap_merge_run(struct pcap_merge *m, const struct packet_sink *out, pcap_merge_error_fn on_error,
		   void *ctx, char *err, size_t errlen);
/* The most inputs the merge may hold open at once (after raising the limit). */
int pcap_merge_open_limit(const struct pcap_merge *m);
/* Files closed to make room and opened again (re-read up to where they were). */
uint64_t pcap_merge_reopened(const struct pcap_merge *m);
void pcap_merge_close(struct pcap_merge *m);

#endif
