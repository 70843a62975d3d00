// SPDX-License-Identifier: MIT
/*
 * blast: a rate-controlled UDP sender for the live benchmark.
 *
 *   blast DST_IP PPS SECONDS [SIZE]
 *
 * Sends SIZE-byte UDP payloads (default 64, at most 1472: a 1500-byte IPv4 packet) to DST_IP ports 9000..9063 at
 * PPS packets per second for SECONDS seconds (PPS 0: as fast as it can), in
 * sendmmsg batches paced against CLOCK_MONOTONIC.  Prints one line:
 *   sent=N seconds=S pps=R
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define PORTS 64

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: blast DST_IP PPS SECONDS [SIZE]\n");
		return 2;
	}
	struct sockaddr_in dst[PORTS];
	for (int i = 0; i < PORTS; i++) {
		memset(&dst[i], 0, sizeof(dst[i]));
		dst[i].sin_family = AF_INET;
		dst[i].sin_port = htons((uint16_t)(9000 + i));
		if (inet_pton(AF_INET, argv[1], &dst[i].sin_addr) != 1) {
			fprintf(stderr, "blast: bad address %s\n", argv[1]);
			return 2;
		}
	}
	double pps = atof(argv[2]);
	double seconds = atof(argv[3]);
	size_t size = argc > 4 ? (size_t)atoi(argv[4]) : 64;
	if (size < 1 || size > 1472 || seconds <= 0 || pps < 0) {
		fprintf(stderr, "blast: bad arguments\n");
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("blast: socket");
		return 1;
	}
	int sndbuf = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

	static char payload[1472];
	memset(payload, 'b', sizeof(payload));
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = payload;
		iov[i].iov_len = size;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &dst[i % PORTS];
		msgs[i].msg_hdr.msg_namelen = sizeof(dst[0]);
	}

	uint64_t start = now_ns();
	uint64_t end = start + (uint64_t)(seconds * 1e9);
	uint64_t sent = 0, t;
	while ((t = now_ns()) < end) {
		if (pps > 0) {
			/* Packets due by now; sleep briefly when ahead of schedule. */
			uint64_t due = (uint64_t)((double)(t - start) * pps / 1e9);
			if (sent >= due) {
				uint64_t ahead_ns = (uint64_t)((double)(sent - due + 1) * 1e9 / pps);
				if (ahead_ns > 50000) {
					struct timespec ts = { 0, (long)(ahead_ns < 1000000 ? ahead_ns : 1000000) };
					nanosleep(&ts, NULL);
				}
				continue;
			}
			uint64_t n = due - sent;
			if (n > BATCH)
				n = BATCH;
			int r = sendmmsg(fd, msgs, (unsigned)n, 0);
			if (r > 0)
				sent += (uint64_t)r;
			else if (r < 0 && errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED)
				break;
		} else {
			int r = sendmmsg(fd, msgs, BATCH, 0);
			if (r > 0)
				sent += (uint64_t)r;
			else if (r < 0 && errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED)
				break;
		}
	}
	double el = (double)(now_ns() - start) / 1e9;
	printf("sent=%llu seconds=%.3f pps=%.0f\n", (unsigned long long)sent, el, (double)sent / el);
	close(fd);
	return 0;
}
