// SPDX-License-Identifier: MIT
#include "sink/metrics.h"

#include <ctype.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "core/version.h"
#include "report/doc.h"

enum metric_type { COUNTER, GAUGE };

/*
 * The stats members by their path in the doc.  `label` set: the member is an
 * object whose keys are that label's values (`label2`: one level deeper), or,
 * with `value`, a number that is one series of a family shared with its
 * neighbours.  Members not listed are exported under a derived name.
 */
struct metric_def {
	const char *path, *name;
	enum metric_type type;
	const char *help;
	const char *label, *value, *label2;
	double scale;    /* 0: 1 */
};

static const struct metric_def defs[] = {
	{ "packets.seen", "faultline_packets_seen_total", COUNTER, "Packets the capture saw." },
	{ "packets.bytes", "faultline_packets_bytes_total", COUNTER, "Bytes of the packets the capture saw." },
	{ "packets.dropped", "faultline_packets_dropped_total", COUNTER,
	  "Packets lost before faultline saw them (kernel ring or AF_PACKET ring full)." },
	{ "packets.decode_errors", "faultline_packets_decode_errors_total", COUNTER,
	  "Packets that could not be decoded." },
	{ "packets.duplicates", "faultline_packets_duplicates_total", COUNTER,
	  "Copies of a packet seen on another interface, judged once." },
	{ "capture.uptime_s", "faultline_capture_uptime_seconds", GAUGE, "Seconds since the capture started." },
	{ "capture.longest_stall_us", "faultline_capture_longest_stall_seconds", GAUGE,
	  "Longest time the event loop spent on anything but packets.", .scale = 1e-6 },
	{ "capture.longest_stall_cpu_us", "faultline_capture_longest_stall_cpu_seconds", GAUGE,
	  "CPU time of the longest stall of the event loop.", .scale = 1e-6 },
	{ "capture.bpf.packets", "faultline_bpf_packets_total", COUNTER, "Packets the eBPF programs saw." },
	{ "capture.bpf.ring_drops", "faultline_bpf_ring_drops_total", COUNTER,
	  "Packets the eBPF programs could not push into the full ring buffer." },
	{ "capture.bpf.parse_failures", "faultline_bpf_parse_failures_total", COUNTER,
	  "Packets the eBPF programs could not parse (passed on, not dropped)." },
#define BPF_TCP(key, v) { "capture.bpf." key, "faultline_bpf_tcp_packets_total", COUNTER, \
	"TCP packets the eBPF programs saw, by flags.", "flags", v }
	BPF_TCP("tcp_syn", "syn"), BPF_TCP("tcp_synack", "synack"), BPF_TCP("tcp_rst", "rst"),
	BPF_TCP("tcp_fin", "fin"),
