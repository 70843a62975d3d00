// SPDX-License-Identifier: MIT
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>

const char *addr_format(const struct fl_addr *a, char *buf, size_t len)
{
	if (a->family == 4)
		inet_ntop(AF_INET, a->bytes, buf, (socklen_t)len);
	else if (a->family == 6)
		inet_ntop(AF_INET6, a->bytes, buf, (socklen_t)len);
	else if (len)
		buf[0] = '\0';
	return buf;
}

int addr_parse(struct fl_addr *a, const char *text)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text, a->bytes) == 1) {
		a->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, text, a->bytes) == 1) {
		a->family = 6;
		return 0;
	}
	return -EINVAL;
}
