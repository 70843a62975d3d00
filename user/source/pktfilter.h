/* SPDX-License-Identifier: MIT */
/*
 * The capture filter: a tcpdump expression ("port 80 or port 53") compiled by
 * libpcap into classic BPF for each link type the packets come in, and run
 * either in the kernel (AF_PACKET: SO_ATTACH_FILTER, see pkt_filter_kernel)
 * or here on each packet before the pipeline (the eBPF backend and `read`).
 *
 * The filter sees what tcpdump's would: the packet as captured, that is the
 * outer packet of a tunnel and each IP fragment on its own (a port test does
 * not match a non-first fragment).  Kernel socket events (eBPF backend) are
 * tested as a TCP packet from the local to the remote address and port.
 */
#ifndef FL_SOURCE_PKTFILTER_H
#define FL_SOURCE_PKTFILTER_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/packet.h"

struct pkt_filter;

/* The arguments joined by spaces, as tcpdump joins them (malloc'd; NULL when n is 0 or on ENOMEM). */
char *pkt_filter_join(char **words, int n);

/* NULL on ENOMEM.  Packets that pass go to `next` (pkt_filter_set_next may set it later). */
struct pkt_filter *pkt_filter_new(const char *expr, uint32_t snaplen);
void pkt_filter_set_next(struct pkt_filter *f, struct packet_sink next);
/* Compile for a link type (DLT number) up front.  0, or -1 with libpcap's message in err. */
int pkt_filter_compile(struct pkt_filter *f, uint32_t linktype, char *err, size_t errlen);
/* The sink that tests each packet and passes the ones that match on. */
struct packet_sink pkt_filter_sink(struct pkt_filter *f);
/*
 * One classic BPF program for an AF_PACKET socket bound to every interface:
 * it branches on the device's hardware type (ARPHRD_NONE devices hand raw IP,
 * the others an Ethernet header) to the program for DLT_RAW or DLT_EN10MB.
 * Accepted packets are cut to the snaplen.  Points into f; *len instructions
 * (struct sock_filter).  -1 with a message when the program is too long.
 */
int pkt_filter_kernel(struct pkt_filter *f, const void **insns, unsigned *len, char *err,
		      size_t errlen);
uint64_t pkt_filter_rejected(const struct pkt_filter *f);
void pkt_filter_free(struct pkt_filter *f);

#endif
