/* SPDX-License-Identifier: MIT */
/*
 * The traffic recorder (-w, --write-filter, --write-max-mb, --write-files):
 * raw packets to pcap (nanosecond timestamps, the source's link type, gzip
 * when the path ends in ".gz"), optionally rotated into numbered files, and
 * optionally only the packets of flows that produced a matching entry.
 *
 * Hook-up: recorder_packet() and recorder_flow_end() are a packet_observer of
 * the pipeline, recorder_entry() an entry_sink.  The pipeline must emit a
 * flow's entries before it calls flow_end for it, and the recorder must be
 * closed after the pipeline is freed (flows carry pointers into it).
 *
 * --write-filter: each flow's packets are held in a bounded buffer until the
 * flow is judged.  A matching entry for the flow writes its buffer (oldest
 * first) and every later packet of the flow directly; a flow that ends
 * without one is forgotten.  Bounds: per flow in packets and bytes (the
 * oldest packets go first), and in total bytes (the buffers of the flows
 * with the oldest buffered packets go first); every packet pushed out is
 * counted in stats.recorder.dropped.  Because a flow's buffer is written when
 * the flow is judged, its packets come after packets of other flows that were
 * written meanwhile: such a pcap is in time order per flow, not overall
 * (Wireshark and tshark read it; `reordercap` sorts it).
 *
 * Packets with no flow (not IP, not decodable) are recorded only without a
 * filter, except the one packet behind a matching entry that has no flow
 * (the packet with the entry's timestamp, seen just before or after it).
 */
#ifndef FL_RECORDER_H
#define FL_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report/entry.h"
#include "core/packet.h"
#include "report/stats.h"

struct flow;
struct kfl_expr;

/* Link type "the first packet's": for `read`, where the CLI opens the recorder before the files. */
#define RECORDER_LINKTYPE_AUTO UINT32_MAX

typedef bool (*recorder_match_fn)(const struct kfl_expr *filter, const struct doc *entry);

struct recorder_opts {
	const char *path;                /* ".gz" suffix: gzip */
	uint32_t linktype;               /* DLT number, or RECORDER_LINKTYPE_AUTO */
	uint32_t snaplen;                /* 0: 262144 */
	uint32_t max_mb;                 /* rotate before a file passes N MB (10^6 bytes); 0: one file */
	uint32_t max_files;              /* with max_mb: keep the newest K files; 0: keep all */
	const struct kfl_expr *filter;   /* NULL: record everything */
	recorder_match_fn match;         /* evaluates filter: kfl_match */
	uint32_t flow_buffer_packets;    /* 0: 256 */
	uint32_t flow_buffer_bytes;      /* 0: 512 KiB */
	uint64_t buffer_total_bytes;     /* 0: 64 MiB */
};

struct recorder;

/* Creates the (first) file.  NULL with errno set and a message in err. */
struct recorder *recorder_open(const struct recorder_opts *o, struct fl_stats *stats,
			       char *err, size_t errlen);
/* The flow storage id (8 bytes) where the recorder keeps its per-flow tag;
 * until it is set, packets and entries are recorded as if they had no flow. */
void recorder_set_flow_storage(struct recorder *r, int slot);
void recorder_packet(struct recorder *r, const struct fl_packet *pkt, struct flow *flow);
void recorder_entry(struct recorder *r, const struct doc *entry, const struct entry_meta *meta);
void recorder_flow_end(struct recorder *r, struct flow *flow);
/* Write buffered packets out now (capture's idle timer; packets flush about once a second). */
void recorder_flush(struct recorder *r);
/*
 * Write everything out and close the file: after it, stats.recorder is final
 * and recorder_last_error() tells about a failure of the last writes (gzip's
 * trailer, a full disk).  Packets after it are ignored.
 */
void recorder_finish(struct recorder *r);
/* Finish if not yet done, and free r.  NULL is a no-op. */
void recorder_close(struct recorder *r);

/*
 * The latest problem as one sentence naming the file ("cannot write
 * out.pcap: No space left on device"), or NULL.  Library code never prints:
 * the CLI prints it once, when stats.recorder.write_errors first moves.
 */
const char *recorder_last_error(struct recorder *r);

/* The pipeline callbacks (ctx is the recorder); recorder_attach() installs them. */
void recorder_observe_packet(void *ctx, const struct fl_packet *pkt, struct flow *flow);
void recorder_observe_flow_end(void *ctx, struct flow *flow);
void recorder_emit(void *ctx, const struct doc *entry, const struct entry_meta *meta);
bool recorder_filtering(const struct recorder *r);

/* Hang r on the pipeline: its packet observer and, with a filter, its entry sink.  0 or -errno. */
struct pipeline;
int recorder_attach(struct recorder *r, struct pipeline *p);

#endif
