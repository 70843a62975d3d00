// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/*
 * Why the host dropped a packet: skb:kfree_skb with its drop reason
 * (Linux 5.17+), aggregated per (flow, reason) in the `drops` LRU hash with a
 * count and the first and last time, so a flood of drops stays a few records
 * that userspace drains (user/source/kdrops.c).  Per-reason counters in
 * `reasons` are exact even when the LRU evicts.
 *
 * One tp_btf program and one classic tracepoint program; the loader enables
 * the classic one only when tp_btf fails to load.  The flow is read from the
 * packet's own IP header at skb->head + skb->network_header, the transport
 * header right after it (IPv4: ihl; IPv6: the fixed header, extension headers
 * are not walked), so it does not depend on transport_header being set on the
 * path that dropped it.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "faultline.h"
#include "own.bpf.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_ICMPV6 58

/* tap.drops.reportUnspecified: NOT_SPECIFIED drops get an aggregate too (always counted). */
const volatile bool report_unspecified = false;
/* Behave as on a kernel without the reason argument (FAULTLINE_DROPS=noreason, the tests). */
const volatile bool ignore_reason = false;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct fl_drop_key);
	__type(value, struct fl_drop_val);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_DROP_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_DCNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} dcounters SEC(".maps");

/* Errors reported to sockets (inet_sk_error_report), per socket flow: reason = the errno. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct fl_drop_key);
	__type(value, struct fl_drop_val);
} sockerrs SEC(".maps");

/*
 * The network namespaces (by inode) whose listeners userspace reads itself (sock_diag, every
 * listen drop per listener, user/source/nsdiag.h): overflows there are counted there, once.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FL_DIAG_NETNS_MAX);
	__type(key, __u32);
	__type(value, __u8);
} diag_netns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_ERRNOS);
	__type(key, __u32);
	__type(value, __u64);
} errnos SEC(".maps");

static __always_inline bool own_port(__u64 cookie, __u16 port)
{
	struct listen_key lk = { .netns_cookie = cookie, .port = port };

	return bpf_map_lookup_elem(&own_listeners, &lk) != NULL;
}

static __always_inline void count(void *map, __u32 which)
{
	__u64 *v = bpf_map_lookup_elem(map, &which);

	if (v)
		*v += 1;
}

/* The 5-tuple from the packet's headers; leaves the key at protocol-only when it cannot. */
static __always_inline void read_flow(struct sk_buff *skb, struct fl_drop_key *k)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	unsigned char *l4;
	__u8 l4proto;

	if (!head)
		return;
	if (k->l3proto == ETH_P_IP) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh) < 0 || ip.version != 4 ||
		    ip.ihl < 5)
			return;
		k->family = 4;
		__builtin_memcpy(k->saddr, &ip.saddr, 4);
		__builtin_memcpy(k->daddr, &ip.daddr, 4);
		l4proto = ip.protocol;
		k->l4proto = l4proto;
		if (bpf_ntohs(ip.frag_off) & 0x1fff)
			return;   /* a later fragment: no transport header */
		l4 = head + nh + ip.ihl * 4;
	} else if (k->l3proto == ETH_P_IPV6) {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh) < 0 || ip6.version != 6)
			return;
		k->family = 6;
		__builtin_memcpy(k->saddr, &ip6.saddr, 16);
		__builtin_memcpy(k->daddr, &ip6.daddr, 16);
		l4proto = ip6.nexthdr;
		k->l4proto = l4proto;
		l4 = head + nh + sizeof(ip6);
	} else {
		return;
	}

	if (l4proto == IPPROTO_TCP || l4proto == IPPROTO_UDP) {
		__be16 ports[2];

		if (bpf_probe_read_kernel(ports, sizeof(ports), l4) == 0) {
			k->sport = bpf_ntohs(ports[0]);
			k->dport = bpf_ntohs(ports[1]);
		}
	} else if (l4proto == IPPROTO_ICMP || l4proto == IPPROTO_ICMPV6) {
		__u8 icmp[6];

		if (bpf_probe_read_kernel(icmp, sizeof(icmp), l4) == 0) {
			bool echo = l4proto == IPPROTO_ICMP ? (icmp[0] == 8 || icmp[0] == 0)
							    : (icmp[0] == 128 || icmp[0] == 129);
			/* Echo: the identifier on both sides, as the flow table keys echo pairs. */
			if (echo)
				k->sport = k->dport = (__u16)(icmp[4] << 8 | icmp[5]);
		}
	}
}

