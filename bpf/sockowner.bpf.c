// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/*
 * Who owns a UDP socket (struct fl_sock_owner, proto IPPROTO_UDP), from
 * cgroup socket hooks attached to the cgroup v2 root, so they run in the task
 * that owns the socket:
 *
 *   cgroup/post_bind4/6   bind(): the bound local endpoint (FL_OWN_BIND)
 *   cgroup/sendmsg4/6     an unconnected send: the local endpoint it goes
 *                         out from (FL_OWN_BIND), once per socket
 *   cgroup/connect4/6     connect(): the task, kept by socket until its local
 *                         port is known (the first datagram leaves: tp_btf
 *                         net_dev_queue sends the 4-tuple, FL_OWN_CONNECT)
 *   cgroup/sock_release   the socket closes (FL_OWN_END) if it was announced
 *
 * Every hook allows what it sees (returns 1): it only watches.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "faultline.h"

#define AF_INET 2
#define AF_INET6 10

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18);
} udp_owner_events SEC(".maps");

/* Per socket (by address): its owner, its endpoint once known, and whether userspace was told. */
struct udp_owner {
	__u64 cgroup_id;
	__u32 pid, tid;
	char comm[16];
	__u16 family, sport, dport;   /* host order */
	__u8 announced;   /* 1: a BIND or CONNECT was sent; its close is sent too */
	__u8 connected;   /* connect()ed: the 4-tuple is sent with its first datagram */
	__u8 saddr[16], daddr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct udp_owner);
} udp_socks SEC(".maps");

static __always_inline void set_task(struct udp_owner *t)
{
	__u64 id = bpf_get_current_pid_tgid();

	t->pid = id >> 32;
	t->tid = (__u32)id;
	t->cgroup_id = bpf_get_current_cgroup_id();
	/* The process's name (its main thread's), as ps shows it: dig sends from a worker
	 * thread named isc-net-0000. */
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	if (!leader || bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), &leader->comm) < 0)
		bpf_get_current_comm(t->comm, sizeof(t->comm));
}

/* `w`'s endpoint as `kind`; its task unless FL_OWN_END. */
static __always_inline void emit(__u8 kind, const struct udp_owner *w, __u64 netns_cookie)
{
	struct fl_sock_owner *o = bpf_ringbuf_reserve(&udp_owner_events, sizeof(*o), 0);

	if (!o)
		return;
	__builtin_memset(o, 0, sizeof(*o));
	o->ts_ns = bpf_ktime_get_ns();
	o->kind = kind;
	o->proto = IPPROTO_UDP;
	o->netns_cookie = netns_cookie;
	o->family = w->family;
	o->sport = w->sport;
	o->dport = w->dport;
	__builtin_memcpy(o->saddr, w->saddr, 16);
	__builtin_memcpy(o->daddr, w->daddr, 16);
	if (kind != FL_OWN_END) {
		o->pid = w->pid;
		o->tid = w->tid;
		o->cgroup_id = w->cgroup_id;
		__builtin_memcpy(o->comm, w->comm, sizeof(o->comm));
	}
	bpf_ringbuf_submit(o, 0);
}

static __always_inline void announce(__u64 key, struct udp_owner *t, __u64 netns_cookie)
{
	set_task(t);
	t->announced = 1;
	bpf_map_update_elem(&udp_socks, &key, t, BPF_ANY);
	emit(FL_OWN_BIND, t, netns_cookie);
}

/* The socket's local end (address and port) into t. */
static __always_inline void local_end(struct udp_owner *t, const struct bpf_sock *sk, bool v6)
{
	t->sport = sk->src_port;
	if (v6) {
		__u32 *a = (__u32 *)t->saddr;

		t->family = AF_INET6;
		a[0] = sk->src_ip6[0];
		a[1] = sk->src_ip6[1];
		a[2] = sk->src_ip6[2];
		a[3] = sk->src_ip6[3];
	} else {
		t->family = AF_INET;
		*(__u32 *)t->saddr = sk->src_ip4;
	}
}

