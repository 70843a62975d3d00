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
#include "skip.bpf.h"

#define TC_ACT_UNSPEC (-1)

/* Set by the loader between open and load. */
const volatile __u32 snaplen = 262144;
/* Wake the reader only once this much is waiting (the loader sets an eighth of the
 * per-CPU ring); it also drains on its timer. */
const volatile __u64 wakeup_bytes = 65536;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/*
 * Packet records: one ring buffer per CPU, so CPUs never contend for a
 * producer lock.  The loader sets max_entries to the CPU count, gives a
 * ring buffer as the inner map's template (bpf_map__set_inner_map_fd),
 * creates the rings (tap.ringBufferMb split between them) and puts CPU i's
 * at index i.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} rings SEC(".maps");

/* Each record is copied once, from the packet into its reservation (6.15+ kfuncs). */
extern int bpf_dynptr_from_skb(struct __sk_buff *skb, __u64 flags,
			       struct bpf_dynptr *ptr__uninit) __ksym;
extern int bpf_dynptr_from_xdp(struct xdp_md *xdp, __u64 flags,
			       struct bpf_dynptr *ptr__uninit) __ksym;
extern int bpf_dynptr_copy(struct bpf_dynptr *dst_ptr, __u32 dst_off,
			   struct bpf_dynptr *src_ptr, __u32 src_off, __u32 size) __ksym;

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

/*
 * Wake the reader once, when this record (rec_len bytes, already reserved,
 * so counted in AVAIL_DATA) takes what is waiting across wakeup_bytes.
 * Waking on every record above the mark cost an irq_work and a self-IPI
 * per packet whenever the reader lagged; the reader, once woken, drains
 * until the ring is empty (its epoll is level-triggered) and on its timer.
 */
static __always_inline __u64 wakeup_flags(void *ring, __u64 rec_len)
{
	__u64 avail = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA);
	__u64 rec = (rec_len + BPF_RINGBUF_HDR_SZ + 7) & ~7ull;

	return avail >= wakeup_bytes && avail - rec < wakeup_bytes ?
		BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/*
 * Write one record into this CPU's ring: the header, then caplen bytes
 * copied straight from the packet (src) into the reservation.  Readers are
 * woken when wakeup_bytes are waiting (wakeup_flags); userspace also drains
 * on its timer, so a quiet ring is never left behind.
 */
static __always_inline void emit(struct bpf_dynptr *src, __u64 len, __u64 caplen, __u32 ifindex,
				 __u8 direction, bool wake)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct bpf_dynptr rec;
	struct fl_ring_pkt *r;
	void *ring;

	ring = bpf_map_lookup_elem(&rings, &cpu);
	if (!ring) {
		count(FL_CNT_RING_DROPS);
		return;
	}
	if (bpf_ringbuf_reserve_dynptr(ring, sizeof(*r) + caplen, 0, &rec)) {
		bpf_ringbuf_discard_dynptr(&rec, 0);    /* the verifier wants it released */
		count(FL_CNT_RING_DROPS);
		return;
	}
	r = bpf_dynptr_data(&rec, 0, sizeof(*r));
	if (!r || bpf_dynptr_copy(&rec, sizeof(*r), src, 0, (__u32)caplen)) {
		bpf_ringbuf_discard_dynptr(&rec, 0);
		count(FL_CNT_PARSE_FAIL);
		return;
	}
	r->ts_ns = bpf_ktime_get_ns();
	r->ifindex = ifindex;
	r->len = (__u32)len;
	r->caplen = (__u32)caplen;
	r->direction = direction;
	r->pad[0] = r->pad[1] = r->pad[2] = 0;
	bpf_ringbuf_submit_dynptr(&rec, wake ? BPF_RB_FORCE_WAKEUP :
						 wakeup_flags(ring, sizeof(*r) + caplen));
}

static __always_inline void capture_skb(struct __sk_buff *skb, __u8 direction)
{
	struct bpf_dynptr src;
	struct skip_peek pk = {};
	__u64 caplen;

	count(FL_CNT_PACKETS);
	classify((void *)(long)skb->data, (void *)(long)skb->data_end);
	if (bpf_dynptr_from_skb(skb, 0, &src)) {
		count(FL_CNT_PARSE_FAIL);
		return;
	}
	caplen = clamp_snaplen(skip_caplen(&src, (void *)(long)skb->data,
					   (void *)(long)skb->data_end, skb->len, &pk));
	if (caplen == 0 || caplen > FL_SNAPLEN_MAX)
		return;
	emit(&src, skb->len, caplen, skb->ifindex, direction, skip_wake(&src, &pk));
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
	struct bpf_dynptr src;
	__u64 len = bpf_xdp_get_buff_len(ctx), caplen;
	struct skip_peek pk = {};

	count(FL_CNT_PACKETS);
	classify((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	if (bpf_dynptr_from_xdp(ctx, 0, &src)) {
		count(FL_CNT_PARSE_FAIL);
		return XDP_PASS;
	}
	caplen = clamp_snaplen(skip_caplen(&src, (void *)(long)ctx->data,
					   (void *)(long)ctx->data_end, len, &pk));
	if (caplen == 0 || caplen > FL_SNAPLEN_MAX)
		return XDP_PASS;
	emit(&src, len, caplen, ctx->ingress_ifindex, FL_DIR_INGRESS, skip_wake(&src, &pk));
	return XDP_PASS;
}

/* GPL-compatible (tracing programs and GPL-only helpers need it): the SPDX line above. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";
