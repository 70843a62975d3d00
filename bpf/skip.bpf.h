/* SPDX-License-Identifier: (MIT OR GPL-2.0-only) */
/*
 * Copy only what is judged: how many bytes of a packet the capture programs
 * copy.  Kept apart from capture.bpf.c, which calls skip_caplen() once per
 * packet before it reserves the record.
 *
 * - A TCP segment whose payload lies wholly inside a range userspace asked
 *   to skip (the `skips` map, struct fl_skip_val) is sent as headers only:
 *   the record's `len` stays the wire length, so userspace still sees its
 *   sequence space (holes and retransmissions inside the range are counted)
 *   and accounts the cut bytes as skipped.  A segment that straddles the
 *   range's end is copied whole.
 * - payload_bytes (tap.payloadBytes, 0: no limit) caps the TCP payload copied
 *   from any one segment, like a snaplen counted from the end of the headers.
 * - HTTP/1.x framing (skip_frame()): on a connection whose SYN-ACK it saw
 *   and whose every request so far came as one whole GET per segment, a
 *   response segment starting where the last GET's response must start
 *   (that GET's acknowledgment number, when the client had then received
 *   all the server sent) with a complete head of one plain Content-Length
 *   (no Transfer-Encoding, a status with a body) is copied up to the end of
 *   its head, and the body's range goes into `skips` at once: the reader's
 *   reaction time no longer costs copied body segments.  Anything else is
 *   left to userspace's requests.
 * - A packet whose headers are not in the linear area, or that is not TCP,
 *   is left to the snaplen.
 */
#ifndef FL_SKIP_BPF_H
#define FL_SKIP_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "faultline.h"
#include "parse.bpf.h"

/* Set by the loader between open and load. */
const volatile __u32 payload_bytes = 0;
const volatile __u32 skip_enabled = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_SKIP_MAX_ENTRIES);
	__type(key, struct fl_skip_key);
	__type(value, struct fl_skip_val);
} skips SEC(".maps");

/* HTTP framing's state per connection, keyed by the server's side (written here only). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_SKIP_MAX_ENTRIES);
	__type(key, struct fl_skip_key);
	__type(value, struct fl_frame_val);
} frames SEC(".maps");

static __always_inline void count(__u32 which);      /* capture.bpf.c */

/*
 * A copied full segment (more follows) whose payload skip_wake() looks at:
 * where the payload starts (0: none), and whether it is DNS's port.
 */
struct skip_peek {
	__u32 off;
	bool dns;
};

/* Does p[] (8 bytes at least) start an HTTP/1.x status line ("HTTP/1.")? */
static __always_inline bool http1_status(const __u8 *p)
{
	return p[0] == 'H' && p[1] == 'T' && p[2] == 'T' && p[3] == 'P' && p[4] == '/' && p[5] == '1' &&
	       p[6] == '.';
}

/*
 * Wake the reader now, not once wakeup_bytes wait, when the segment starts
 * an HTTP response ("HTTP/1.") or a long DNS-over-TCP message (port 53: its
 * length, then a header with one question; or a response's header alone, the
 * 2-byte length sent apart): the reader sees its head, and can ask for the
 * rest to be skipped, before it has gone by.  Read through the dynptr: the
 * payload of a segment TCP built is seldom in the linear area.
 */
static __always_inline bool skip_wake(struct bpf_dynptr *src, const struct skip_peek *pk)
{
	__u8 p[8];

	if (!pk->off || bpf_dynptr_read(p, sizeof(p), src, pk->off, 0))
		return false;
	if (http1_status(p))
		return true;
	return pk->dns && ((((__u32)p[0] << 8 | p[1]) >= FL_SKIP_DNS_LONG && p[6] == 0 && p[7] == 1) ||
			   ((p[2] & 0x80) && p[4] == 0 && p[5] == 1));
}

/*
 * The head scanner, one byte per bpf_loop() step: CRLF lines only, no
 * obs-fold, at most 100 fields (the HTTP dissector's limit), and of the
 * framing fields only Content-Length (plain digits, optional blanks around
 * them, at most once); Transfer-Encoding, a field line without a colon or
 * with blanks in its name, and anything else unusual stop it (not framed).
 */
struct head_scan {
	__u32 n;           /* bytes in buf */
	__u32 line;        /* where the current line starts */
	__u32 end;         /* the head's length, once found */
	__u64 cl;
	__u16 fields;
	__u8 prev;
	__u8 first;        /* in the start line */
	__u8 colon;        /* past the field name */
	__u8 cand;         /* the name may be: 1 content-length, 2 transfer-encoding */
	__u8 pos;          /* characters of it matched */
	__u8 inval;        /* in Content-Length's value */
	__u8 vstate;       /* 0 leading blanks, 1 digits, 2 trailing blanks */
	__u8 digits;
	__u8 ncl;
	__u8 bad;
};

