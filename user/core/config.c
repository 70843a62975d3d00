// SPDX-License-Identifier: MIT
#include "core/config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void config_defaults(struct fl_config *cfg)
{
	*cfg = (struct fl_config){
		.stream_timeout_ms = 10000,
		.snaplen = 262144,
		.max_flows = 1000000,
		.reassembly_memcap_mb = 256,
		.ring_buffer_mb = 64,   /* SPEC; bench/README.md: 8 MB halves the BPF cost, holds 1/8 the burst */
		.defrag_memcap_mb = 32,
		.defrag_timeout_ms = 30000,
		/* The DaemonSet's limit is 512Mi: 384 leaves room for the 64 MB BPF rings, the
		 * binary, libraries and stacks. */
		.memory_limit_mb = 384,
		.max_names = 65536,
		.max_sockets = 65536,
		.pod_log_dir = "/var/log/pods",
		.skip_payload = 1,
	};
}

struct config_key {
	const char *name;
	size_t offset;
	size_t size;              /* 4 or 8 */
	uint64_t min, max;
};

#define KEY(name, field, lo, hi) \
	{ name, offsetof(struct fl_config, field), sizeof(((struct fl_config *)0)->field), lo, hi }

static const struct config_key config_keys[] = {
	KEY("tap.tcpStreamChannelTimeoutMs", stream_timeout_ms, 1, 86400000),
	/* Kubeshark's current Helm spelling of the same key. */
	KEY("tap.misc.tcpStreamChannelTimeoutMs", stream_timeout_ms, 1, 86400000),
	KEY("tap.snaplen", snaplen, 64, 262144),
	KEY("tap.maxFlows", max_flows, 16, 100000000),
	KEY("tap.reassemblyMemcapMb", reassembly_memcap_mb, 1, 65536),
	KEY("tap.ringBufferMb", ring_buffer_mb, 1, 4096),
	KEY("tap.defragMemcapMb", defrag_memcap_mb, 1, 65536),
	KEY("tap.defragTimeoutMs", defrag_timeout_ms, 1, 3600000),
	KEY("tap.memoryLimitMb", memory_limit_mb, 0, 1048576),
	KEY("tap.drops.reportUnspecified", drops_report_unspecified, 0, 1),
	KEY("tap.attribution.maxNames", max_names, 1, 10000000),
	KEY("tap.attribution.maxSockets", max_sockets, 4, 10000000),
	KEY("tap.skipPayload", skip_payload, 0, 1),
	KEY("tap.payloadBytes", payload_bytes, 0, 262144),
	KEY("tap.workers", workers, 0, 64),
};

int config_set_key(struct fl_config *cfg, const char *key, const char *value, char *err,
		   size_t errlen)
{
	/* The one text key: a directory. */
	if (strcmp(key, "tap.attribution.podLogDir") == 0) {
		if (!*value || strlen(value) >= sizeof(cfg->pod_log_dir)) {
			snprintf(err, errlen, "%s: a directory path of 1 to %zu bytes, got '%s'", key,
				 sizeof(cfg->pod_log_dir) - 1, value);
			return -EINVAL;
		}
		snprintf(cfg->pod_log_dir, sizeof(cfg->pod_log_dir), "%s", value);
		return 0;
	}
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
		const struct config_key *k = &config_keys[i];
		if (strcmp(k->name, key) != 0)
			continue;
		char *end;
		errno = 0;
		/* A switch (0 to 1) also takes true/false, as YAML writes it. */
		if (k->max == 1 && (!strcmp(value, "true") || !strcmp(value, "false")))
			value = value[0] == 't' ? "1" : "0";
		unsigned long long v = strtoull(value, &end, 10);
		if (errno || end == value || *end || value[0] == '-' || v < k->min || v > k->max) {
			snprintf(err, errlen, "%s: '%s' is not a whole number from %" PRIu64
				 " to %" PRIu64, key, value, k->min, k->max);
			return -EINVAL;
		}
		char *field = (char *)cfg + k->offset;
		if (k->size == sizeof(uint64_t))
			*(uint64_t *)field = v;
		else
			*(uint32_t *)field = (uint32_t)v;
		return 0;
	}
	snprintf(err, errlen, "unknown configuration key '%s' (known: tap.tcpStreamChannelTimeoutMs "
		 "(or tap.misc.tcpStreamChannelTimeoutMs), "
		 "tap.snaplen, tap.maxFlows, tap.reassemblyMemcapMb, tap.ringBufferMb, "
		 "tap.defragMemcapMb, tap.defragTimeoutMs, tap.memoryLimitMb, "
		 "tap.drops.reportUnspecified, tap.attribution.maxNames, tap.attribution.maxSockets, "
		 "tap.attribution.podLogDir, tap.skipPayload, tap.payloadBytes)", key);
	return -EINVAL;
}

