/* SPDX-License-Identifier: MIT */
/*
 * dedup: the same packet seen on two interfaces is one packet.
 *
 * A node or router capturing on several interfaces (a pod's veth and the
 * uplink, both sides of a bridge or a router, `tcpdump -i any`, several
 * files of one capture) sees each forwarded packet once per interface.
 * Judged twice, each copy would be a retransmission (or a SYN retry).  A
 * copy is a packet whose key (the IP packet without what forwarding changes:
 * addresses, IPv4 id, protocol, the L4 header and the first payload bytes,
 * the lengths; not the TTL or the IPv4 checksum) equals one seen within a
 * short window on a DIFFERENT interface.  The same key on the SAME interface
 * is a real retransmission and stays one.
 *
 * It costs a hash and a table look-up a packet, so it runs only where copies
 * can be: from the first packet when the source says there are several
 * interfaces (dedup_expect: several files, a pcapng of several interfaces,
 * live capture on several) or the link type is Linux SLL2 (`-i any`), else
 * from the first packet on a second interface (the packets before it are not
 * remembered: a copy of one of them is judged again).
 *
 * The table is fixed (DEDUP_SLOTS entries in 2-way buckets), allocated once at
 * the first packet judged and counted in memory.dedup_bytes; when the memory budget
 * refuses it, nothing is deduplicated (memory.over_limit counts that once).
 * An entry still inside its window overwritten by another packet is counted
 * in packets.dedup_evicted (a copy arriving after it would be judged again).
 */
#ifndef FL_CORE_DEDUP_H
#define FL_CORE_DEDUP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/decode.h"

struct fl_stats;
struct dedup;

#define DEDUP_SLOTS 8192u                   /* entries; 24 bytes each */
#define DEDUP_WINDOW_NS (100ull * 1000000)  /* copies arrive within this of the first */

/* NULL on ENOMEM.  slots: a power of two (DEDUP_SLOTS), window in ns. */
struct dedup *dedup_new(struct fl_stats *stats, uint32_t slots, uint64_t window_ns);
void dedup_free(struct dedup *dd);
/*
 * The key of a decoded IP packet (DECODE_OK or DECODE_FRAGMENT), never 0;
 * 0 when there is nothing to key on.
 */
uint64_t dedup_key(const struct decoded *d, enum decode_result r);
/*
 * The interface a packet was captured on: the source's (live ifindex, a
 * file's interface number) and the link header's (Linux SLL2 ifindex).
 */
static inline uint64_t dedup_iface(const struct fl_packet *pkt, const struct decoded *d)
{
	return (uint64_t)pkt->ifindex << 32 | d->link_ifindex;
}
/*
 * True when the packet (key, captured on iface at ts) is a copy of one seen on
 * another interface within the window: counted in packets.duplicates, to be
 * judged no further.  Otherwise it is remembered (a packet seen again on the
 * same interface refreshes its entry: a retransmission).
 */
bool dedup_check(struct dedup *dd, uint64_t key, uint64_t iface, uint64_t ts_ns);
/* The source has several interfaces: judge copies from the first packet on. */
void dedup_expect(struct dedup *dd);
/* dedup_check() of a decoded packet, once copies can be (see above); else false at no cost. */
bool dedup_packet(struct dedup *dd, const struct fl_packet *pkt, const struct decoded *d,
		  enum decode_result r);

#endif