static __always_inline void on_drop(struct sk_buff *skb, __u64 location, __u32 reason)
{
	struct fl_drop_key k = {};
	struct fl_drop_val *v, nv = {};
	struct net_device *dev;
	__u64 now;

	if (reason != FL_DROP_NO_REASON) {
		if (reason == SKB_NOT_DROPPED_YET)
			return;
		if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) &&
		    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
			return;
		count(&dcounters, FL_DCNT_TOTAL);
		count(&reasons, reason < FL_DROP_REASONS - 1 ? reason : FL_DROP_REASONS - 1);
		if (!report_unspecified &&
		    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED))
			return;
	} else {
		count(&dcounters, FL_DCNT_TOTAL);
		count(&dcounters, FL_DCNT_NO_REASON);
	}

	k.reason = reason;
	k.l3proto = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	dev = BPF_CORE_READ(skb, dev);
	struct net *net = NULL;
	if (dev) {
		k.ifindex = BPF_CORE_READ(dev, ifindex);
		net = BPF_CORE_READ(dev, nd_net.net);
	} else {
		struct sock *sk = BPF_CORE_READ(skb, sk);

		k.ifindex = BPF_CORE_READ(skb, skb_iif);
		if (sk)
			net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
	}
	if (net)
		k.netns_ino = BPF_CORE_READ(net, ns.inum);
	read_flow(skb, &k);
	/*
	 * The handshake's last ACK finding the accept queue full: a listen overflow, one
	 * aggregate per listener (the client's end left out), unless userspace reads the
	 * listeners of this namespace itself.
	 */
	if (reason != FL_DROP_NO_REASON &&
	    bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW)) {
		__u32 ino = (__u32)k.netns_ino;

		if (ino && bpf_map_lookup_elem(&diag_netns, &ino))
			return;
		count(&dcounters, FL_DCNT_LISTEN_OVERFLOW);
		__builtin_memset(k.saddr, 0, sizeof(k.saddr));
		k.sport = 0;
	}
	if (net && k.l4proto == IPPROTO_TCP) {
		__u64 cookie = BPF_CORE_READ(net, net_cookie);

		if (own_port(cookie, k.sport) || own_port(cookie, k.dport))
			return;
	}

	now = bpf_ktime_get_ns();
	v = bpf_map_lookup_elem(&drops, &k);
	if (v) {
		__sync_fetch_and_add(&v->count, 1);
		v->last_ns = now;
		v->location = location;
		return;
	}
	nv.count = 1;
	nv.first_ns = nv.last_ns = now;
	nv.location = location;
	/* Two CPUs may both insert: the later one wins, its count of 1 loses the other's (rare). */
	if (bpf_map_update_elem(&drops, &k, &nv, BPF_NOEXIST) < 0) {
		v = bpf_map_lookup_elem(&drops, &k);
		if (v)
			__sync_fetch_and_add(&v->count, 1);
		else
			count(&dcounters, FL_DCNT_MAP_FULL);
	}
}

/* kfree_skb(skb, location, reason, rx_sk): ctx[] holds the arguments. */
SEC("tp_btf/kfree_skb")
int fl_kfree_skb_btf(__u64 *ctx)
{
	__u32 reason = FL_DROP_NO_REASON;

	/* A kernel without the reason (before 5.17) has no such enum: the branch is dropped. */
	if (!ignore_reason &&
	    bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED))
		reason = (__u32)ctx[2];
	on_drop((struct sk_buff *)ctx[0], ctx[1], reason);
	return 0;
}

SEC("tracepoint/skb/kfree_skb")
int fl_kfree_skb_tp(struct trace_event_raw_kfree_skb *ctx)
{
	__u32 reason = FL_DROP_NO_REASON;

	if (!ignore_reason && bpf_core_field_exists(ctx->reason))
		reason = BPF_CORE_READ(ctx, reason);
	on_drop((struct sk_buff *)ctx->skbaddr, (__u64)(long)ctx->location, reason);
	return 0;
}

/* ---- socket trouble: retransmissions, errors reported to the application, listen overflows ---- */

SEC("tp_btf/tcp_retransmit_skb")
int fl_retrans_btf(__u64 *ctx)
{
	const struct sock *sk = (const struct sock *)ctx[0];

	count(&dcounters, FL_DCNT_RETRANS);
	if (sk && BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_SYN_SENT)
		count(&dcounters, FL_DCNT_SYN_RETRANS);
	return 0;
}

/* The error the application gets (sk->sk_err: ETIMEDOUT, ECONNREFUSED, ...), per socket. */
SEC("tp_btf/inet_sk_error_report")
int fl_skerr_btf(__u64 *ctx)
{
	const struct sock *sk = (const struct sock *)ctx[0];
	struct fl_drop_key k = {};
	struct fl_drop_val *v, nv = {};
	__u64 now = bpf_ktime_get_ns();
	int err;

	if (!sk)
		return 0;
	err = BPF_CORE_READ(sk, sk_err);
	if (err <= 0)
		return 0;
	count(&errnos, err < FL_ERRNOS ? (__u32)err : FL_ERRNOS - 1);
	k.reason = (__u32)err;
	k.l4proto = BPF_CORE_READ(sk, sk_protocol);
	k.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	k.dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (BPF_CORE_READ(sk, __sk_common.skc_family) == 10) {
		k.family = 6;
		k.l3proto = ETH_P_IPV6;
		BPF_CORE_READ_INTO(&k.saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&k.daddr, sk, __sk_common.skc_v6_daddr);
	} else {
		k.family = 4;
		k.l3proto = ETH_P_IP;
		BPF_CORE_READ_INTO((__u32 *)k.saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)k.daddr, sk, __sk_common.skc_daddr);
	}
	k.netns_ino = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	v = bpf_map_lookup_elem(&sockerrs, &k);
	if (v) {
		__sync_fetch_and_add(&v->count, 1);
		v->last_ns = now;
		return 0;
	}
	nv.count = 1;
	nv.first_ns = nv.last_ns = now;
	bpf_map_update_elem(&sockerrs, &k, &nv, BPF_ANY);
	return 0;
}

/*
 * A SYN reaching a listener whose accept queue is full (sk_acceptq_is_full): the kernel
 * consumes it without a drop reason, so the listener's backlog says it.  A kprobe (fentry is
 * refused on some kernels); optional: the loader runs without it where it cannot attach.
 */
SEC("kprobe/tcp_conn_request")
int BPF_KPROBE(fl_listen_ovf, void *rsk_ops, void *af_ops, struct sock *sk)
{
	if (sk && BPF_CORE_READ(sk, sk_ack_backlog) > BPF_CORE_READ(sk, sk_max_ack_backlog))
		count(&dcounters, FL_DCNT_LISTEN_OVERFLOW);
	return 0;
}

/* GPL-compatible (tracing programs and GPL-only helpers need it): the SPDX line above. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";