int config_set(struct fl_config *cfg, const char *assignment, char *err, size_t errlen)
{
	const char *eq = strchr(assignment, '=');
	char key[128];
	if (!eq || eq == assignment || (size_t)(eq - assignment) >= sizeof(key)) {
		snprintf(err, errlen, "--set takes KEY=VALUE, got '%s'", assignment);
		return -EINVAL;
	}
	memcpy(key, assignment, (size_t)(eq - assignment));
	key[eq - assignment] = '\0';
	return config_set_key(cfg, key, eq + 1, err, errlen);
}

/* The anchor (&name) an event defines, or NULL. */
static const char *yaml_event_anchor(const yaml_event_t *ev)
{
	const yaml_char_t *a = NULL;

	if (ev->type == YAML_SCALAR_EVENT)
		a = ev->data.scalar.anchor;
	else if (ev->type == YAML_MAPPING_START_EVENT)
		a = ev->data.mapping_start.anchor;
	else if (ev->type == YAML_SEQUENCE_START_EVENT)
		a = ev->data.sequence_start.anchor;
	return (const char *)a;
}

/* Walk the YAML events keeping the path of mapping keys, e.g. "tap.snaplen". */
int config_load_yaml(struct fl_config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	yaml_parser_t parser;
	yaml_event_t ev;
	char keys[8][128];      /* the key at each mapping depth */
	bool want_key[8] = { 0 };
	int depth = -1, rc = 0;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	for (bool done = false; !done && rc == 0;) {
		if (!yaml_parser_parse(&parser, &ev)) {
			snprintf(err, errlen, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
				 parser.problem_mark.column + 1,
				 parser.problem ? parser.problem : "YAML syntax error");
			rc = -EINVAL;
			break;
		}
		/* An alias would stand for a whole value or key: taken as nothing, it shifts the keys after it. */
		if (ev.type == YAML_ALIAS_EVENT || yaml_event_anchor(&ev)) {
			snprintf(err, errlen, "%s:%zu:%zu: YAML %s ('%c%s') are not supported in a "
				 "configuration file; write the value out", path,
				 ev.start_mark.line + 1, ev.start_mark.column + 1,
				 ev.type == YAML_ALIAS_EVENT ? "aliases" : "anchors",
				 ev.type == YAML_ALIAS_EVENT ? '*' : '&',
				 ev.type == YAML_ALIAS_EVENT ? (const char *)ev.data.alias.anchor :
							      yaml_event_anchor(&ev));
			rc = -EINVAL;
			yaml_event_delete(&ev);
			break;
		}
		switch (ev.type) {
		case YAML_MAPPING_START_EVENT:
			if (++depth >= 8) {
				snprintf(err, errlen, "%s: nested too deep", path);
				rc = -EINVAL;
			} else {
				want_key[depth] = true;
			}
			break;
		case YAML_MAPPING_END_EVENT:
			if (--depth >= 0)
				want_key[depth] = true;
			break;
		case YAML_SEQUENCE_START_EVENT:
			snprintf(err, errlen, "%s:%zu: lists are not configuration values", path,
				 ev.start_mark.line + 1);
			rc = -EINVAL;
			break;
		case YAML_SCALAR_EVENT: {
			const char *text = (const char *)ev.data.scalar.value;
			if (depth < 0)
				break;
			if (want_key[depth]) {
				snprintf(keys[depth], sizeof(keys[depth]), "%s", text);
				want_key[depth] = false;
				break;
			}
			char full[512] = "";
			for (int i = 0; i <= depth; i++) {
				size_t used = strlen(full);
				snprintf(full + used, sizeof(full) - used, "%s%s", i ? "." : "", keys[i]);
			}
			char msg[384];
			if (config_set_key(cfg, full, text, msg, sizeof(msg)) < 0) {
				snprintf(err, errlen, "%s:%zu: %s", path, ev.start_mark.line + 1, msg);
				rc = -EINVAL;
			}
			want_key[depth] = true;
			break;
		}
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}
