// SPDX-License-Identifier: MIT
/* libcap does the capability bookkeeping: the raw capset ABI is versioned and easy to get wrong. */
#include "source/privs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

static const cap_value_t keep[] = { CAP_NET_ADMIN, CAP_NET_RAW };

int privs_drop_after_load(char *err, size_t errlen)
{
	cap_t now = cap_get_proc();
	cap_t want = cap_init();
	int rc = 0;

	if (!now || !want) {
		rc = -errno;
		snprintf(err, errlen, "reading capabilities: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		cap_flag_value_t has = CAP_CLEAR;
		cap_get_flag(now, keep[i], CAP_PERMITTED, &has);
		if (has == CAP_SET) {
			cap_set_flag(want, CAP_PERMITTED, 1, &keep[i], CAP_SET);
			cap_set_flag(want, CAP_EFFECTIVE, 1, &keep[i], CAP_SET);
		}
	}
	/* The bounding set first (needs CAP_SETPCAP, which root has; others skip it). */
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		if (c == CAP_NET_ADMIN || c == CAP_NET_RAW)
			continue;
		if (CAP_IS_SUPPORTED(c) && cap_get_bound(c) == 1)
			cap_drop_bound(c);     /* fails without CAP_SETPCAP: fine */
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (cap_set_proc(want) < 0) {
		rc = -errno;
		snprintf(err, errlen, "setting capabilities: %s", strerror(errno));
	}
out:
	if (now)
		cap_free(now);
	if (want)
		cap_free(want);
	return rc;
}