#define BPF_ICMP(key, v) { "capture.bpf." key, "faultline_bpf_icmp_packets_total", COUNTER, \
	"ICMP and ICMPv6 packets the eBPF programs saw, by kind.", "kind", v }
	BPF_ICMP("icmp_echo", "echo"), BPF_ICMP("icmp_unreachable", "unreachable"),
	BPF_ICMP("icmp_time_exceeded", "time_exceeded"), BPF_ICMP("icmp_other_error", "other_error"),
	BPF_ICMP("icmp_other", "other"),
	{ "capture.bpf.socket_tracepoints", "faultline_bpf_socket_tracepoints", GAUGE,
	  "1 when the kernel's TCP socket tracepoints are attached." },
	{ "flows.tcp", "faultline_flows_tcp_total", COUNTER, "TCP flows seen." },
	{ "flows.udp", "faultline_flows_udp_total", COUNTER, "UDP flows seen." },
	{ "flows.active", "faultline_flows_active", GAUGE, "Flows in the flow table." },
	{ "flows.evicted", "faultline_flows_evicted_total", COUNTER,
	  "Flows evicted from the full flow table (tap.maxFlows)." },
	{ "tcp.SynSent", "faultline_tcp_syn_sent_total", COUNTER, "SYNs that got no SYN-ACK." },
	{ "tcp.Reset", "faultline_tcp_reset_total", COUNTER, "Synchronized connections reset." },
	{ "tcp.CloseWait", "faultline_tcp_close_wait_total", COUNTER,
	  "Connections one side closed and the other never did." },
	{ "tcp.LastAck", "faultline_tcp_last_ack_total", COUNTER,
	  "Connections whose final ACK was never seen." },
	{ "tcp.retransmissions", "faultline_tcp_retransmissions_total", COUNTER, "TCP retransmissions seen." },
	{ "tcp.out_of_order", "faultline_tcp_out_of_order_total", COUNTER, "TCP segments out of order." },
	{ "tcp.missed_bytes", "faultline_tcp_missed_bytes_total", COUNTER,
	  "Bytes of TCP streams the capture never saw." },
	{ "tcp.truncated_bytes", "faultline_tcp_truncated_bytes_total", COUNTER,
	  "TCP payload bytes on the wire that the capture's snaplen cut." },
	{ "tcp.streams_timed_out", "faultline_tcp_streams_timed_out_total", COUNTER,
	  "Streams with unfinished data that went stale." },
	{ "tcp.reassembly_dropped_bytes", "faultline_tcp_reassembly_dropped_bytes_total", COUNTER,
	  "Out-of-order bytes dropped over tap.reassemblyMemcapMb." },
	{ "tcp.errors_by_reason", "faultline_tcp_errors_total", COUNTER,
	  "TCP error entries, by message and reason.", "message", .label2 = "reason" },
	{ "icmp.messages", "faultline_icmp_messages_total", COUNTER, "ICMP and ICMPv6 messages seen." },
	{ "icmp.errors", "faultline_icmp_error_messages_total", COUNTER, "ICMP and ICMPv6 error messages seen." },
	{ "icmp.errors_by_name", "faultline_icmp_errors_total", COUNTER,
	  "ICMP error entries, by type and code name.", "type_name", .label2 = "code_name" },
	{ "entries.total", "faultline_entries_total", COUNTER, "Entries reported." },
	{ "entries.errors", "faultline_entries_errors_total", COUNTER, "Error entries, by error type.", "type" },
	{ "entries.unrecorded_requests", "faultline_entries_unrecorded_requests_total", COUNTER,
	  "Pipelined requests past the dissector's queue bound (each still has an entry)." },
	{ "responses.http", "faultline_http_responses_total", COUNTER,
	  "HTTP responses, by status class.", "status_class" },
	{ "responses.dns", "faultline_dns_responses_total", COUNTER, "DNS responses, by RCODE name.", "rcode" },
	{ "kernel.SynSent", "faultline_kernel_syn_sent_total", COUNTER,
	  "SYNs without SYN-ACK the kernel's socket tracepoints saw." },
	{ "kernel.Reset", "faultline_kernel_reset_total", COUNTER, "Resets the kernel's socket tracepoints saw." },
	{ "kernel.CloseWait", "faultline_kernel_close_wait_total", COUNTER,
	  "Sockets stuck in CLOSE_WAIT the kernel's socket tracepoints saw." },
	{ "kernel.LastAck", "faultline_kernel_last_ack_total", COUNTER,
	  "Sockets stuck in LAST_ACK the kernel's socket tracepoints saw." },
	/* Bounded labels: the reason names of the running kernel's enum skb_drop_reason. */
	{ "kernel.drops", "faultline_kernel_drops_total", COUNTER,
	  "Packets the kernel dropped (skb:kfree_skb), by drop reason.", "reason" },
	{ "kernel.drops_total", "faultline_kernel_drops_all_total", COUNTER,
	  "Packets the kernel dropped, every reason and none." },
	{ "kernel.drops_without_reason", "faultline_kernel_drops_without_reason_total", COUNTER,
	  "Packets the kernel dropped on a kernel with no drop reasons (before Linux 5.17)." },
	{ "kernel.drop_reasons", "faultline_kernel_drop_reasons", GAUGE,
	  "1 when the kernel reports why it drops packets." },
	{ "kernel.retransmits", "faultline_kernel_retransmits_total", COUNTER,
	  "TCP retransmissions the kernel made (tcp_retransmit_skb)." },
	{ "kernel.syn_retransmits", "faultline_kernel_syn_retransmits_total", COUNTER,
	  "SYN retransmissions the kernel made." },
	{ "kernel.listen_overflows", "faultline_kernel_listen_overflows_total", COUNTER,
	  "SYNs that found their listener's accept queue full." },
	{ "kernel.listen_namespaces", "faultline_kernel_listen_namespaces", GAUGE,
	  "Network namespaces whose listeners are read for listen overflows (sock_diag)." },
	{ "kernel.listen_namespaces_refused", "faultline_kernel_listen_namespaces_refused", GAUGE,
	  "Network namespaces that could not be entered to read their listeners." },
	{ "kernel.listen_namespaces_over_limit", "faultline_kernel_listen_namespaces_over_limit", GAUGE,
	  "Network namespaces over the bound whose listeners are not read." },
	{ "kernel.socket_errors", "faultline_kernel_socket_errors_total", COUNTER,
	  "Errors the kernel reported to sockets (inet_sk_error_report), by errno.", "errno" },
	/* Bounded labels: the kernel's TCP state names, NO_SOCKET for a segment no socket wanted. */
	{ "kernel.resets_sent", "faultline_kernel_resets_sent_total", COUNTER,
	  "TCP resets the kernel sent (tcp_send_reset), by the state of the socket that sent them.",
	  "state" },
	{ "kernel.resets_received", "faultline_kernel_resets_received_total", COUNTER,
	  "TCP resets the kernel's sockets received (tcp_receive_reset), by the state they hit.",
	  "state" },
	{ "recorder.packets", "faultline_recorder_packets_total", COUNTER, "Packets written by -w." },
	{ "recorder.bytes", "faultline_recorder_bytes_total", COUNTER, "Bytes written by -w." },
	{ "recorder.write_errors", "faultline_recorder_write_errors_total", COUNTER, "Failed writes of -w." },
	{ "recorder.files", "faultline_recorder_files_total", COUNTER, "Files -w opened." },
	{ "recorder.dropped", "faultline_recorder_dropped_total", COUNTER,
	  "Packets that belong in the recording but are not in it." },
	{ "memory.flow_bytes", "faultline_memory_flow_bytes", GAUGE, "Bytes held by the flow table." },
	{ "memory.reassembly_bytes", "faultline_memory_reassembly_bytes", GAUGE,
	  "Bytes of out-of-order TCP data held." },
	{ "memory.recorder_bytes", "faultline_memory_recorder_bytes", GAUGE,
	  "Bytes of the --write-filter buffer pool (packets held until their flow is judged)." },
	{ "memory.defrag_bytes", "faultline_memory_defrag_bytes", GAUGE,
	  "Bytes held by IP fragment reassembly." },
	{ "memory.control_bytes", "faultline_memory_control_bytes", GAUGE,
	  "Bytes held by the control socket (entry ring, client buffers)." },
	{ "memory.total_bytes", "faultline_memory_used_bytes", GAUGE, "Bytes drawn from tap.memoryLimitMb." },
	{ "memory.limit_bytes", "faultline_memory_limit_bytes", GAUGE, "tap.memoryLimitMb in bytes (0: no limit)." },
	{ "memory.over_limit", "faultline_memory_over_limit_total", COUNTER,
	  "Things evicted or refused to stay under tap.memoryLimitMb." },
};

