/* SPDX-License-Identifier: MIT */
/*
 * The file source: pcap and pcapng through libpcap, gzip through zlib
 * (transparently: zlib passes plain files through), "-" for stdin.
 */
#ifndef FL_SOURCE_PCAP_H
#define FL_SOURCE_PCAP_H

#include <stddef.h>
#include <stdint.h>

struct packet_sink;
struct pcap_source;

/* NULL with a message naming the file and the problem in err. */
struct pcap_source *pcap_source_open(const char *path, uint32_t snaplen, char *err, size_t errlen);
uint32_t pcap_source_linktype(const struct pcap_source *s);
/*
 * Feed every packet to the pipeline.  Returns 0, or -EIO when the file ends
 * in a damaged record (err names the file and packet number; the packets
 * before it were analysed).
 */
int pcap_source_run(struct pcap_source *s, const struct packet_sink *out, char *err,
		    size_t errlen);
void pcap_source_close(struct pcap_source *s);

#endif
