// SPDX-License-Identifier: MIT
/*
 * The AF_PACKET capture source: one TPACKET_V3 socket bound to every
 * interface of the network namespace, its ring mapped into memory.  The
 * kernel truncates each packet to snaplen (a one-instruction classic BPF
 * filter); packets of interfaces we do not capture are skipped here.
 */
#include "source/capture.h"

#include <net/if.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

#define BLOCK_SIZE (1u << 20)
#define FRAME_SIZE 2048
/* Blocks handed back per poll, so the loop gets back to its timer under load. */
#define POLL_BUDGET 64

struct afpacket_source {
	struct capture_source base;
	struct capture_params params;
	uint8_t *ring;
	size_t ring_len;
	unsigned block_nr, next_block;
};

static void handle_block(struct afpacket_source *s, struct tpacket_block_desc *bd)
{
	struct tpacket3_hdr *h = (struct tpacket3_hdr *)((uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt);
	uint8_t *block_end = (uint8_t *)bd + BLOCK_SIZE;

	for (uint32_t i = 0; i < bd->hdr.bh1.num_pkts; i++) {
		if ((uint8_t *)h + sizeof(*h) > block_end || (uint8_t *)h + h->tp_mac + h->tp_snaplen > block_end)
			break;
		const struct sockaddr_ll *sll =
			(const struct sockaddr_ll *)((uint8_t *)h + TPACKET_ALIGN(sizeof(*h)));
		const struct capture_iface *ifc =
			s->params.iface_lookup(s->params.lookup_ctx, sll->sll_ifindex);
		bool out = sll->sll_pkttype == PACKET_OUTGOING;

		/* On loopback every packet is both sent and received: take it once. */
		if (ifc && ifc->attached && !(out && (ifc->flags & IFF_LOOPBACK))) {
			struct fl_packet pkt = {
				.ts_ns = (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec,
				.data = (const uint8_t *)h + h->tp_mac,
				.caplen = h->tp_snaplen,
				.len = h->tp_len,
				.linktype = sll->sll_hatype == ARPHRD_NONE ? FL_LINK_RAW : FL_LINK_ETHERNET,
				.ifindex = (uint32_t)sll->sll_ifindex,
				.direction = out ? FL_DIR_EGRESS : FL_DIR_INGRESS,
			};
			s->base.out.packet(s->base.out.ctx, &pkt);
		}
		if (!h->tp_next_offset)
			break;
		h = (struct tpacket3_hdr *)((uint8_t *)h + h->tp_next_offset);
	}
}

static void afpacket_poll(struct capture_source *base)
{
	struct afpacket_source *s = (struct afpacket_source *)base;

	for (int n = 0; n < POLL_BUDGET; n++) {
		struct tpacket_block_desc *bd =
			(struct tpacket_block_desc *)(s->ring + (size_t)s->next_block * BLOCK_SIZE);

		if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
			break;
		handle_block(s, bd);
		__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		s->next_block = (s->next_block + 1) % s->block_nr;
	}
}

/* Every interface is in the one socket: attaching is choosing which packets to keep. */
static int afpacket_attach(struct capture_source *base, struct capture_iface *ifc)
{
	(void)base;
	ifc->attached = true;
	return 0;
}

static void afpacket_detach(struct capture_source *base, struct capture_iface *ifc)
{
	(void)base;
	ifc->attached = false;
}

static void afpacket_update_stats(struct capture_source *base, struct fl_stats *st)
{
	struct tpacket_stats_v3 ps;
	socklen_t len = sizeof(ps);

	/* The kernel resets these on every read. */
	if (getsockopt(base->fd, SOL_PACKET, PACKET_STATISTICS, &ps, &len) == 0)
		st->packets.dropped += ps.tp_drops;
}

static void afpacket_close(struct capture_source *base)
{
	struct afpacket_source *s = (struct afpacket_source *)base;

	if (!s)
		return;
	if (s->ring)
		munmap(s->ring, s->ring_len);
	if (s->base.fd >= 0)
		close(s->base.fd);
	free(s);
}

static const struct capture_source_ops afpacket_ops = {
	.attach = afpacket_attach,
	.detach = afpacket_detach,
	.poll = afpacket_poll,
	.update_stats = afpacket_update_stats,
	.close = afpacket_close,
};

int capture_afpacket_open(const struct capture_params *p, struct capture_source **out,
			  char *msg, size_t msglen)
{
	struct afpacket_source *s = calloc(1, sizeof(*s));
	int version = TPACKET_V3, err;
	struct sock_filter truncate = BPF_STMT(BPF_RET | BPF_K, p->cfg->snaplen);
	struct sock_fprog prog = { .len = 1, .filter = &truncate };
	/* A capture filter runs here, in the kernel; it cuts what it accepts to the snaplen too. */
	if (p->filter) {
		prog.len = (unsigned short)p->filter_len;
		prog.filter = (struct sock_filter *)p->filter;
	}
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct tpacket_req3 req;
	const char *step;

	if (!s)
		return -ENOMEM;
	s->params = *p;
	s->base.ops = &afpacket_ops;
	s->base.backend = "afpacket";
	s->block_nr = p->cfg->ring_buffer_mb ? p->cfg->ring_buffer_mb : 1;
	s->ring_len = (size_t)s->block_nr * BLOCK_SIZE;
	req = (struct tpacket_req3){
		.tp_block_size = BLOCK_SIZE,
		.tp_block_nr = s->block_nr,
		.tp_frame_size = FRAME_SIZE,
		.tp_frame_nr = (BLOCK_SIZE / FRAME_SIZE) * s->block_nr,
		.tp_retire_blk_tov = 100,   /* ms: a part-filled block is handed over this late */
	};

	step = "opening an AF_PACKET socket";
	s->base.fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->base.fd < 0)
		goto fail;
	step = "setting TPACKET_V3";
	if (setsockopt(s->base.fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) < 0)
		goto fail;
	step = p->filter ? "attaching the capture filter" : "setting the snaplen filter";
	if (setsockopt(s->base.fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		goto fail;
	step = "setting up the packet ring";
	if (setsockopt(s->base.fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0)
		goto fail;
	s->ring = mmap(NULL, s->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED,
		       s->base.fd, 0);
	if (s->ring == MAP_FAILED) {
		s->ring = mmap(NULL, s->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, s->base.fd, 0);
		if (s->ring == MAP_FAILED) {
			s->ring = NULL;
			step = "mapping the packet ring";
			goto fail;
		}
	}
	/* Bind last, so no packet arrives before the ring is there. */
	step = "binding the AF_PACKET socket";
	if (bind(s->base.fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto fail;
	*out = &s->base;
	return 0;
fail:
	err = -errno;
	if (err == -EPERM)
		snprintf(msg, msglen, "%s: not permitted; AF_PACKET capture needs root or CAP_NET_RAW",
			 step);
	else
		snprintf(msg, msglen, "%s: %s", step, strerror(-err));
	afpacket_close(&s->base);
	return err;
}