/* A definition names this path or one below it. */
static bool defs_under(const char *path)
{
	size_t n = strlen(path);
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if (strncmp(defs[i].path, path, n) == 0 && defs[i].path[n] == '.')
			return true;
	return false;
}

static const struct metric_def *def_for(const char *path)
{
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if (strcmp(defs[i].path, path) == 0)
			return &defs[i];
	return NULL;
}

void metrics_write_label_value(FILE *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\')
			fputs("\\\\", out);
		else if (s[i] == '"')
			fputs("\\\"", out);
		else if (s[i] == '\n')
			fputs("\\n", out);
		else
			fputc(s[i], out);
	}
}

static void put_label(FILE *out, bool first, const char *key, const char *value, size_t len)
{
	fprintf(out, "%s%s=\"", first ? "" : ",", key);
	metrics_write_label_value(out, value, len);
	fputc('"', out);
}

/* One family: its header once, however many series follow. */
struct writer {
	FILE *out;
	char last[128];
};

static void header(struct writer *w, const char *name, enum metric_type type, const char *help)
{
	if (strcmp(w->last, name) == 0)
		return;
	snprintf(w->last, sizeof(w->last), "%s", name);
	fprintf(w->out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
		type == COUNTER ? "counter" : "gauge");
}

static void put_value(FILE *out, const struct doc *d, uint32_t n, double scale)
{
	enum doc_type t = doc_type_of(d, n);

	if (t == DOC_BOOL)
		fprintf(out, " %d\n", d->nodes[n].v.b ? 1 : 0);
	else if (t == DOC_INT && scale == 0)
		fprintf(out, " %" PRId64 "\n", d->nodes[n].v.i);
	else
		fprintf(out, " %.17g\n", doc_number(d, n) * (scale ? scale : 1));
}

