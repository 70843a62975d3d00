// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/*
 * TCP socket state from the kernel's tracepoints: connects that failed
 * (SYN_SENT -> CLOSE), sockets in CLOSE_WAIT and LAST_ACK, and resets.
 * Counts them in `kcounters` (the stats "kernel" object, which does not
 * depend on packets being captured) and reports each as a struct
 * fl_sock_event for the pipeline to corroborate its packet view.
 *
 * Each tracepoint has a tp_btf program and a classic tracepoint program; the
 * loader enables the classic ones only when the tp_btf ones fail to load.
 * Both read the socket through BPF_CORE_READ, so they share one body.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "faultline.h"
#include "own.bpf.h"

#define AF_INET 2
#define AF_INET6 10
/* TCP states: the kernel's own enum (TCP_SYN_SENT, TCP_CLOSE_WAIT, ...) from vmlinux.h. */

/* tap.tcpStreamChannelTimeoutMs in ns: how long CLOSE_WAIT / LAST_ACK may last. */
const volatile __u64 wait_ns = 10000000000ull;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_KCNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} kcounters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} sock_events SEC(".maps");

/* Socket owners (struct fl_sock_owner): a ring of their own, which userspace reads
 * before each packet, so an owner is known before the packets of its socket. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18);
} owner_events SEC(".maps");

/* The task that connect()ed, by socket address, from CLOSE -> SYN_SENT (in that task)
 * until the local port is known (the SYN goes out, or the connect ends). */
struct owner_task {
	__u64 cgroup_id;
	__u32 pid, tid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct owner_task);
} connecting SEC(".maps");

/*
 * Which end opened each socket, by socket address: connect() (CLOSE -> SYN_SENT) makes the
 * local end the client, a child of a listener (LISTEN -> SYN_RECV) the remote one.  Deleted
 * when the socket closes; a socket older than the programs has none (userspace guesses).
 */
struct sock_role {
	__u64 since_ns;    /* CLOSE -> SYN_SENT: when the connect began */
	__u8 initiator;    /* enum fl_sock_initiator */
	__u8 own;          /* faultline's own socket: never counted nor reported */
	__u8 pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct sock_role);
} roles SEC(".maps");

/*
 * faultline's own process: its tgid as seen in its pid namespace (whose device and inode
 * these are), so that it is recognised inside a container too.  0: nothing is its own.
 */
const volatile __u32 self_tgid = 0;
const volatile __u64 self_pidns_dev = 0;
const volatile __u64 self_pidns_ino = 0;

/* Resets by state (FL_RST_STATES sent, then as many received). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * FL_RST_STATES);
	__type(key, __u32);
	__type(value, __u64);
} rcounters SEC(".maps");

/* The state each socket closed from, by socket address: a reset sent as it closes hit that. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} closed_from SEC(".maps");

/* Sockets now in CLOSE_WAIT or LAST_ACK, by socket address. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct fl_sock_wait);
} waits SEC(".maps");

static __always_inline void kcount(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&kcounters, &which);

	if (v)
		*v += 1;
}

/*
 * The local port.  skc_num is 0 once the port is released, which tcp_set_state() does
 * before it announces CLOSE; inet_sport keeps it (as the tracepoint's own "sport" does).
 */
static __always_inline bool full_sock(const struct sock *sk)
{
	int state = BPF_CORE_READ(sk, __sk_common.skc_state);

	/* A TIME_WAIT or request socket is only a sock_common: nothing past it is its own. */
	return state != TCP_TIME_WAIT && state != TCP_NEW_SYN_RECV;
}

static __always_inline __u16 local_port(const struct sock *sk)
{
	__u16 port = 0;

	if (full_sock(sk))
		port = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	return port ? port : BPF_CORE_READ(sk, __sk_common.skc_num);
}

static __always_inline bool is_self(void)
{
	struct bpf_pidns_info ns;

	if (!self_tgid)
		return false;
	/* Fails (not 0) in a task of another pid namespace, e.g. softirq work in any task. */
	if (bpf_get_ns_current_pid_tgid(self_pidns_dev, self_pidns_ino, &ns, sizeof(ns)))
		return false;
	return ns.tgid == self_tgid;
}

static __always_inline void listen_key_of(const struct sock *sk, struct listen_key *lk)
{
	__builtin_memset(lk, 0, sizeof(*lk));
	lk->netns_cookie = BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie);
	lk->port = local_port(sk);
}

