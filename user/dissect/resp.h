/* SPDX-License-Identifier: MIT */
/*
 * RESP, the Redis serialization protocol (RESP2 and RESP3), read as a stream.
 * The reader consumes every byte it is given, keeps the first bytes of each
 * line and bulk payload and the first elements of the top aggregate, and
 * counts its way through the rest, so a 512 MB value costs no memory.
 * Aggregates nest up to RESP_MAX_DEPTH; deeper is a protocol error.
 */
#ifndef FL_DISSECT_RESP_H
#define FL_DISSECT_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESP_MAX_DEPTH    16        /* open aggregates in one message */
#define RESP_LINE_LIMIT   65536     /* a line without CRLF past this is not RESP */
#define RESP_CAPTURE      1024      /* bytes kept of a line (inline commands) or payload */
#define RESP_TOP_TEXT     128       /* bytes kept of a top-level value */
#define RESP_ITEM_TEXT    64        /* bytes kept of an element (a command's argument) */
#define RESP_SHOW_ITEMS   16        /* elements kept of an aggregate (8 pairs of a map) */

/* A value as kept for the entry: type byte, number (integer, count, length), text. */
struct resp_item {
	uint8_t type;                 /* RESP type byte; 0 for a null */
	bool aggregate;
	int64_t num;
	uint8_t len;
	uint8_t text[RESP_ITEM_TEXT];
};

/* The message being read in one direction. */
struct resp_msg {
	uint64_t ts_ns;
	struct resp_item top;        /* top-level value (text: RESP_TOP_TEXT bytes) */
	uint8_t top_text[RESP_TOP_TEXT];
	uint32_t top_len;
	bool has_attribute;
	uint32_t n_items;
	struct resp_item items[RESP_SHOW_ITEMS];   /* the top aggregate's first elements */
	/* An inline command: its line without CR LF (the first RESP_CAPTURE bytes). */
	bool is_inline;
	const uint8_t *line;
	size_t line_len;
};

enum resp_phase {
	RESP_LINE = 0,    /* a type line up to CRLF */
	RESP_INLINE,      /* an inline command line */
	RESP_BULK,        /* payload bytes of a bulk string */
	RESP_BULK_CR,     /* the CR after the payload */
	RESP_BULK_LF,
};

struct resp_frame {
	int64_t left;     /* elements still to come */
	uint8_t type;
	bool attribute;
};

/* One direction's reader; zero-initialised, it waits for a message start. */
struct resp_reader {
	uint8_t phase;
	bool commands;                /* client to server: arrays of bulk strings, inline lines */
	bool started;                 /* inside a message */
	bool last_cr;                 /* the last byte of the line so far is a CR */
	uint8_t bulk_type;            /* '$', '=' or '!' */
	uint32_t bulk_depth;          /* depth the bulk string sits at */
	uint32_t depth, attr_open;
	uint64_t line_len;            /* bytes of the current line, CR included */
	uint64_t bulk_left, bulk_len;
	uint64_t offset;              /* bytes of this direction read so far */
	uint64_t line_start;          /* offset of the current line's first byte */
	struct resp_frame stack[RESP_MAX_DEPTH];
	uint32_t cap_len;
	uint8_t cap[RESP_CAPTURE];
	struct resp_msg msg;
};

/* A complete message, valid during the call. */
typedef void (*resp_done_fn)(void *arg, const struct resp_msg *m);

/*
 * Read bytes of one direction; `commands` for the client's.  Consumes all of
 * them and hands each complete message to done().  Returns 0, or -EBADMSG
 * with what was wrong and its offset in the direction's bytes in err.
 */
int resp_read(struct resp_reader *r, bool commands, uint64_t ts_ns, const uint8_t *data,
	      size_t len, resp_done_fn done, void *arg, char *err, size_t errlen);
/* A hole of `missing` bytes: true when it fell inside a bulk payload and was counted through. */
bool resp_skip(struct resp_reader *r, uint64_t missing);
/* Payload bytes the reader would only count from here: the rest of a bulk
 * string whose kept prefix is full (resp_skip() takes them). */
uint64_t resp_skippable(const struct resp_reader *r);
/* Forget the message in progress: the next bytes start a new one. */
void resp_reset(struct resp_reader *r);
/* Can a message start with byte c? (Commands: a RESP array; inline lines are not trusted here.) */
bool resp_may_start(bool commands, uint8_t c);
/* "<type><digits>\r\n" at p: its length, 0 when it is not one, -1 when too short to tell. */
int resp_count_line(const uint8_t *p, size_t len, uint8_t type);
/* "simple", "error", "integer", "bulk", "array", "null", "map", ... */
const char *resp_type_name(uint8_t type);

#endif