static bool is_number(const struct doc *d, uint32_t n)
{
	enum doc_type t = doc_type_of(d, n);
	return t == DOC_INT || t == DOC_REAL || t == DOC_BOOL;
}

/* "SynSent" -> "syn_sent", appended to name at *len. */
static void append_snake(char *name, size_t cap, size_t *len, const char *key, size_t key_len)
{
	for (size_t i = 0; i < key_len && *len + 2 < cap; i++) {
		char c = key[i];
		if (isupper((unsigned char)c)) {
			if (i > 0 && *len > 0 && name[*len - 1] != '_')
				name[(*len)++] = '_';
			c = (char)tolower((unsigned char)c);
		} else if (!isalnum((unsigned char)c)) {
			c = '_';
		}
		name[(*len)++] = c;
	}
	name[*len] = '\0';
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/*
 * A member no definition names: faultline_<path in snake case>, durations in
 * seconds, memory and booleans as gauges, everything else a counter.
 */
static struct metric_def derive(const char *path, const struct doc *d, uint32_t n, char *name,
				size_t cap, char *help, size_t help_cap)
{
	struct metric_def def = { .path = path, .name = name, .type = COUNTER, .help = help };
	size_t len = strlen("faultline_");

	memcpy(name, "faultline_", len + 1);
	append_snake(name, cap, &len, path, strlen(path));
	static const struct { const char *suffix; double scale; } units[] = {
		{ "_us", 1e-6 }, { "_ms", 1e-3 }, { "_s", 1 },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ends_with(name, units[i].suffix)) {
			name[strlen(name) - strlen(units[i].suffix)] = '\0';
			strncat(name, "_seconds", cap - strlen(name) - 1);
			def.scale = units[i].scale;
			def.type = GAUGE;
		}
	if (doc_type_of(d, n) == DOC_BOOL || strncmp(path, "memory.", 7) == 0 ||
	    ends_with(name, "_active"))
		def.type = GAUGE;
	if (def.type == COUNTER && !ends_with(name, "_total"))
		strncat(name, "_total", cap - strlen(name) - 1);
	if (doc_type_of(d, n) == DOC_OBJ)
		def.label = "type";
	snprintf(help, help_cap, "The stats member %s.", path);
	return def;
}

static void write_labelled(struct writer *w, const struct metric_def *def, const struct doc *d,
			   uint32_t obj)
{
	header(w, def->name, def->type, def->help);
	for (uint32_t c = d->nodes[obj].v.kids.first; c != DOC_NONE; c = d->nodes[c].next) {
		size_t klen;
		const char *key = doc_key(d, c, &klen);
		if (def->label2 && doc_type_of(d, c) == DOC_OBJ) {
			for (uint32_t g = d->nodes[c].v.kids.first; g != DOC_NONE; g = d->nodes[g].next) {
				size_t glen;
				const char *gkey = doc_key(d, g, &glen);
				if (!is_number(d, g))
					continue;
				fprintf(w->out, "%s{", def->name);
				put_label(w->out, true, def->label, key, klen);
				put_label(w->out, false, def->label2, gkey, glen);
				fputc('}', w->out);
				put_value(w->out, d, g, def->scale);
			}
		} else if (is_number(d, c)) {
			fprintf(w->out, "%s{", def->name);
			put_label(w->out, true, def->label, key, klen);
			fputc('}', w->out);
			put_value(w->out, d, c, def->scale);
		}
	}
}

static void write_node(struct writer *w, const struct doc *d, uint32_t n, const char *path)
{
	const struct metric_def *def = def_for(path);
	char name[128], help[192];
	struct metric_def derived;
	enum doc_type t = doc_type_of(d, n);

	/* An object below a group, of numbers, that no definition splits: one family, labelled. */
	bool labelled = t == DOC_OBJ && strchr(path, '.') && !defs_under(path) &&
			d->nodes[n].v.kids.first != DOC_NONE && is_number(d, d->nodes[n].v.kids.first);

	if (!def && (is_number(d, n) || labelled)) {
		derived = derive(path, d, n, name, sizeof(name), help, sizeof(help));
		def = &derived;
	}
	if (def && t == DOC_OBJ && def->label && !def->value) {
		write_labelled(w, def, d, n);
	} else if (def && is_number(d, n)) {
		header(w, def->name, def->type, def->help);
		fputs(def->name, w->out);
		if (def->label) {
			fputc('{', w->out);
			put_label(w->out, true, def->label, def->value, strlen(def->value));
			fputc('}', w->out);
		}
		put_value(w->out, d, n, def->scale);
	} else if (t == DOC_OBJ) {
		for (uint32_t c = d->nodes[n].v.kids.first; c != DOC_NONE; c = d->nodes[c].next) {
			char sub[160];
			size_t klen;
			const char *key = doc_key(d, c, &klen);
			snprintf(sub, sizeof(sub), "%s.%.*s", path, (int)klen, key);
			write_node(w, d, c, sub);
		}
	}
	/* strings and arrays: the capture group's are written by write_capture */
}

static void write_capture(struct writer *w, const struct doc *d, uint32_t capture)
{
	const char *backend = doc_path_str(d, capture, "backend");
	uint32_t ifs = doc_get(d, capture, "interfaces");
	uint32_t n_ifs = ifs != DOC_NONE && doc_type_of(d, ifs) == DOC_ARR ? d->nodes[ifs].v.kids.count : 0;

	header(w, "faultline_capture_info", GAUGE, "The capture backend (value 1).");
	fputs("faultline_capture_info{", w->out);
	put_label(w->out, true, "backend", backend ? backend : "", backend ? strlen(backend) : 0);
	fputs("} 1\n", w->out);
	header(w, "faultline_capture_interfaces", GAUGE, "Interfaces the capture is attached to.");
	fprintf(w->out, "faultline_capture_interfaces %u\n", n_ifs);
}

static void write_build_info(struct writer *w, const struct doc *d)
{
	struct utsname u;
	const char *backend = doc_path_str(d, DOC_ROOT, "capture.backend");

	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "unknown");
	if (!backend)
		backend = "";
	header(w, "faultline_build_info", GAUGE,
	       "The faultline version, the kernel it runs on and its capture backend (value 1).");
	fputs("faultline_build_info{", w->out);
	put_label(w->out, true, "version", FAULTLINE_VERSION, strlen(FAULTLINE_VERSION));
	put_label(w->out, false, "kernel", u.release, strlen(u.release));
	put_label(w->out, false, "backend", backend, strlen(backend));
	fputs("} 1\n", w->out);
}

