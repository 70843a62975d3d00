/* SPDX-License-Identifier: MIT */
/* The control socket's file (ctl_socket.c): internal to sink/ctl*.c. */
#ifndef FL_CTL_SOCKET_H
#define FL_CTL_SOCKET_H

#include <stddef.h>
#include <sys/types.h>

struct ctl_listen_file {
	int fd;           /* listening, non-blocking */
	dev_t dev;        /* the socket file we made, to remove only it */
	ino_t ino;
};

/* Create and listen (see ctl_open).  0 or -errno with a message in err. */
int ctl_listen_open(const char *path, const char *group, struct ctl_listen_file *out, char *err,
		    size_t errlen);
/* Close, and unlink path if it is still our socket. */
void ctl_listen_close(const char *path, const struct ctl_listen_file *lf);

#endif