static __always_inline void emit(const struct sock *sk, __u8 kind, __u8 oldstate, __u8 newstate,
				 const struct sock_role *r)
{
	struct fl_sock_event *ev = bpf_ringbuf_reserve(&sock_events, sizeof(*ev), 0);
	struct net *net;

	if (!ev)
		return;   /* the counters still have it */
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_ns = bpf_ktime_get_ns();
	ev->kind = kind;
	ev->oldstate = oldstate;
	ev->newstate = newstate;
	if (r) {
		ev->initiator = r->initiator;
		ev->since_ns = r->since_ns;
	}
	if (full_sock(sk)) {
		ev->err = (__u8)BPF_CORE_READ(sk, sk_err);
		ev->retries = BPF_CORE_READ((const struct inet_connection_sock *)sk, icsk_retransmits);
	}
	ev->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	ev->sport = local_port(sk);
	ev->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (ev->family == AF_INET6) {
		BPF_CORE_READ_INTO(&ev->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&ev->daddr, sk, __sk_common.skc_v6_daddr);
	} else {
		BPF_CORE_READ_INTO((__u32 *)ev->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)ev->daddr, sk, __sk_common.skc_daddr);
	}
	net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
	if (net) {
		ev->netns_ino = BPF_CORE_READ(net, ns.inum);
		ev->netns_cookie = BPF_CORE_READ(net, net_cookie);
	}
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline void current_task(struct owner_task *t)
{
	__u64 id = bpf_get_current_pid_tgid();

	t->pid = id >> 32;
	t->tid = (__u32)id;
	t->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(t->comm, sizeof(t->comm));
}

/* The socket's 4-tuple and its owner `t` (none for FL_OWN_END). */
static __always_inline void emit_owner(const struct sock *sk, __u8 kind, const struct owner_task *t)
{
	struct fl_sock_owner *o = bpf_ringbuf_reserve(&owner_events, sizeof(*o), 0);
	struct net *net;

	if (!o)
		return;
	__builtin_memset(o, 0, sizeof(*o));
	o->ts_ns = bpf_ktime_get_ns();
	o->kind = kind;
	o->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	o->sport = local_port(sk);
	o->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (o->family == AF_INET6) {
		BPF_CORE_READ_INTO(&o->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&o->daddr, sk, __sk_common.skc_v6_daddr);
	} else {
		BPF_CORE_READ_INTO((__u32 *)o->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)o->daddr, sk, __sk_common.skc_daddr);
	}
	net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
	if (net) {
		o->netns_ino = BPF_CORE_READ(net, ns.inum);
		o->netns_cookie = BPF_CORE_READ(net, net_cookie);
	}
	if (t) {
		o->pid = t->pid;
		o->tid = t->tid;
		o->cgroup_id = t->cgroup_id;
		__builtin_memcpy(o->comm, t->comm, sizeof(o->comm));
	}
	bpf_ringbuf_submit(o, 0);
}

/* A socket left CLOSE_WAIT or LAST_ACK: count it if it stayed too long and nobody counted it yet. */
static __always_inline void wait_end(__u64 key, int state, __u64 now)
{
	struct fl_sock_wait *w = bpf_map_lookup_elem(&waits, &key);

	if (!w)
		return;
	if (w->state == state && !w->counted && now - w->since_ns >= wait_ns)
		kcount(state == TCP_CLOSE_WAIT ? FL_KCNT_CLOSE_WAIT : FL_KCNT_LAST_ACK);
	bpf_map_delete_elem(&waits, &key);
}

/* Who opened the socket, recorded as it opens; NULL when unknown.  Sets *own for faultline's own. */
static __always_inline struct sock_role *track_role(const struct sock *sk, __u64 key, int oldstate,
						    int newstate, __u64 now, bool *own)
{
	struct listen_key lk;
	struct sock_role *r;

	*own = false;
	if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
		struct sock_role nr = { .since_ns = now, .initiator = FL_INIT_LOCAL, .own = is_self() };

		bpf_map_update_elem(&roles, &key, &nr, BPF_ANY);
	} else if (oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV) {
		/* A listener's child, cloned in softirq: its own when the listener is. */
		struct sock_role nr = { .initiator = FL_INIT_REMOTE };

		listen_key_of(sk, &lk);
		nr.own = bpf_map_lookup_elem(&own_listeners, &lk) != NULL;
		bpf_map_update_elem(&roles, &key, &nr, BPF_ANY);
	} else if (newstate == TCP_LISTEN) {
		if (!is_self())
			return NULL;
		__u8 one = 1;

		listen_key_of(sk, &lk);
		bpf_map_update_elem(&own_listeners, &lk, &one, BPF_ANY);
		*own = true;
		return NULL;
	} else if (oldstate == TCP_LISTEN && newstate == TCP_CLOSE) {
		listen_key_of(sk, &lk);
		if (bpf_map_lookup_elem(&own_listeners, &lk) && is_self()) {
			bpf_map_delete_elem(&own_listeners, &lk);
			*own = true;
		}
		return NULL;
	}
	r = bpf_map_lookup_elem(&roles, &key);
	if (r && r->own)
		*own = true;
	return r;
}

