// SPDX-License-Identifier: MIT
#include "source/iface.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef TC_H_CLSACT
#define TC_H_CLSACT TC_H_INGRESS
#endif
#ifndef TC_H_MIN_INGRESS
#define TC_H_MIN_INGRESS 0xFFF2U
#define TC_H_MIN_EGRESS 0xFFF3U
#endif

static int netlink_open(unsigned groups, int flags)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = groups };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | flags, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int iface_monitor_open(void)
{
	return netlink_open(RTMGRP_LINK, SOCK_NONBLOCK);
}

static void parse_link(struct nlmsghdr *nh, iface_cb cb, void *ctx)
{
	struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));
	struct rtattr *rta = IFLA_RTA(ifi);
	struct iface_link link = {
		.ifindex = ifi->ifi_index, .flags = ifi->ifi_flags, .type = ifi->ifi_type,
	};
	char name[IF_NAMESIZE] = "";

	if (len < 0)
		return;
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == IFLA_IFNAME) {
			size_t n = RTA_PAYLOAD(rta);
			if (n >= sizeof(name))
				n = sizeof(name) - 1;
			memcpy(name, RTA_DATA(rta), n);
			name[n] = '\0';
		}
	}
	link.name = name;
	cb(ctx, &link, nh->nlmsg_type == RTM_DELLINK);
}

/* Handle every message in buf.  1 when the dump is done, 0 to go on, or -errno. */
static int parse_messages(char *buf, int n, iface_cb cb, void *ctx)
{
	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned)n);
	     nh = NLMSG_NEXT(nh, n)) {
		if (nh->nlmsg_type == NLMSG_DONE)
			return 1;
		if (nh->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(nh);
			if (e->error)
				return e->error;
			return 1;
		}
		if (nh->nlmsg_type == RTM_NEWLINK || nh->nlmsg_type == RTM_DELLINK)
			parse_link(nh, cb, ctx);
	}
	return 0;
}

int iface_dump(iface_cb cb, void *ctx)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC },
	};
	static char buf[32768] __attribute__((aligned(4)));
	int fd = netlink_open(0, 0), rc = 0;

	if (fd < 0)
		return fd;
	if (send(fd, &req, sizeof(req), 0) < 0)
		rc = -errno;
	/* Bounded: a dump ends with NLMSG_DONE; give up after many reads. */
	for (int i = 0; rc == 0 && i < 100000; i++) {
		int n = (int)recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			rc = -errno;
			break;
		}
		rc = parse_messages(buf, n, cb, ctx);
	}
	close(fd);
	return rc < 0 ? rc : 0;
}

int iface_monitor_read(int fd, iface_cb cb, void *ctx)
{
	static char buf[32768] __attribute__((aligned(4)));

	for (int i = 0; i < 64; i++) {
		int n = (int)recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		int rc = parse_messages(buf, n, cb, ctx);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The bpf classifier's attributes we read: the name its attacher gave it and the program id. */
static void parse_bpf_options(struct rtattr *opts, struct iface_tc_filter *f)
{
	int len = (int)RTA_PAYLOAD(opts);

	for (struct rtattr *a = RTA_DATA(opts); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == TCA_BPF_NAME) {
			size_t n = RTA_PAYLOAD(a);
			if (n >= sizeof(f->bpf_name))
				n = sizeof(f->bpf_name) - 1;
			memcpy(f->bpf_name, RTA_DATA(a), n);
			f->bpf_name[n] = '\0';
		} else if (a->rta_type == TCA_BPF_ID && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
			memcpy(&f->bpf_id, RTA_DATA(a), sizeof(uint32_t));
		}
	}
}

static void parse_filter(struct nlmsghdr *nh, struct iface_tc_filter *f)
{
	struct tcmsg *t = NLMSG_DATA(nh);
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*t));
	struct rtattr *opts = NULL;

	*f = (struct iface_tc_filter){ .handle = t->tcm_handle, .prio = (uint16_t)(t->tcm_info >> 16) };
	for (struct rtattr *a = TCA_RTA(t); len > 0 && RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == TCA_KIND) {
			size_t n = RTA_PAYLOAD(a);
			if (n >= sizeof(f->kind))
				n = sizeof(f->kind) - 1;
			memcpy(f->kind, RTA_DATA(a), n);
			f->kind[n] = '\0';
		} else if (a->rta_type == TCA_OPTIONS) {
			opts = a;
		}
	}
	if (opts && strcmp(f->kind, "bpf") == 0)
		parse_bpf_options(opts, f);
}

int iface_tc_filters(int ifindex, bool ingress, struct iface_tc_filter *out, int max)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETTFILTER,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.tc = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex,
			.tcm_parent = TC_H_MAKE(TC_H_CLSACT,
						ingress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS) },
	};
	static char buf[32768] __attribute__((aligned(4)));
	int fd = netlink_open(0, 0), count = 0, rc = 0;

	if (fd < 0)
		return fd;
	if (send(fd, &req, sizeof(req), 0) < 0)
		rc = -errno;
	for (int i = 0; rc == 0 && i < 100000; i++) {
		int n = (int)recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			rc = -errno;
			break;
		}
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned)n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				rc = 1;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nh);
				rc = e->error ? e->error : 1;
				break;
			}
			if (nh->nlmsg_type == RTM_NEWTFILTER) {
				struct tcmsg *t = NLMSG_DATA(nh);
				/* A filter shows as a chain head (handle 0) plus one message per filter. */
				if (!t->tcm_handle)
					continue;
				if (count < max)
					parse_filter(nh, &out[count]);
				count++;
			}
		}
	}
	close(fd);
	return rc < 0 ? rc : count;
}

int iface_tc_filter_count(int ifindex, bool ingress)
{
	return iface_tc_filters(ifindex, ingress, NULL, 0);
}
