/* SPDX-License-Identifier: MIT */
/*
 * JSON text back into a doc: what `faultline top` does with the entries a
 * running capture sends over its control socket (one object per line), so
 * the grouping and KFL work on them as on the capture's own docs.
 */
#ifndef FL_DOC_JSON_H
#define FL_DOC_JSON_H

#include <stddef.h>

#include "report/doc.h"

/* Reset d and parse one JSON object into it.  0, or -1 (not an object, malformed, too deep, OOM). */
int doc_parse_json(struct doc *d, const char *text, size_t len);

#endif
