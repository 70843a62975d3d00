/* SPDX-License-Identifier: MIT */
/*
 * The file source: pcap and pcapng through libpcap, gzip through zlib
 * (transparently: zlib passes plain files through), "-" for stdin.
 */
#ifndef FL_SOURCE_PCAP_H
#define FL_SOURCE_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fl_packet;
struct packet_sink;
struct pcap_source;

/*
 * Opens the file once (a FIFO or "-" works) and reads its header.  NULL with a
 * message naming the file and the problem in err: unreadable, not a capture,
 * corrupt gzip, or a link type the decoder does not know.
 */
struct pcap_source *pcap_source_open(const char *path, uint32_t snaplen, char *err, size_t errlen);
uint32_t pcap_source_linktype(const struct pcap_source *s);
/* Asked after each packet: true stops the run there (it returns 0).  -c uses it. */
void pcap_source_set_stop(struct pcap_source *s, bool (*stop)(void *ctx), void *ctx);
/*
 * The next packet: 1 with *pkt set (its data valid until the next call on this
 * source), 0 at the end; -EIO when the file ends in a damaged record, e.g. cut
 * mid-record (err names the file and packet number with libpcap's words,
 * "truncated dump file; tried to read N captured bytes, only got M"); -EBADMSG
 * when the gzip data is corrupt or cut short.  After 0 or an error it returns 0.
 */
int pcap_source_next(struct pcap_source *s, struct fl_packet *pkt, char *err, size_t errlen);
/* Feed every packet to out; returns what the last pcap_source_next() did (0 or an error). */
int pcap_source_run(struct pcap_source *s, const struct packet_sink *out, char *err,
		    size_t errlen);
/*
 * The most the fast path buffers (default and ceiling 4 MiB, floor 512 KiB):
 * the merge of several files open at once sets less.  Before the first read.
 */
void pcap_source_set_buffer_cap(struct pcap_source *s, size_t bytes);
/*
 * Added to each packet's ifindex, which for a file is an interface number,
 * not a kernel's: 0 for a classic pcap, a pcapng EPB's interface id + 1 (the
 * fast path; 0 through libpcap).  read gives file i the base i << 16, so each
 * file is its own interface.
 */
void pcap_source_set_if_base(struct pcap_source *s, uint32_t base);
const char *pcap_source_path(const struct pcap_source *s);
/* The interfaces a pcapng declared so far (the fast path's count; 0 otherwise). */
uint32_t pcap_source_interfaces(const struct pcap_source *s);
void pcap_source_close(struct pcap_source *s);

#endif