/*
 * The head being framed, read out of the packet, and the scanner's state:
 * one per CPU, in a map so that the verifier does not follow every value
 * the state takes from one byte to the next.
 */
struct frame_scratch {
	__u8 buf[FL_FRAME_HEAD_MAX];
	struct head_scan h;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct frame_scratch);
} frame_buf SEC(".maps");

#define FRAME_MAX_FIELDS 100
#define FRAME_MAX_DIGITS 15

/* The lowercase names, 8 characters to a little-endian word (no .rodata strings). */
#define FRAME_W(a, b, c, d, e, f, g, h)                                                      \
	((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 |                 \
	 (__u64)(e) << 32 | (__u64)(f) << 40 | (__u64)(g) << 48 | (__u64)(h) << 56)

/* Character pos of "content-length" (14) or "transfer-encoding" (17). */
static __always_inline __u8 frame_name_char(__u8 cand, __u8 pos)
{
	__u64 w;

	if (cand == 1)
		w = pos < 8 ? FRAME_W('c', 'o', 'n', 't', 'e', 'n', 't', '-') :
			      FRAME_W('l', 'e', 'n', 'g', 't', 'h', 0, 0);
	else
		w = pos < 8 ? FRAME_W('t', 'r', 'a', 'n', 's', 'f', 'e', 'r') :
		    pos < 16 ? FRAME_W('-', 'e', 'n', 'c', 'o', 'd', 'i', 'n') :
			       FRAME_W('g', 0, 0, 0, 0, 0, 0, 0);
	return (__u8)(w >> ((pos & 7) * 8));
}

static __noinline long head_scan_byte(__u64 i, void *arg)
{
	__u32 zero = 0;
	struct frame_scratch *fs = bpf_map_lookup_elem(&frame_buf, &zero);
	struct head_scan *h;
	__u8 c, lc;

	(void)arg;
	if (!fs)
		return 1;
	h = &fs->h;
	if (i >= h->n)
		return 1;
	c = fs->buf[i & (FL_FRAME_HEAD_MAX - 1)];
	if (h->prev == '\r' && c != '\n')
		goto bad;
	h->prev = c;
	if (c == '\r')
		return 0;
	if (c == '\n') {
		if (i == 0 || fs->buf[(i - 1) & (FL_FRAME_HEAD_MAX - 1)] != '\r')
			goto bad;
		if (!h->first && i == h->line + 1) {
			h->end = (__u32)i + 1;           /* the empty line */
			return 1;
		}
		if (!h->first && (!h->colon || (h->inval && h->vstate == 0)))
			goto bad;
		h->first = 0;
		h->line = (__u32)i + 1;
		h->colon = h->cand = h->pos = h->inval = 0;
		return 0;
	}
	if (h->first)
		return 0;
	lc = c | 0x20;
	if (i == h->line) {
		if (c == ' ' || c == '\t' || ++h->fields > FRAME_MAX_FIELDS)
			goto bad;                         /* obs-fold, or too many fields */
		h->cand = lc == 'c' ? 1 : lc == 't' ? 2 : 0;
		h->pos = 1;
		return 0;
	}
	if (!h->colon) {
		if (c == ' ' || c == '\t')
			goto bad;
		if (c != ':') {
			if (h->cand && h->pos < (h->cand == 1 ? 14 : 17) &&
			    lc == frame_name_char(h->cand, h->pos))
				h->pos++;
			else
				h->cand = 0;
			return 0;
		}
		h->colon = 1;
		if (h->cand == 2 && h->pos == 17)
			goto bad;                         /* Transfer-Encoding */
		if (h->cand == 1 && h->pos == 14) {
			if (++h->ncl > 1)
				goto bad;
			h->inval = 1;
		}
		return 0;
	}
	if (!h->inval)
		return 0;
	if (c == ' ' || c == '\t') {
		if (h->vstate == 1)
			h->vstate = 2;
		return 0;
	}
	if (c < '0' || c > '9' || h->vstate == 2 || ++h->digits > FRAME_MAX_DIGITS)
		goto bad;
	h->vstate = 1;
	h->cl = h->cl * 10 + (c - '0');
	return 0;
bad:
	h->bad = 1;
	return 1;
}

/*
 * Scan the head at payload offset `off` (paylen bytes of payload): its
 * length (0: not a head skip_frame() may frame) and *cl its Content-Length
 * (0 when it has none).  p[] gets its first bytes.
 */
static __always_inline __u32 head_scan(struct bpf_dynptr *src, __u32 off, __u32 paylen,
				       __u8 p[16], __u64 *cl, bool *has_cl)
{
	__u32 zero = 0;
	__u64 n = paylen;
	struct frame_scratch *fs = bpf_map_lookup_elem(&frame_buf, &zero);

	if (!fs)
		return 0;
	asm volatile("if %[n] <= %[max] goto +1;"
		     "%[n] = %[max];"
		     : [n] "+r"(n)
		     : [max] "i"(FL_FRAME_HEAD_MAX));
	if (n < 16 || bpf_dynptr_read(fs->buf, (__u32)n, src, off, 0))
		return 0;
	__builtin_memset(&fs->h, 0, sizeof(fs->h));
	fs->h.n = (__u32)n;
	fs->h.first = 1;
	bpf_loop(FL_FRAME_HEAD_MAX, head_scan_byte, NULL, 0);
	if (fs->h.bad || !fs->h.end)
		return 0;
	__builtin_memcpy(p, fs->buf, 16);
	*cl = fs->h.cl;
	*has_cl = fs->h.ncl != 0;
	return fs->h.end;
}

static __always_inline void reverse_key(const struct fl_skip_key *k, struct fl_skip_key *r)
{
	__builtin_memcpy(r->saddr, k->daddr, 16);
	__builtin_memcpy(r->daddr, k->saddr, 16);
	r->sport = k->dport;
	r->dport = k->sport;
	r->family = k->family;
}

/*
 * HTTP/1.x framing, for a copied segment with payload at `off` (headers end
 * there): returns how much of the packet to copy.  See the top of the file.
 */
static __always_inline __u64 skip_frame(struct bpf_dynptr *src, struct fl_skip_key *key,
					const struct tcphdr *th, __u32 off, __u32 paylen,
					__u64 caplen)
{
	struct fl_skip_key rkey = {};
	struct fl_frame_val *fv;
	__u32 seq = bpf_ntohl(th->seq), ack = bpf_ntohl(th->ack_seq), n = 0;
	__u64 cl = 0;
	bool has_cl = false, server;
	__u8 p[16] = {};

	fv = bpf_map_lookup_elem(&frames, key);
	server = fv != NULL;
	if (fv) {
		/* The server's side: a response where the last GET's must start? */
		if ((__s32)(seq + paylen - fv->high) > 0)
			fv->high = seq + paylen;
		if (!fv->armed || fv->taint || seq != fv->arm)
			return caplen;
	} else {
		/* The client's side of a connection whose server side is known? */
		reverse_key(key, &rkey);
		fv = bpf_map_lookup_elem(&frames, &rkey);
		if (!fv || fv->taint)
			return caplen;
	}
	/* The start first: most segments are not what is looked for. */
	if (bpf_dynptr_read(p, 8, src, off, 0) ||
	    (server ? !http1_status(p) : p[0] != 'G' || p[1] != 'E' || p[2] != 'T' || p[3] != ' ')) {
		if (!server) {
			fv->taint = 1;
			fv->armed = 0;
		}
		return caplen;
	}
	n = head_scan(src, off, paylen, p, &cl, &has_cl);
	if (!server) {
		if (n != paylen || has_cl) {
			fv->taint = 1;         /* not one whole GET: no more framing here */
			fv->armed = 0;
		} else if (ack == fv->high) {
			fv->arm = ack;
			fv->armed = 1;
		} else {
			fv->armed = 0;         /* the client has not received all yet: pipelined */
		}
		return caplen;
	}
	if (!n || !has_cl || cl == 0 || cl > (1u << 30) || paylen - n > cl)
		return caplen;
	/* "HTTP/1.x SSS " (its start checked above) with a status whose response has a
	 * body (not 1xx, 204, 304). */
	if (p[7] < '0' || p[7] > '9' || p[8] != ' ' ||
	    p[9] < '2' || p[9] > '9' || p[10] < '0' || p[10] > '9' || p[11] < '0' ||
	    p[11] > '9' || (p[12] != ' ' && p[12] != '\r') ||
	    (p[10] == '0' && p[11] == '4' && (p[9] == '2' || p[9] == '3')))
		return caplen;
	if (paylen - n < cl) {
		struct fl_skip_val sv = { .from = seq + n, .to = seq + n + (__u32)cl };

		bpf_map_update_elem(&skips, key, &sv, BPF_ANY);
	}
	if ((__s32)(seq + n + (__u32)cl - fv->high) > 0)
		fv->high = seq + n + (__u32)cl;
	count(FL_CNT_HTTP_FRAMED);
	return caplen > (__u64)off + n ? (__u64)off + n : caplen;
}

/* A server segment skipped (headers only) that ends at `end`: the end of what it sent. */
static __always_inline void skip_frame_high(struct fl_skip_key *key, __u32 end)
{
	struct fl_frame_val *fv = bpf_map_lookup_elem(&frames, key);

	if (fv && (__s32)(end - fv->high) > 0)
		fv->high = end;
}

/*
 * A SYN-ACK starts the server side's framing state (its retransmission keeps
 * it); a SYN voids the one of the connection it replaces.
 */
static __always_inline void skip_syn(struct fl_skip_key *key, const struct tcphdr *th)
{
	struct fl_skip_key rkey = {};
	struct fl_frame_val *fv, nv = {};
	__u32 seq = bpf_ntohl(th->seq);

	if (!th->ack) {
		reverse_key(key, &rkey);
		bpf_map_delete_elem(&frames, &rkey);
		return;
	}
	fv = bpf_map_lookup_elem(&frames, key);
	if (fv && fv->isn == seq)
		return;
	nv.isn = seq;
	nv.high = seq + 1;
	bpf_map_update_elem(&frames, key, &nv, BPF_ANY);
}

/*
 * How many of the packet's `caplen` bytes to copy (never more); *pk says
 * where skip_wake() should look.
 */
static __always_inline __u64 skip_caplen(struct bpf_dynptr *src, void *data, void *data_end,
					 __u64 caplen, struct skip_peek *pk)
{
	struct cursor c = { .pos = data, .end = data_end };
	struct fl_skip_key key = {};
	struct fl_skip_val *v;
	struct tcphdr *th;
	__u32 ip_end, hdr_end, paylen, seq;
	int proto, l4;

	if (!skip_enabled && !payload_bytes)
		return caplen;
	proto = parse_ethernet(&c);
	if (proto == ETH_P_IP) {
		struct iphdr *ip = c.pos;

		if ((void *)(ip + 1) > data_end)
			return caplen;
		ip_end = (__u32)(c.pos - data) + bpf_ntohs(ip->tot_len);
		__builtin_memcpy(key.saddr, &ip->saddr, 4);
		__builtin_memcpy(key.daddr, &ip->daddr, 4);
		key.family = 4;
		l4 = parse_ipv4(&c);
	} else if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = c.pos;

		if ((void *)(ip6 + 1) > data_end)
			return caplen;
		ip_end = (__u32)(c.pos - data) + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		__builtin_memcpy(key.saddr, &ip6->saddr, 16);
		__builtin_memcpy(key.daddr, &ip6->daddr, 16);
		key.family = 6;
		l4 = parse_ipv6(&c);
	} else {
		return caplen;
	}
	if (l4 != IPPROTO_TCP)
		return caplen;
	th = c.pos;
	if ((void *)(th + 1) > data_end || th->doff < 5)
		return caplen;
	if (th->syn && skip_enabled) {
		/* A new connection on these addresses and ports: an old range is void. */
		key.sport = th->source;
		key.dport = th->dest;
		bpf_map_delete_elem(&skips, &key);
		skip_syn(&key, th);
		return caplen;
	}
	hdr_end = (__u32)(c.pos - data) + th->doff * 4;
	if (ip_end <= hdr_end)
		return caplen;                  /* no payload */
	paylen = ip_end - hdr_end;
	if (payload_bytes && caplen > (__u64)hdr_end + payload_bytes)
		caplen = (__u64)hdr_end + payload_bytes;
	if (!skip_enabled)
		return caplen;
	key.sport = th->source;
	key.dport = th->dest;
	v = bpf_map_lookup_elem(&skips, &key);
	if (v) {
		seq = bpf_ntohl(th->seq);
		if ((__s32)(seq - v->from) >= 0 &&
		    ((v->flags & FL_SKIP_ALL) || (__s32)(v->to - (seq + paylen)) >= 0)) {
			/* The range's last segment: what the server sent ends here. */
			if (!(v->flags & FL_SKIP_ALL) && seq + paylen == v->to)
				skip_frame_high(&key, v->to);
			return caplen > hdr_end ? hdr_end : caplen;
		}
	}
	{
		__u64 framed = skip_frame(src, &key, th, hdr_end, paylen, caplen);

		if (framed != caplen)
			return framed;
	}
	/* Copied: if it starts a message whose rest goes on past this full
	 * segment, the reader should see it now (a small one wakes nobody). */
	if (paylen >= 1200) {
		pk->off = hdr_end;
		pk->dns = th->source == bpf_htons(53) || th->dest == bpf_htons(53);
	}
	return caplen;
}

#endif