static __always_inline void on_state(const struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)(long)sk, now = bpf_ktime_get_ns();
	struct sock_role *r;
	bool own;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return;
	if (oldstate == TCP_CLOSE_WAIT || oldstate == TCP_LAST_ACK)
		wait_end(key, oldstate, now);
	r = track_role(sk, key, oldstate, newstate, now, &own);
	if (own) {
		/* faultline's own sockets (its metrics endpoint and their clients) are not its subject. */
		if (newstate == TCP_CLOSE)
			bpf_map_delete_elem(&connecting, &key);
		return;
	}
	/*
	 * listen() runs in the server's task; accepted sockets take the listener's
	 * owner.  connect() runs in the client's, but its CLOSE -> SYN_SENT comes
	 * before the local port is chosen: the task waits in `connecting` until the
	 * SYN leaves (fl_xmit) or the connect ends.
	 */
	if (newstate == TCP_LISTEN) {
		struct owner_task t;

		current_task(&t);
		emit_owner(sk, FL_OWN_LISTEN, &t);
	} else if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
		struct owner_task t;

		current_task(&t);
		bpf_map_update_elem(&connecting, &key, &t, BPF_ANY);
	} else if (oldstate == TCP_SYN_SENT) {
		struct owner_task *t = bpf_map_lookup_elem(&connecting, &key);

		if (t) {
			emit_owner(sk, FL_OWN_CONNECT, t);
			bpf_map_delete_elem(&connecting, &key);
		}
	}
	if (newstate == TCP_CLOSE && oldstate != TCP_CLOSE)
		emit_owner(sk, FL_OWN_END, NULL);

	if (oldstate == TCP_SYN_SENT && newstate == TCP_CLOSE) {
		kcount(FL_KCNT_SYN_SENT);
		emit(sk, FL_SOCK_SYN_SENT_CLOSE, oldstate, newstate, r);
	} else if (newstate == TCP_CLOSE_WAIT || newstate == TCP_LAST_ACK) {
		struct fl_sock_wait w = { .since_ns = now, .state = newstate };

		bpf_map_update_elem(&waits, &key, &w, BPF_ANY);
		emit(sk, newstate == TCP_CLOSE_WAIT ? FL_SOCK_CLOSE_WAIT : FL_SOCK_LAST_ACK,
		     oldstate, newstate, r);
	} else if (newstate == TCP_CLOSE &&
		   (oldstate == TCP_CLOSE_WAIT || oldstate == TCP_LAST_ACK)) {
		emit(sk, FL_SOCK_CLOSED, oldstate, newstate, r);
	}
	if (newstate == TCP_CLOSE) {
		__u8 from = (__u8)oldstate;

		/* Kept in `roles` (LRU; a new socket at this address overwrites it): a reset sent
		 * as it closes (tcp_disconnect announces CLOSE first) still knows its ends. */
		bpf_map_update_elem(&closed_from, &key, &from, BPF_ANY);
	}
}

static __always_inline void rcount(bool sent, int state)
{
	__u32 i = (sent ? 0 : FL_RST_STATES) + (state > 0 && state < FL_RST_STATES ? state : 0);
	__u64 *v = bpf_map_lookup_elem(&rcounters, &i);

	if (v)
		*v += 1;
}

/*
 * A RST sent for a segment no socket wanted (a connect to a closed port): the segment's
 * own addresses, from its headers, with the local end its destination.
 */
