// SPDX-License-Identifier: MIT
#include "report/stats.h"

#include <string.h>

static const char *const error_names[FL_ERR_MAX] = {
	[FL_ERR_NONE] = "none",
	[FL_ERR_TCP] = "tcp",
	[FL_ERR_ICMP] = "icmp",
	[FL_ERR_TIMEOUT] = "timeout",
	[FL_ERR_HALF_CONNECTION] = "half-connection",
	[FL_ERR_UNEXPECTED_EOF] = "unexpected-eof",
	[FL_ERR_PARSER] = "parser-error",
	[FL_ERR_DROP] = "drop",
};

const char *tcp_state_name(unsigned state)
{
	/* The kernel's TCP states (include/net/tcp_states.h), stable as they are in its uapi. */
	static const char *const names[] = {
		"NO_SOCKET", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
		"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
		"NEW_SYN_RECV", "BOUND_INACTIVE",
	};
	return state < sizeof(names) / sizeof(names[0]) ? names[state] : NULL;
}

const char *error_type_name(enum fl_error_type type)
{
	return (unsigned)type < FL_ERR_MAX ? error_names[type] : "unknown";
}

void stats_to_doc(const struct fl_stats *s, struct doc *d)
{
	uint32_t o, e;

	doc_reset(d);
	o = doc_add_obj(d, DOC_ROOT, "packets");
	doc_add_int(d, o, "seen", (int64_t)s->packets.seen);
	doc_add_int(d, o, "bytes", (int64_t)s->packets.bytes);
	doc_add_int(d, o, "dropped", (int64_t)s->packets.dropped);
	doc_add_int(d, o, "decode_errors", (int64_t)s->packets.decode_errors);
	doc_add_int(d, o, "time_reversals", (int64_t)s->packets.time_reversals);
	doc_add_int(d, o, "duplicates", (int64_t)s->packets.duplicates);
	doc_add_int(d, o, "dedup_evicted", (int64_t)s->packets.dedup_evicted);

	o = doc_add_obj(d, DOC_ROOT, "capture");
	doc_add_str(d, o, "backend", s->capture.backend ? s->capture.backend : "file");
	e = doc_add_arr(d, o, "interfaces");
	for (unsigned i = 0; i < s->capture.n_interfaces; i++)
		doc_add_str(d, e, NULL, s->capture.interfaces[i]);
	if (s->capture.skipping) {
		doc_add_int(d, o, "skipped_bytes", (int64_t)s->capture.skipped_bytes);
		doc_add_int(d, o, "skip_requests", (int64_t)s->capture.skip_requests);
		doc_add_int(d, o, "frame_disagreements", (int64_t)s->capture.frame_disagreements);
	}
	doc_add_int(d, o, "uptime_s", s->capture.now_ns > s->capture.start_ns ?
		    (int64_t)((s->capture.now_ns - s->capture.start_ns) / 1000000000ull) : 0);

	o = doc_add_obj(d, DOC_ROOT, "flows");
	doc_add_int(d, o, "tcp", (int64_t)s->flows.tcp);
	doc_add_int(d, o, "udp", (int64_t)s->flows.udp);
	doc_add_int(d, o, "active", (int64_t)s->flows.active);
	doc_add_int(d, o, "evicted", (int64_t)s->flows.evicted);
	doc_add_int(d, o, "resumed", (int64_t)s->flows.resumed);

	o = doc_add_obj(d, DOC_ROOT, "tcp");
	doc_add_int(d, o, "SynSent", (int64_t)s->tcp.syn_sent);
	doc_add_int(d, o, "Reset", (int64_t)s->tcp.reset);
	doc_add_int(d, o, "CloseWait", (int64_t)s->tcp.close_wait);
	doc_add_int(d, o, "LastAck", (int64_t)s->tcp.last_ack);
	doc_add_int(d, o, "retransmissions", (int64_t)s->tcp.retransmissions);
	doc_add_int(d, o, "out_of_order", (int64_t)s->tcp.out_of_order);
	doc_add_int(d, o, "missed_bytes", (int64_t)s->tcp.missed_bytes);
	doc_add_int(d, o, "truncated_bytes", (int64_t)s->tcp.truncated_bytes);
	doc_add_int(d, o, "streams_timed_out", (int64_t)s->tcp.streams_timed_out);
	doc_add_int(d, o, "reassembly_dropped_bytes", (int64_t)s->tcp.reassembly_dropped_bytes);
	doc_add_int(d, o, "invalid_rst", (int64_t)s->tcp.invalid_rst);
	doc_add_int(d, o, "syn_answer_uncaptured", (int64_t)s->tcp.syn_answer_uncaptured);

	o = doc_add_obj(d, DOC_ROOT, "ip");
	doc_add_int(d, o, "fragments", (int64_t)s->ip.fragments);
	doc_add_int(d, o, "reassembled", (int64_t)s->ip.reassembled);
	doc_add_int(d, o, "defrag_timeouts", (int64_t)s->ip.timeouts);
	doc_add_int(d, o, "defrag_overlaps", (int64_t)s->ip.overlaps);
	doc_add_int(d, o, "defrag_dropped", (int64_t)s->ip.dropped);
	e = doc_add_obj(d, o, "defrag_dropped_by");
	for (int r = 0; r < DEFRAG_DROP_MAX; r++)
		doc_add_int(d, e, defrag_drop_reason_name(r), (int64_t)s->ip.dropped_by[r]);

	o = doc_add_obj(d, DOC_ROOT, "tunnels");
	for (int t = FL_TUNNEL_GRE; t <= FL_TUNNEL_MPLS; t++)
		doc_add_int(d, o, tunnel_type_name((uint8_t)t), (int64_t)s->tunnels.packets[t]);

	o = doc_add_obj(d, DOC_ROOT, "icmp");
	doc_add_int(d, o, "messages", (int64_t)s->icmp.messages);
	doc_add_int(d, o, "errors", (int64_t)s->icmp.errors);

	o = doc_add_obj(d, DOC_ROOT, "entries");
	doc_add_int(d, o, "total", (int64_t)s->entries.total);
	e = doc_add_obj(d, o, "errors");
	for (int t = FL_ERR_NONE + 1; t < FL_ERR_MAX; t++)
		doc_add_int(d, e, error_type_name(t), (int64_t)s->entries.errors[t]);
	doc_add_int(d, o, "unrecorded_requests", (int64_t)s->entries.unrecorded_requests);

	o = doc_add_obj(d, DOC_ROOT, "kernel");
	doc_add_int(d, o, "SynSent", (int64_t)s->kernel.syn_sent);
	doc_add_int(d, o, "Reset", (int64_t)s->kernel.reset);
	doc_add_int(d, o, "CloseWait", (int64_t)s->kernel.close_wait);
	doc_add_int(d, o, "LastAck", (int64_t)s->kernel.last_ack);
	if (s->kernel.drops.source) {
		/* Live only: where drops come from, and their counts by the kernel's reason names. */
		doc_add_str(d, o, "drops_view", s->kernel.drops.source);
		doc_add_bool(d, o, "drop_reasons", s->kernel.drops.reasons);
		doc_add_int(d, o, "drops_total", (int64_t)s->kernel.drops.total);
		doc_add_int(d, o, "drops_without_reason", (int64_t)s->kernel.drops.without_reason);
		doc_add_int(d, o, "drop_records", (int64_t)s->kernel.drops.records);
		uint32_t r = doc_add_obj(d, o, "drops");
		for (unsigned i = 0; i < FL_STATS_DROP_REASONS; i++) {
			const char *name = s->kernel.drops.names ? s->kernel.drops.names[i] : NULL;
			if (s->kernel.drops.by_reason[i] && name)
				doc_add_int(d, r, name, (int64_t)s->kernel.drops.by_reason[i]);
		}
		doc_add_int(d, o, "retransmits", (int64_t)s->kernel.retransmits);
		doc_add_int(d, o, "syn_retransmits", (int64_t)s->kernel.syn_retransmits);
		doc_add_int(d, o, "listen_overflows", (int64_t)s->kernel.listen_overflows);
		doc_add_bool(d, o, "listen_overflows_at_syn", s->kernel.listen_overflows_at_syn);
		doc_add_int(d, o, "listen_namespaces", (int64_t)s->kernel.listen_namespaces);
		doc_add_int(d, o, "listen_namespaces_refused", (int64_t)s->kernel.listen_namespaces_refused);
		doc_add_int(d, o, "listen_namespaces_over_limit",
			    (int64_t)s->kernel.listen_namespaces_over_limit);
		r = doc_add_obj(d, o, "socket_errors");
		for (int en = 1; en < FL_STATS_ERRNOS; en++) {
			const char *name = strerrorname_np(en);
			if (s->kernel.socket_errors[en])
				doc_add_int(d, r, name ? name : "OTHER", (int64_t)s->kernel.socket_errors[en]);
		}
	}
	if (s->kernel.resets) {
		uint32_t sent = doc_add_obj(d, o, "resets_sent"), got = doc_add_obj(d, o, "resets_received");
		for (unsigned st = 0; st < FL_STATS_TCP_STATES; st++) {
			const char *name = tcp_state_name(st);
			if (s->kernel.resets_sent[st])
				doc_add_int(d, sent, name ? name : "OTHER", (int64_t)s->kernel.resets_sent[st]);
			if (s->kernel.resets_received[st])
				doc_add_int(d, got, name ? name : "OTHER", (int64_t)s->kernel.resets_received[st]);
		}
	}

	o = doc_add_obj(d, DOC_ROOT, "recorder");
	doc_add_int(d, o, "packets", (int64_t)s->recorder.packets);
	doc_add_int(d, o, "bytes", (int64_t)s->recorder.bytes);
	doc_add_int(d, o, "write_errors", (int64_t)s->recorder.write_errors);
	doc_add_int(d, o, "files", (int64_t)s->recorder.files);
	doc_add_int(d, o, "dropped", (int64_t)s->recorder.dropped);

	o = doc_add_obj(d, DOC_ROOT, "attribution");
	doc_add_int(d, o, "names", (int64_t)s->attribution.names);
	doc_add_int(d, o, "names_learned", (int64_t)s->attribution.names_learned);
	doc_add_int(d, o, "names_evicted", (int64_t)s->attribution.names_evicted);
	doc_add_int(d, o, "names_expired", (int64_t)s->attribution.names_expired);
	doc_add_int(d, o, "name_hits", (int64_t)s->attribution.name_hits);
	doc_add_int(d, o, "name_misses", (int64_t)s->attribution.name_misses);
	doc_add_int(d, o, "sockets", (int64_t)s->attribution.sockets);
	doc_add_int(d, o, "listeners", (int64_t)s->attribution.listeners);
	doc_add_int(d, o, "sockets_evicted", (int64_t)s->attribution.sockets_evicted);
	doc_add_int(d, o, "socket_hits", (int64_t)s->attribution.socket_hits);
	doc_add_int(d, o, "socket_misses", (int64_t)s->attribution.socket_misses);
	doc_add_int(d, o, "cgroups", (int64_t)s->attribution.cgroups);
	doc_add_int(d, o, "cgroup_hits", (int64_t)s->attribution.cgroup_hits);
	doc_add_int(d, o, "cgroup_misses", (int64_t)s->attribution.cgroup_misses);
	doc_add_int(d, o, "scans", (int64_t)s->attribution.scans);
	doc_add_int(d, o, "scanned", (int64_t)s->attribution.scanned);

	o = doc_add_obj(d, DOC_ROOT, "memory");
	doc_add_int(d, o, "flow_bytes", (int64_t)s->memory.flow_bytes);
	doc_add_int(d, o, "reassembly_bytes", (int64_t)s->memory.reassembly_bytes);
	doc_add_int(d, o, "recorder_bytes", (int64_t)s->memory.recorder_bytes);
	doc_add_int(d, o, "defrag_bytes", (int64_t)s->ip.bytes);
	doc_add_int(d, o, "control_bytes", (int64_t)s->memory.control_bytes);
	doc_add_int(d, o, "evicted_bytes", (int64_t)s->memory.evicted_bytes);
	doc_add_int(d, o, "attribution_bytes", (int64_t)s->memory.attribution_bytes);
	doc_add_int(d, o, "dedup_bytes", (int64_t)s->memory.dedup_bytes);
	doc_add_int(d, o, "host_pair_bytes", (int64_t)s->memory.host_pair_bytes);
	doc_add_int(d, o, "stream_bytes", (int64_t)s->memory.stream_bytes);
	doc_add_int(d, o, "total_bytes", (int64_t)memory_used(s));
	doc_add_int(d, o, "peak_bytes", (int64_t)(s->memory.peak_bytes > memory_used(s) ?
						  s->memory.peak_bytes : memory_used(s)));
	doc_add_int(d, o, "limit_bytes", (int64_t)s->memory.limit_bytes);
	doc_add_int(d, o, "over_limit", (int64_t)s->memory.over_limit);
}

void stats_write_json(const struct fl_stats *s, FILE *out)
{
	struct doc d;
	doc_init(&d);
	stats_to_doc(s, &d);
	doc_write_json(&d, DOC_ROOT, out);
	fputc('\n', out);
	doc_free(&d);
}
