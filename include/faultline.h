/* SPDX-License-Identifier: (MIT OR GPL-2.0-only) */
/*
 * The one header shared by the BPF programs and userspace: every struct that
 * crosses a map or a ring buffer lives here.  Userspace-only types are fenced
 * with #ifndef __bpf__.
 */
#ifndef FAULTLINE_H
#define FAULTLINE_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Direction of a captured packet relative to the interface. */
enum fl_direction {
	FL_DIR_UNKNOWN = 0,
	FL_DIR_INGRESS = 1,
	FL_DIR_EGRESS = 2,
};

/* Header of one packet record in the BPF ring buffer; `caplen` bytes follow. */
struct fl_ring_pkt {
	__u64 ts_ns;     /* bpf_ktime_get_ns(); userspace converts to wall time */
	__u32 ifindex;
	__u32 len;       /* length on the wire */
	__u32 caplen;    /* bytes that follow this header */
	__u8 direction;  /* enum fl_direction */
	__u8 pad[3];
};

/*
 * Payload skipping (bpf/skip.bpf.h): a dissector that knows the next bytes
 * of a direction are body it does not parse asks the capture programs to
 * send headers only (and the wire length) for segments whose payload lies
 * wholly in [from, to) (TCP sequence numbers, wrap-safe); FL_SKIP_ALL: every
 * segment (a flow no dissector claimed).  Keyed by the sender's address and
 * port, network order; an LRU hash, so forgotten entries age out.
 */
#define FL_SKIP_MAX_ENTRIES 65536
#define FL_SKIP_ALL 1u
/* A DNS-over-TCP message this long is judged from its head and tail, its middle
 * skipped: the capture wakes the reader on the segment that starts it. */
#define FL_SKIP_DNS_LONG 8192

struct fl_skip_key {
	__u8 saddr[16];    /* IPv4 in the first 4 bytes, rest zero */
	__u8 daddr[16];
	__u16 sport;       /* network order */
	__u16 dport;
	__u8 family;       /* 4 or 6 */
	__u8 pad[3];
};

struct fl_skip_val {
	__u32 from;        /* first sequence number skipped */
	__u32 to;          /* first sequence number not skipped */
	__u32 flags;       /* FL_SKIP_ALL */
	__u32 pad;
};

/*
 * HTTP/1.x framing in the kernel (bpf/skip.bpf.h): per connection whose
 * SYN-ACK the capture saw, keyed by the server's direction (as fl_skip_key).
 * Written by the capture programs only.  `taint` is sticky: a request
 * segment that was not one whole GET (a HEAD, a CONNECT, a body, two
 * requests, a split head) ends framing on the connection.
 */
#define FL_FRAME_HEAD_MAX 2048   /* a head longer than this is not framed */

struct fl_frame_val {
	__u32 isn;         /* the server's ISN (its SYN-ACK's sequence number) */
	__u32 high;        /* end of what the server sent (or announced, when framed) */
	__u32 arm;         /* where the response to the last GET starts */
	__u8 armed;
	__u8 taint;
	__u8 pad[2];
};

/* The largest tap.snaplen: the capture programs' copy buffer is sized from it. */
#define FL_SNAPLEN_MAX 262144

/*
 * tc filters are attached at this handle and priority, and every program's
 * name starts with "fl_", so a later run can find and remove what a killed
 * run left behind without touching anyone else's filters.
 */
#define FL_TC_HANDLE 0xf17e
#define FL_TC_PRIORITY 0xf17e
#define FL_PROG_PREFIX "fl_"

/* Per-CPU packet counters kept by the capture programs. */
enum fl_pkt_counter {
	FL_CNT_PACKETS = 0,
	FL_CNT_RING_DROPS,
	FL_CNT_PARSE_FAIL,
	FL_CNT_TCP_SYN,
	FL_CNT_TCP_SYNACK,
	FL_CNT_TCP_RST,
	FL_CNT_TCP_FIN,
	FL_CNT_ICMP_ECHO,
	FL_CNT_ICMP_UNREACH,
	FL_CNT_ICMP_TIME_EXCEEDED,
	FL_CNT_ICMP_OTHER_ERROR,
	FL_CNT_ICMP_OTHER,
	FL_CNT_HTTP_FRAMED,     /* HTTP/1.x responses the capture framed (bpf/skip.bpf.h) */
	FL_CNT_MAX,
};

/* Socket events from the TCP tracepoints. */
enum fl_sock_event_kind {
	FL_SOCK_SYN_SENT_CLOSE = 1, /* SYN_SENT -> CLOSE: the connect failed */
	FL_SOCK_CLOSE_WAIT = 2,     /* entered CLOSE_WAIT */
	FL_SOCK_LAST_ACK = 3,       /* entered LAST_ACK */
	FL_SOCK_RESET_RECV = 4,     /* tcp_receive_reset */
	FL_SOCK_RESET_SEND = 5,     /* tcp_send_reset */
	FL_SOCK_CLOSED = 6,         /* left CLOSE_WAIT / LAST_ACK for CLOSE */
};

/* Which end of a socket's connection opened it (struct fl_sock_event.initiator). */
enum fl_sock_initiator {
	FL_INIT_UNKNOWN = 0,   /* the socket predates the tracepoints */
	FL_INIT_LOCAL = 1,     /* connect(): the local end is the client */
	FL_INIT_REMOTE = 2,    /* accepted from a listener: the remote end is the client */
};

