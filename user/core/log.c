// SPDX-License-Identifier: MIT
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <bpf/libbpf.h>

static enum fl_log_level log_level = FL_LOG_INFO;

static void log_va(enum fl_log_level level, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	fputs("faultline: ", stderr);
	if (level == FL_LOG_WARN)
		fputs("warning: ", stderr);
	vfprintf(stderr, fmt, ap);
}

void fl_log(enum fl_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(level, fmt, ap);
	va_end(ap);
}

/* libbpf's warnings are mostly the verifier log of a failed load: debug detail, not for every user. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum fl_log_level mine = level == LIBBPF_WARN ? FL_LOG_DEBUG : FL_LOG_DEBUG + 1;

	if (mine > log_level)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void fl_log_init(void)
{
	const char *d = getenv("FAULTLINE_DEBUG");

	if (d && *d && *d != '0')
		log_level = atoi(d) > 1 ? FL_LOG_DEBUG + 1 : FL_LOG_DEBUG;
	libbpf_set_print(libbpf_print);
}