static __always_inline int on_bind(struct bpf_sock *sk, bool v6)
{
	struct udp_owner t = {};

	if (sk->protocol != IPPROTO_UDP)
		return 1;
	local_end(&t, sk, v6);
	announce((__u64)(long)sk, &t, bpf_get_netns_cookie(sk));
	return 1;
}

SEC("cgroup/post_bind4")
int fl_udp_bind4(struct bpf_sock *sk)
{
	return on_bind(sk, false);
}

SEC("cgroup/post_bind6")
int fl_udp_bind6(struct bpf_sock *sk)
{
	return on_bind(sk, true);
}

/* An unconnected send: the socket is bound now (autobind ran before this hook). */
static __always_inline int on_sendmsg(struct bpf_sock_addr *ctx, bool v6)
{
	struct bpf_sock *sk = ctx->sk;
	struct udp_owner *w, t = {};
	__u64 key;

	if (!sk || ctx->protocol != IPPROTO_UDP)
		return 1;
	key = (__u64)(long)sk;
	w = bpf_map_lookup_elem(&udp_socks, &key);
	if (w && w->announced && !w->connected)
		return 1;
	local_end(&t, sk, v6);
	announce(key, &t, bpf_get_netns_cookie(ctx));
	return 1;
}

SEC("cgroup/sendmsg4")
int fl_udp_send4(struct bpf_sock_addr *ctx)
{
	return on_sendmsg(ctx, false);
}

SEC("cgroup/sendmsg6")
int fl_udp_send6(struct bpf_sock_addr *ctx)
{
	return on_sendmsg(ctx, true);
}

/* connect(): the task now; the 4-tuple when its first datagram leaves. */
static __always_inline int on_connect(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct udp_owner *w, t = {};
	__u64 key;

	if (!sk || ctx->protocol != IPPROTO_UDP)
		return 1;
	key = (__u64)(long)sk;
	w = bpf_map_lookup_elem(&udp_socks, &key);
	if (w && w->announced)   /* what it was (bound) ends: its close is sent as before */
		emit(FL_OWN_END, w, bpf_get_netns_cookie(ctx));
	set_task(&t);
	t.connected = 1;
	bpf_map_update_elem(&udp_socks, &key, &t, BPF_ANY);
	return 1;
}

SEC("cgroup/connect4")
int fl_udp_conn4(struct bpf_sock_addr *ctx)
{
	return on_connect(ctx);
}

SEC("cgroup/connect6")
int fl_udp_conn6(struct bpf_sock_addr *ctx)
{
	return on_connect(ctx);
}

SEC("cgroup/sock_release")
int fl_udp_release(struct bpf_sock *sk)
{
	__u64 key = (__u64)(long)sk;
	struct udp_owner *w;

	if (sk->protocol != IPPROTO_UDP)
		return 1;
	w = bpf_map_lookup_elem(&udp_socks, &key);
	if (!w)
		return 1;
	if (w->announced)
		emit(FL_OWN_END, w, bpf_get_netns_cookie(sk));
	bpf_map_delete_elem(&udp_socks, &key);
	return 1;
}

/* A connected UDP socket's first datagram on its way out: its local port is known now. */
SEC("tp_btf/net_dev_queue")
int BPF_PROG(fl_udp_xmit, struct sk_buff *skb)
{
	const struct sock *sk = BPF_CORE_READ(skb, sk);
	struct udp_owner *w;
	__u64 key;

	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP)
		return 0;
	key = (__u64)(long)sk;
	w = bpf_map_lookup_elem(&udp_socks, &key);
	if (!w || !w->connected || w->announced)
		return 0;
	w->announced = 1;
	w->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	w->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	w->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (w->family == AF_INET6) {
		BPF_CORE_READ_INTO(&w->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&w->daddr, sk, __sk_common.skc_v6_daddr);
	} else {
		BPF_CORE_READ_INTO((__u32 *)w->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)w->daddr, sk, __sk_common.skc_daddr);
	}
	emit(FL_OWN_CONNECT, w, BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie));
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
