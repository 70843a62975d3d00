// SPDX-License-Identifier: MIT
#include "source/pktfilter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_arp.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline.h"

#define PKT_FILTER_MAX_LINKTYPES 8

struct compiled {
	uint32_t linktype;
	bool ok;                      /* false: it did not compile for this link type */
	struct bpf_program prog;
};

struct pkt_filter {
	char *expr;
	uint32_t snaplen;
	struct packet_sink next;
	struct compiled progs[PKT_FILTER_MAX_LINKTYPES];
	unsigned n_progs;
	int last;                     /* index of the program used last */
	uint64_t rejected;
	struct sock_filter *kernel;   /* pkt_filter_kernel's program */
};

char *pkt_filter_join(char **words, int n)
{
	size_t len = 1;
	char *s;

	if (n <= 0)
		return NULL;
	for (int i = 0; i < n; i++)
		len += strlen(words[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, words[i]);
	}
	return s;
}

struct pkt_filter *pkt_filter_new(const char *expr, uint32_t snaplen)
{
	struct pkt_filter *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->expr = strdup(expr);
	if (!f->expr) {
		free(f);
		return NULL;
	}
	f->snaplen = snaplen;
	f->last = -1;
	return f;
}

void pkt_filter_set_next(struct pkt_filter *f, struct packet_sink next)
{
	f->next = next;
}

static struct compiled *compile(struct pkt_filter *f, uint32_t linktype, char *err, size_t errlen)
{
	for (unsigned i = 0; i < f->n_progs; i++)
		if (f->progs[i].linktype == linktype)
			return &f->progs[i];
	if (f->n_progs == PKT_FILTER_MAX_LINKTYPES) {
		snprintf(err, errlen, "too many link types");
		return NULL;
	}
	struct compiled *c = &f->progs[f->n_progs];
	pcap_t *dead = pcap_open_dead((int)linktype, (int)f->snaplen);
	if (!dead) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	*c = (struct compiled){ .linktype = linktype };
	c->ok = pcap_compile(dead, &c->prog, f->expr, 1, PCAP_NETMASK_UNKNOWN) == 0;
	if (!c->ok)
		snprintf(err, errlen, "%s", pcap_geterr(dead));
	pcap_close(dead);
	f->n_progs++;
	return c;
}

int pkt_filter_compile(struct pkt_filter *f, uint32_t linktype, char *err, size_t errlen)
{
	struct compiled *c = compile(f, linktype, err, errlen);

	if (c && !c->ok) {
		/* Compiled once more for the message (the first call's is the one kept). */
		pcap_t *dead = pcap_open_dead((int)linktype, (int)f->snaplen);
		struct bpf_program p;
		if (dead && pcap_compile(dead, &p, f->expr, 1, PCAP_NETMASK_UNKNOWN) < 0)
			snprintf(err, errlen, "%s", pcap_geterr(dead));
		if (dead)
			pcap_close(dead);
	}
	return c && c->ok ? 0 : -1;
}

static bool matches(struct pkt_filter *f, uint32_t linktype, const uint8_t *data, uint32_t caplen,
		    uint32_t len)
{
	struct compiled *c;

	if (f->last >= 0 && f->progs[f->last].linktype == linktype) {
		c = &f->progs[f->last];
	} else {
		char err[PCAP_ERRBUF_SIZE];
		/* A link type not met before: compiled once (not per packet). */
		c = compile(f, linktype, err, sizeof(err));
		if (!c)
			return false;
		f->last = (int)(c - f->progs);
	}
	return c->ok && bpf_filter(c->prog.bf_insns, data, len, caplen) != 0;
}

static void filter_packet(void *ctx, const struct fl_packet *pkt)
{
	struct pkt_filter *f = ctx;

	if (matches(f, pkt->linktype, pkt->data, pkt->caplen, pkt->len))
		f->next.packet(f->next.ctx, pkt);
	else
		f->rejected++;
}