static __always_inline void emit_no_socket(const struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header), th = BPF_CORE_READ(skb, transport_header);
	__u16 proto = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	struct fl_sock_event *ev;
	struct net_device *dev;
	__be16 ports[2];

	if (!head || bpf_probe_read_kernel(ports, sizeof(ports), head + th) < 0)
		return;
	ev = bpf_ringbuf_reserve(&sock_events, sizeof(*ev), 0);
	if (!ev)
		return;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_ns = bpf_ktime_get_ns();
	ev->kind = FL_SOCK_RESET_SEND;
	ev->oldstate = ev->newstate = FL_RST_NO_SOCKET;
	ev->initiator = FL_INIT_REMOTE;   /* the segment's sender opened whatever it was */
	ev->sport = bpf_ntohs(ports[1]);
	ev->dport = bpf_ntohs(ports[0]);
	if (proto == 0x86DD) {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh) < 0)
			goto discard;
		ev->family = AF_INET6;
		__builtin_memcpy(ev->saddr, &ip6.daddr, 16);
		__builtin_memcpy(ev->daddr, &ip6.saddr, 16);
	} else if (proto == 0x0800) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh) < 0)
			goto discard;
		ev->family = AF_INET;
		__builtin_memcpy(ev->saddr, &ip.daddr, 4);
		__builtin_memcpy(ev->daddr, &ip.saddr, 4);
	} else {
		goto discard;
	}
	dev = BPF_CORE_READ(skb, dev);
	if (dev) {
		struct net *net = BPF_CORE_READ(dev, nd_net.net);

		ev->netns_ino = BPF_CORE_READ(net, ns.inum);
		ev->netns_cookie = BPF_CORE_READ(net, net_cookie);
	}
	bpf_ringbuf_submit(ev, 0);
	return;
discard:
	bpf_ringbuf_discard(ev, 0);
}

/*
 * A reset received or sent, counted by the state it hit and handed on for the join with
 * the packets.  A RST answering a SYN is a refused connect (counted as SynSent by the
 * state change), and one sent by a listener or for no socket at all is not a connection
 * being reset: those are not in kernel.Reset.
 */
static __always_inline void on_reset(const struct sock *sk, const struct sk_buff *skb, bool sent)
{
	struct sock_role *r;
	__u64 key;
	int state;

	if (!sk) {
		if (sent && skb) {
			rcount(true, FL_RST_NO_SOCKET);
			emit_no_socket(skb);
		}
		return;
	}
	key = (__u64)(long)sk;
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (state == TCP_CLOSE) {
		__u8 *from = bpf_map_lookup_elem(&closed_from, &key);

		if (from)
			state = *from;
	}
	r = full_sock(sk) ? bpf_map_lookup_elem(&roles, &key) : NULL;
	if (r && r->own)
		return;
	rcount(sent, state);
	if (state != TCP_SYN_SENT && state != TCP_LISTEN)
		kcount(FL_KCNT_RESET);
	emit(sk, sent ? FL_SOCK_RESET_SEND : FL_SOCK_RESET_RECV, state, state, r);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(fl_state_btf, const struct sock *sk, int oldstate, int newstate)
{
	on_state(sk, oldstate, newstate);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(fl_rrst_btf, const struct sock *sk)
{
	on_reset(sk, NULL, false);
	return 0;
}

/* tcp_send_reset(sk, skb, reason): skb is the segment answered, NULL for an active reset. */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(fl_srst_btf, const struct sock *sk, const struct sk_buff *skb)
{
	on_reset(sk, skb, true);
	return 0;
}

/*
 * A connecting socket's SYN on its way out: the local port is chosen, so its
 * owner (recorded at CLOSE -> SYN_SENT) is sent now, before any answer to it.
 */
SEC("tp_btf/net_dev_queue")
int BPF_PROG(fl_xmit, struct sk_buff *skb)
{
	const struct sock *sk = BPF_CORE_READ(skb, sk);
	struct owner_task *t;
	__u64 key;

	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_SYN_SENT)
		return 0;
	key = (__u64)(long)sk;
	t = bpf_map_lookup_elem(&connecting, &key);
	if (t) {
		emit_owner(sk, FL_OWN_CONNECT, t);
		bpf_map_delete_elem(&connecting, &key);
	}
	return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int fl_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	on_state(ctx->skaddr, ctx->oldstate, ctx->newstate);
	return 0;
}

SEC("tracepoint/tcp/tcp_receive_reset")
int fl_rrst_tp(struct trace_event_raw_tcp_event_sk *ctx)
{
	on_reset(ctx->skaddr, NULL, false);
	return 0;
}

SEC("tracepoint/tcp/tcp_send_reset")
int fl_srst_tp(struct trace_event_raw_tcp_send_reset *ctx)
{
	const struct sk_buff *skb = NULL;

	if (bpf_core_field_exists(ctx->skbaddr))
		skb = BPF_CORE_READ(ctx, skbaddr);
	on_reset(ctx->skaddr, skb, true);
	return 0;
}

/* GPL-compatible (tracing programs and GPL-only helpers need it): the SPDX line above. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";