/* process_* as the Prometheus client libraries export them, from /proc/self. */
static void write_process(struct writer *w)
{
	double ticks = (double)sysconf(_SC_CLK_TCK), page = (double)sysconf(_SC_PAGESIZE);
	unsigned long utime = 0, stime = 0, vsize = 0;
	unsigned long long start = 0;
	long rss = 0;
	double btime = 0;
	char buf[1024];
	FILE *f;

	if ((f = fopen("/proc/self/stat", "re"))) {
		/* After the ")" closing comm: state is field 3; utime 14, stime 15, starttime 22, vsize 23, rss 24. */
		if (fgets(buf, sizeof(buf), f)) {
			char *p = strrchr(buf, ')');
			if (p)
				sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d "
				       "%*d %*d %llu %lu %ld", &utime, &stime, &start, &vsize, &rss);
		}
		fclose(f);
	}
	if ((f = fopen("/proc/stat", "re"))) {
		while (fgets(buf, sizeof(buf), f))
			if (sscanf(buf, "btime %lf", &btime) == 1)
				break;
		fclose(f);
	}
	unsigned fds = 0;
	DIR *dir = opendir("/proc/self/fd");
	if (dir) {
		struct dirent *e;
		while ((e = readdir(dir)))
			fds += e->d_name[0] != '.';
		closedir(dir);
		fds--;   /* the directory's own */
	}
	struct rlimit rl = { 0 };
	getrlimit(RLIMIT_NOFILE, &rl);

	header(w, "process_cpu_seconds_total", COUNTER, "Total user and system CPU time spent in seconds.");
	fprintf(w->out, "process_cpu_seconds_total %.2f\n", (double)(utime + stime) / ticks);
	header(w, "process_resident_memory_bytes", GAUGE, "Resident memory size in bytes.");
	fprintf(w->out, "process_resident_memory_bytes %.0f\n", (double)rss * page);
	header(w, "process_virtual_memory_bytes", GAUGE, "Virtual memory size in bytes.");
	fprintf(w->out, "process_virtual_memory_bytes %lu\n", vsize);
	header(w, "process_open_fds", GAUGE, "Number of open file descriptors.");
	fprintf(w->out, "process_open_fds %u\n", fds);
	header(w, "process_max_fds", GAUGE, "Maximum number of open file descriptors.");
	fprintf(w->out, "process_max_fds %.0f\n", rl.rlim_cur == RLIM_INFINITY ? -1.0 : (double)rl.rlim_cur);
	header(w, "process_start_time_seconds", GAUGE,
	       "Start time of the process since unix epoch in seconds.");
	fprintf(w->out, "process_start_time_seconds %.2f\n", btime + (double)start / ticks);
}

void metrics_write(const struct doc *d, FILE *out)
{
	struct writer w = { .out = out };

	for (uint32_t g = d->nodes[DOC_ROOT].v.kids.first; g != DOC_NONE; g = d->nodes[g].next) {
		size_t glen;
		const char *gkey = doc_key(d, g, &glen);
		char path[64];
		snprintf(path, sizeof(path), "%.*s", (int)glen, gkey);
		if (strcmp(path, "capture") == 0 && doc_type_of(d, g) == DOC_OBJ)
			write_capture(&w, d, g);
		write_node(&w, d, g, path);
	}
	write_build_info(&w, d);
	write_process(&w);
}
