// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/*
 * The packet capture programs: tc clsact ingress and egress, and XDP for
 * ingress.  Each parses the headers to count TCP flags and ICMP classes,
 * then copies up to `snaplen` bytes of the packet into the ring buffer.
 * They never drop or change a packet: every tc path returns TC_ACT_UNSPEC,
 * which is "next" for tcx (the programs after ours, tcx and classic tc
 * filters, still run; TC_ACT_OK would end the hook there) and "no verdict" for
 * a classic filter; XDP returns XDP_PASS.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "faultline.h"
#include "parse.bpf.h"

#define TC_ACT_UNSPEC (-1)

/* Set by the loader between open and load. */
const volatile __u32 snaplen = 262144;
/* Wake the reader only once this much is waiting; it also drains on its timer. */
const volatile __u64 wakeup_bytes = 65536;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Packet records; the loader sizes it from tap.ringBufferMb. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
} packets SEC(".maps");

/*
 * One record buffer per CPU (indexed by CPU: a per-CPU array cannot hold
 * 256 KiB).  The loader sets max_entries to the CPU count and value_size to
 * the record header plus snaplen; key/value sizes rather than BTF types so
 * the value size can change.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct fl_ring_pkt) + FL_SNAPLEN_MAX);
} scratch SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);

	if (v)
		*v += 1;
}

static __always_inline void count_tcp(struct cursor *c)
{
	struct tcphdr *th = cursor_pull(c, sizeof(*th));

	if (!th) {
		count(FL_CNT_PARSE_FAIL);
		return;
	}
	if (th->syn)
		count(th->ack ? FL_CNT_TCP_SYNACK : FL_CNT_TCP_SYN);
	if (th->rst)
		count(FL_CNT_TCP_RST);
	if (th->fin)
		count(FL_CNT_TCP_FIN);
}

static __always_inline void count_icmp(struct cursor *c, bool v6)
{
	__u8 *type = cursor_pull(c, 4);
	__u32 which = FL_CNT_ICMP_OTHER;

	if (!type) {
		count(FL_CNT_PARSE_FAIL);
		return;
	}
	if (!v6) {
		switch (*type) {
		case ICMP_ECHOREPLY_: case ICMP_ECHO_:
			which = FL_CNT_ICMP_ECHO; break;
		case ICMP_DEST_UNREACH_:
			which = FL_CNT_ICMP_UNREACH; break;
		case ICMP_TIME_EXCEEDED_:
			which = FL_CNT_ICMP_TIME_EXCEEDED; break;
		case ICMP_SOURCE_QUENCH_: case ICMP_REDIRECT_: case ICMP_PARAMETERPROB_:
			which = FL_CNT_ICMP_OTHER_ERROR; break;
		}
	} else {
		switch (*type) {
		case ICMPV6_ECHO_REQUEST_: case ICMPV6_ECHO_REPLY_:
			which = FL_CNT_ICMP_ECHO; break;
		case ICMPV6_DEST_UNREACH_:
			which = FL_CNT_ICMP_UNREACH; break;
		case ICMPV6_TIME_EXCEED_:
			which = FL_CNT_ICMP_TIME_EXCEEDED; break;
		case ICMPV6_PKT_TOOBIG_: case ICMPV6_PARAMPROB_:
			which = FL_CNT_ICMP_OTHER_ERROR; break;
		}
	}
	count(which);
}

/* Parse what is in the linear area and count; a header that is not all there is a parse failure. */
static __always_inline void classify(void *data, void *data_end)
{
	struct cursor c = { .pos = data, .end = data_end };
	int proto, l4;

	proto = parse_ethernet(&c);
	if (proto < 0) {
		count(FL_CNT_PARSE_FAIL);
		return;
	}
	if (proto == ETH_P_IP)
		l4 = parse_ipv4(&c);
	else if (proto == ETH_P_IPV6)
		l4 = parse_ipv6(&c);
	else
		return;      /* ARP and friends: not ours to count */
	if (l4 == -1) {
		count(FL_CNT_PARSE_FAIL);
		return;
	}
	if (l4 == IPPROTO_TCP)
		count_tcp(&c);
	else if (l4 == IPPROTO_ICMP && proto == ETH_P_IP)
		count_icmp(&c, false);
	else if (l4 == IPPROTO_ICMPV6_ && proto == ETH_P_IPV6)
		count_icmp(&c, true);
}

/*
 * min(len, snaplen), written so the verifier sees the bound on the register
 * that is passed on: clang tends to compare a copy, and then the copy length
 * looks unbounded against a scratch buffer sized for snaplen.
 */
static __always_inline __u64 clamp_snaplen(__u64 len)
{
	__u64 max = snaplen;

	asm volatile("if %[len] <= %[max] goto +1;"
		     "%[len] = %[max];"
		     : [len] "+r"(len)
		     : [max] "r"(max));
	return len;
}

/* The scratch record of this CPU, or NULL. */
static __always_inline struct fl_ring_pkt *record(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&scratch, &cpu);
}

static __always_inline void submit(struct fl_ring_pkt *r, __u64 caplen)
{
	__u64 flags = bpf_ringbuf_query(&packets, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
		      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_output(&packets, r, sizeof(*r) + caplen, flags))
		count(FL_CNT_RING_DROPS);
}

static __always_inline void capture_skb(struct __sk_buff *skb, __u8 direction)
{
	struct fl_ring_pkt *r;
	__u64 caplen = skb->len;

	count(FL_CNT_PACKETS);
	classify((void *)(long)skb->data, (void *)(long)skb->data_end);

	r = record();
	if (!r) {
		count(FL_CNT_RING_DROPS);
		return;
	}
	caplen = clamp_snaplen(caplen);
	if (caplen == 0 || caplen > FL_SNAPLEN_MAX)
		return;
	if (bpf_skb_load_bytes(skb, 0, r + 1, caplen)) {
		count(FL_CNT_PARSE_FAIL);
		return;
	}
	r->ts_ns = bpf_ktime_get_ns();
	r->ifindex = skb->ifindex;
	r->len = skb->len;
	r->caplen = caplen;
	r->direction = direction;
	submit(r, caplen);
}

SEC("tc")
int fl_tc_ingress(struct __sk_buff *skb)
{
	capture_skb(skb, FL_DIR_INGRESS);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int fl_tc_egress(struct __sk_buff *skb)
{
	capture_skb(skb, FL_DIR_EGRESS);
	return TC_ACT_UNSPEC;
}

SEC("xdp")
int fl_xdp_ingress(struct xdp_md *ctx)
{
	struct fl_ring_pkt *r;
	__u64 len = bpf_xdp_get_buff_len(ctx), caplen = len;

	count(FL_CNT_PACKETS);
	classify((void *)(long)ctx->data, (void *)(long)ctx->data_end);

	r = record();
	if (!r) {
		count(FL_CNT_RING_DROPS);
		return XDP_PASS;
	}
	caplen = clamp_snaplen(caplen);
	if (caplen == 0 || caplen > FL_SNAPLEN_MAX)
		return XDP_PASS;
	if (bpf_xdp_load_bytes(ctx, 0, r + 1, caplen)) {
		count(FL_CNT_PARSE_FAIL);
		return XDP_PASS;
	}
	r->ts_ns = bpf_ktime_get_ns();
	r->ifindex = ctx->ingress_ifindex;
	r->len = len;
	r->caplen = caplen;
	r->direction = FL_DIR_INGRESS;
	submit(r, caplen);
	return XDP_PASS;
}

/* GPL-compatible (tracing programs and GPL-only helpers need it): the SPDX line above. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";