struct fl_sock_event {
	__u64 ts_ns;
	__u64 netns_cookie;
	__u64 since_ns;    /* bpf_ktime_get_ns() when the connect began (0: unknown) */
	__u32 netns_ino;
	__u16 family;      /* AF_INET or AF_INET6 */
	__u16 sport;       /* host order, local port (inet_sport: still set after the port is released) */
	__u16 dport;       /* host order, remote port */
	__u8 kind;         /* enum fl_sock_event_kind */
	__u8 oldstate;
	__u8 newstate;
	__u8 initiator;    /* enum fl_sock_initiator */
	__u8 err;          /* sk_err: the errno the application gets (ECONNREFUSED, ETIMEDOUT, ...) */
	__u8 retries;      /* SYN_SENT -> CLOSE: SYNs sent again (icsk_retransmits) */
	__u8 saddr[16];    /* local address (IPv4 in the first 4 bytes) */
	__u8 daddr[16];    /* remote address */
};

/*
 * A socket waiting in CLOSE_WAIT or LAST_ACK (socktrace's `waits` map, keyed
 * by the socket's address).  It counts once it has waited `wait_ns`: in the
 * kernel when it leaves the state late, in userspace while it still waits.
 */
struct fl_sock_wait {
	__u64 since_ns;    /* bpf_ktime_get_ns() when it entered the state */
	__u8 state;        /* the kernel's TCP_CLOSE_WAIT or TCP_LAST_ACK */
	__u8 counted;      /* already counted (by userspace) */
	__u8 pad[6];
};

/*
 * Who owns a TCP socket, from socktrace's `owner_events` ring: the task that
 * connect()ed (recorded at CLOSE -> SYN_SENT, sent when its SYN leaves and the
 * local port is known) or listen()ed (the LISTEN transition), and once more when the socket closes (FL_OWN_END,
 * no task fields) so that a later socket with the same 4-tuple is not blamed
 * on an exited process.
 */
enum fl_owner_kind {
	FL_OWN_CONNECT = 1,
	FL_OWN_LISTEN = 2,
	FL_OWN_END = 3,
	FL_OWN_BIND = 4,   /* UDP (sockowner.bpf.c): a local endpoint bound, or sent from unconnected */
};

struct fl_sock_owner {
	__u64 ts_ns;
	__u64 netns_cookie;
	__u64 cgroup_id;   /* bpf_get_current_cgroup_id(): the cgroup v2 inode */
	__u32 netns_ino;
	__u32 pid;         /* tgid: the process */
	__u32 tid;
	__u16 family;
	__u16 sport;       /* host order, local port */
	__u16 dport;       /* host order, remote port (0 for a listener) */
	__u8 kind;         /* enum fl_owner_kind */
	__u8 proto;        /* IPPROTO_UDP from sockowner.bpf.c; 0 (TCP) from socktrace */
	char comm[16];
	__u8 saddr[16];
	__u8 daddr[16];
};

/*
 * Resets by the TCP state of the socket they were sent from or hit (socktrace's
 * `rcounters`: sent at [state], received at [FL_RST_STATES + state]); state 0 is no
 * socket at all (a segment for a closed port).  A socket reset as it closes (SO_LINGER 0,
 * close with data unread) counts in the state it closed from.
 */
#define FL_RST_STATES 16
#define FL_RST_NO_SOCKET 0

/* Kernel socket-state counters (the stats "kernel" object). */
enum fl_kernel_counter {
	FL_KCNT_SYN_SENT = 0,
	FL_KCNT_RESET,
	FL_KCNT_CLOSE_WAIT,
	FL_KCNT_LAST_ACK,
	FL_KCNT_MAX,
};


/*
 * Kernel packet drops (drops.bpf.c on skb:kfree_skb), aggregated in the
 * kernel per (flow, reason) in the `drops` LRU hash: a flood of drops is a
 * few records.  Addresses and ports are the dropped packet's own (source
 * first); a packet that is not IP, or whose transport is not TCP, UDP or
 * ICMP, keys by protocol only.
 */
#define FL_DROP_NO_REASON 0xffffffffu  /* the kernel has no reason argument */
#define FL_DROP_REASONS 512            /* per-reason counters; larger reasons count in the last */
/* Network namespaces whose listeners userspace reads with sock_diag (user/source/nsdiag.h). */
#define FL_DIAG_NETNS_MAX 256
#define FL_ERRNOS 256                  /* per-errno counters of inet_sk_error_report */

struct fl_drop_key {
	__u8 saddr[16];    /* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	__u16 sport;       /* host order; ICMP echo: the identifier in both */
	__u16 dport;
	__u16 l3proto;     /* skb->protocol, host order (0x0800, 0x86dd, ...) */
	__u8 family;       /* 4, 6, or 0: not IP */
	__u8 l4proto;      /* IPPROTO_*; 0 when unknown */
	__u32 reason;      /* enum skb_drop_reason, or FL_DROP_NO_REASON */
	__u32 ifindex;     /* skb->dev, else skb->skb_iif; 0 if neither */
	__u32 netns_ino;   /* the device's (else the socket's) network namespace */
	__u32 pad;
};

struct fl_drop_val {
	__u64 count;
	__u64 first_ns;    /* bpf_ktime_get_ns() */
	__u64 last_ns;
	__u64 location;    /* the kernel address that freed it (the latest) */
};

/* drops.bpf.c's per-CPU totals besides the per-reason array. */
enum fl_drop_counter {
	FL_DCNT_TOTAL = 0,     /* every drop seen (not consumed) */
	FL_DCNT_NO_REASON,     /* drops without a reason argument (old kernel) */
	FL_DCNT_MAP_FULL,      /* the aggregate could not be stored */
	FL_DCNT_RETRANS,       /* tcp_retransmit_skb: every TCP retransmission (RTO and others) */
	FL_DCNT_SYN_RETRANS,   /* ... of a socket in SYN_SENT: SYN retransmissions */
	FL_DCNT_LISTEN_OVERFLOW, /* a SYN found its listener's accept queue full */
	FL_DCNT_MAX,
};

#endif /* FAULTLINE_H */
