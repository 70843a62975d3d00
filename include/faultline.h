/* SPDX-License-Identifier: MIT */
/*
 * The one header shared by the BPF programs and userspace: every struct that
 * crosses a map or a ring buffer lives here.  Userspace-only types are fenced
 * with #ifndef __bpf__.
 */
#ifndef FAULTLINE_H
#define FAULTLINE_H

#ifndef __bpf__
#include <stdint.h>
typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
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

struct fl_sock_event {
	__u64 ts_ns;
	__u64 netns_cookie;
	__u32 netns_ino;
	__u16 family;      /* AF_INET or AF_INET6 */
	__u16 sport;       /* host order, local port */
	__u16 dport;       /* host order, remote port */
	__u8 kind;         /* enum fl_sock_event_kind */
	__u8 oldstate;
	__u8 newstate;
	__u8 pad[3];
	__u8 saddr[16];    /* local address (IPv4 in the first 4 bytes) */
	__u8 daddr[16];    /* remote address */
};

/* Kernel socket-state counters (the stats "kernel" object). */
enum fl_kernel_counter {
	FL_KCNT_SYN_SENT = 0,
	FL_KCNT_RESET,
	FL_KCNT_CLOSE_WAIT,
	FL_KCNT_LAST_ACK,
	FL_KCNT_MAX,
};

#endif /* FAULTLINE_H */
