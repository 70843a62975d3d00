/* SPDX-License-Identifier: MIT */
/*
 * Messages for the user from the capture agent (the CLI layer), and the sink
 * libbpf's own messages are routed through.  FAULTLINE_DEBUG=1 shows debug.
 */
#ifndef FL_LOG_H
#define FL_LOG_H

enum fl_log_level { FL_LOG_WARN = 0, FL_LOG_INFO, FL_LOG_DEBUG };

void fl_log(enum fl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Set the level from FAULTLINE_DEBUG and route libbpf's messages through fl_log. */
void fl_log_init(void);

#define pr_warn(...) fl_log(FL_LOG_WARN, __VA_ARGS__)
#define pr_info(...) fl_log(FL_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) fl_log(FL_LOG_DEBUG, __VA_ARGS__)

#endif
