/* SPDX-License-Identifier: MIT */
/*
 * The capture programs loaded for BPF_PROG_TEST_RUN tests, as ebpf.c loads
 * them: one 1 MB ring per CPU in the programs' array of rings, all read by one
 * ring_buffer with `on_record`.  Returns 0 with *skel NULL where BPF cannot
 * be loaded (the tests then skip), -1 if the rings cannot be set up.
 * `configure` sets the read-only data between open and load (may be NULL).
 */
#ifndef TEST_CAPTURE_SKEL_H
#define TEST_CAPTURE_SKEL_H

#include <stdarg.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.skel.h"

static int capture_skel_silent(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l; (void)f; (void)ap;
	return 0;
}

static inline int capture_skel_load(struct capture_bpf **skel, struct ring_buffer **rb,
				    void (*configure)(struct capture_bpf *skel),
				    ring_buffer_sample_fn on_record)
{
	int ncpu = libbpf_num_possible_cpus(), tmpl;

	libbpf_set_print(capture_skel_silent);
	*rb = NULL;
	*skel = capture_bpf__open();
	if (!*skel)
		return 0;
	(*skel)->rodata->wakeup_bytes = 0;
	if (configure)
		configure(*skel);
	bpf_map__set_max_entries((*skel)->maps.rings, (__u32)ncpu);
	tmpl = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, 1 << 20, NULL);
	if (tmpl < 0 || bpf_map__set_inner_map_fd((*skel)->maps.rings, tmpl) ||
	    capture_bpf__load(*skel)) {
		if (tmpl >= 0)
			close(tmpl);
		capture_bpf__destroy(*skel);
		*skel = NULL;
		return 0;
	}
	close(tmpl);
	for (int cpu = 0; cpu < ncpu; cpu++) {
		__u32 key = (__u32)cpu;
		int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, 1 << 20, NULL);
		if (fd < 0 || bpf_map_update_elem(bpf_map__fd((*skel)->maps.rings), &key, &fd, BPF_ANY))
			return -1;
		if (cpu == 0)
			*rb = ring_buffer__new(fd, on_record, NULL, NULL);
		else if (*rb && ring_buffer__add(*rb, fd, on_record, NULL))
			return -1;
		close(fd);     /* the array and the reader hold it */
	}
	return *rb ? 0 : -1;
}

#endif
