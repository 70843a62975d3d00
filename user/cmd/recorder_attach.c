// SPDX-License-Identifier: MIT
/* The recorder on the pipeline (apart, so that recorder.c links without the pipeline). */
#include <errno.h>
#include <stdint.h>

#include "pipeline.h"
#include "sink/recorder.h"

int recorder_attach(struct recorder *r, struct pipeline *p)
{
	int slot = pipeline_flow_storage(p, sizeof(uint64_t));
	/* --workers: the flows are the workers'; without a filter the recorder writes every
	 * packet as it comes, on the thread that reads them, and needs none. */
	if (slot < 0 && (errno != ENOTSUP || recorder_filtering(r)))
		return -errno;
	if (slot >= 0)
		recorder_set_flow_storage(r, slot);
	int rc = pipeline_add_observer(p, (struct packet_observer){
		.packet = recorder_observe_packet, .flow_end = recorder_observe_flow_end, .ctx = r });
	if (rc < 0 || !recorder_filtering(r))
		return rc;
	return pipeline_add_sink(p, (struct entry_sink){ .emit = recorder_emit, .ctx = r });
}