/* A socket event as the TCP header it stands for, from the local to the remote end (raw IP). */
static void filter_sock_event(void *ctx, const struct fl_sock_event *ev, uint64_t ts_ns)
{
	struct pkt_filter *f = ctx;
	uint8_t p[60] = { 0 };
	uint32_t n;
	uint8_t *tcp;

	if (ev->family == AF_INET6) {
		p[0] = 0x60;
		p[4] = 0;
		p[5] = 20;            /* payload length: the TCP header */
		p[6] = 6;             /* next header: TCP */
		p[7] = 64;
		memcpy(p + 8, ev->saddr, 16);
		memcpy(p + 24, ev->daddr, 16);
		tcp = p + 40;
		n = 60;
	} else {
		p[0] = 0x45;
		p[3] = 40;            /* total length */
		p[8] = 64;
		p[9] = 6;
		memcpy(p + 12, ev->saddr, 4);
		memcpy(p + 16, ev->daddr, 4);
		tcp = p + 20;
		n = 40;
	}
	tcp[0] = (uint8_t)(ev->sport >> 8);
	tcp[1] = (uint8_t)ev->sport;
	tcp[2] = (uint8_t)(ev->dport >> 8);
	tcp[3] = (uint8_t)ev->dport;
	tcp[12] = 5 << 4;
	tcp[13] = 0x10;               /* ACK */
	if (matches(f, FL_LINK_RAW, p, n, n))
		f->next.sock_event(f->next.ctx, ev, ts_ns);
}

struct packet_sink pkt_filter_sink(struct pkt_filter *f)
{
	return (struct packet_sink){ .packet = filter_packet, .sock_event = filter_sock_event, .ctx = f };
}

int pkt_filter_kernel(struct pkt_filter *f, const void **insns, unsigned *len, char *err,
		      size_t errlen)
{
	struct compiled *eth = compile(f, FL_LINK_ETHERNET, err, errlen);
	if (!eth || !eth->ok)
		return -1;
	struct compiled *raw = compile(f, FL_LINK_RAW, err, errlen);
	if (!raw)
		return -1;
	/* An expression only Ethernet has (e.g. "ether host ..."): raw IP devices take nothing. */
	struct sock_filter reject = BPF_STMT(BPF_RET | BPF_K, 0);
	const struct sock_filter *eth_i = (const struct sock_filter *)eth->prog.bf_insns;
	const struct sock_filter *raw_i = raw->ok ? (const struct sock_filter *)raw->prog.bf_insns :
						    &reject;
	unsigned n_eth = eth->prog.bf_len, n_raw = raw->ok ? raw->prog.bf_len : 1;
	unsigned total = 3 + n_eth + n_raw;

	if (total > BPF_MAXINSNS) {
		snprintf(err, errlen, "the filter compiles to %u instructions, more than the kernel's %u",
			 total, BPF_MAXINSNS);
		return -1;
	}
	free(f->kernel);
	f->kernel = calloc(total, sizeof(*f->kernel));
	if (!f->kernel) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* A = the device's ARPHRD_*; raw IP devices jump past the Ethernet program. */
	f->kernel[0] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_HATYPE);
	f->kernel[1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARPHRD_NONE, 0, 1);
	f->kernel[2] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, n_eth, 0, 0);
	/* Each program ends in returns, and its jumps are relative: they stay valid where they land. */
	memcpy(f->kernel + 3, eth_i, n_eth * sizeof(*f->kernel));
	memcpy(f->kernel + 3 + n_eth, raw_i, n_raw * sizeof(*f->kernel));
	*insns = f->kernel;
	*len = total;
	return 0;
}

uint64_t pkt_filter_rejected(const struct pkt_filter *f)
{
	return f->rejected;
}

void pkt_filter_free(struct pkt_filter *f)
{
	if (!f)
		return;
	for (unsigned i = 0; i < f->n_progs; i++)
		if (f->progs[i].ok)
			pcap_freecode(&f->progs[i].prog);
	free(f->kernel);
	free(f->expr);
	free(f);
}
