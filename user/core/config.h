/* SPDX-License-Identifier: MIT */
/* Configuration keys, under Kubeshark's names (tap.*), set by --set or a YAML file. */
#ifndef FL_CONFIG_H
#define FL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct fl_config {
	uint64_t stream_timeout_ms;   /* tap.tcpStreamChannelTimeoutMs */
	uint32_t snaplen;             /* tap.snaplen */
	uint32_t max_flows;           /* tap.maxFlows */
	uint32_t reassembly_memcap_mb;/* tap.reassemblyMemcapMb */
	uint32_t ring_buffer_mb;      /* tap.ringBufferMb (eBPF ring buffer size) */
	uint32_t defrag_memcap_mb;    /* tap.defragMemcapMb: IP fragments held */
	uint32_t defrag_timeout_ms;   /* tap.defragTimeoutMs: how long a datagram may wait for its fragments */
	uint32_t memory_limit_mb;     /* tap.memoryLimitMb: the budget growing structures share; 0: none */
	uint32_t drops_report_unspecified; /* tap.drops.reportUnspecified: NOT_SPECIFIED drops get entries */
	uint32_t max_sockets;         /* tap.attribution.maxSockets: socket owners kept (capture) */
	char pod_log_dir[256];        /* tap.attribution.podLogDir: the kubelet's /var/log/pods */
	uint32_t max_names;           /* tap.attribution.maxNames: IP -> name entries (DNS, --names) */
	uint32_t skip_payload;        /* tap.skipPayload: eBPF copies headers only for body no dissector parses */
	uint32_t payload_bytes;       /* tap.payloadBytes: TCP payload copied per packet (eBPF); 0: up to the snaplen */
	uint32_t workers;             /* tap.workers: pipelines (threads); 0: one per CPU, less one on small machines */
};

void config_defaults(struct fl_config *cfg);
/* Apply "key=value".  Returns 0, or -EINVAL with a message in err. */
int config_set(struct fl_config *cfg, const char *assignment, char *err, size_t errlen);
/* Apply one key and its value text. */
int config_set_key(struct fl_config *cfg, const char *key, const char *value, char *err, size_t errlen);
/* Read keys from a YAML file (nested maps or dotted keys).  0 or -errno with err set. */
int config_load_yaml(struct fl_config *cfg, const char *path, char *err, size_t errlen);

#endif
