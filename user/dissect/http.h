/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x internals shared by http.c (the framing state machine and the
 * dissector ops) and http_msg.c (start lines, header fields, what an entry
 * keeps of a message, and writing it into the entry).
 */
#ifndef FL_DISSECT_HTTP_H
#define FL_DISSECT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dissect/dissect.h"

#define HTTP_MAX_HEADER_BLOCK 32768u  /* start line + header fields, else parser-error */
#define HTTP_MAX_HEADERS 100u         /* header fields per message, else parser-error */
#define HTTP_STORE_HEADERS 32u        /* header fields kept for the entry */
#define HTTP_STORE_BYTES 2048u        /* text kept per message for the entry */
#define HTTP_MAX_OUTSTANDING 32u      /* pipelined requests awaiting their responses */
#define HTTP_MAX_CHUNK_LINE 1024u     /* chunk-size line incl. extensions */

struct http_hdr {
	uint16_t name_off, name_len, value_off, value_len;
	bool trailer;
};

/*
 * What an entry keeps of one request or response.  The header fields are
 * parsed lazily: when the head is read, every field is checked (a bad one is
 * a parser error) and the framing fields (Content-Length, Transfer-Encoding,
 * Connection) are read; the fields' bytes are copied once, as one block
 * (raw_off, raw_len: the head's field lines as they came), and split into
 * names and values only when an entry is built (http_msg_to_doc).  A block
 * that does not fit in the text space is kept field by field in hdr[], as are
 * trailers.  Fields before `text` are reset for each message; text[] is not.
 */
struct http_msg {
	uint64_t ts_first, ts_last;
	uint64_t body_bytes;
	uint64_t content_length;
	bool seen;                /* the start line and headers were parsed */
	bool complete;            /* the body ended too */
	bool has_length, chunked, close_delimited;
	bool truncated;           /* the capture's snaplen cut part of it (headers or body) */
	uint8_t version_minor;
	uint16_t status;
	uint16_t method_off, method_len;   /* request */
	uint16_t path_off, path_len;       /* request */
	uint16_t reason_off, reason_len;   /* response */
	uint16_t n_hdr, hdr_dropped;   /* fields kept (raw block and hdr[]), not kept */
	uint16_t n_raw;           /* how many of the n_hdr are lines of the raw block */
	uint16_t raw_off, raw_len;
	uint16_t text_len;
	uint16_t kept_len;        /* name and value bytes of the fields kept, with the start line's */
	struct http_hdr hdr[HTTP_STORE_HEADERS];
	char text[HTTP_STORE_BYTES];
};

/* Clear a message for reuse (its text[] is left: only text_len bytes of it are read). */
void http_msg_reset(struct http_msg *m);
/* Copy a message (only the text in use). */
void http_msg_copy(struct http_msg *dst, const struct http_msg *src);

/* How a parsed head frames the body that follows. */
struct http_head {
	bool has_length, chunked, te_other, conn_close, upgrade;
	uint64_t content_length;
};

/*
 * Parse a complete head (start line through the empty line) of `dir`.
 * Returns 0, or -EINVAL with what was wrong in err.
 */
int http_parse_head(struct http_msg *m, struct http_head *h, enum dissect_dir dir,
		    const uint8_t *p, size_t n, char *err, size_t errlen);
/* Parse one trailer field line (without its line end) into m.  0 or -EINVAL. */
int http_parse_trailer(struct http_msg *m, const uint8_t *line, size_t n, char *err,
		       size_t errlen);
/* Is this the start of a request line (known method) or a status line?  1 yes, 0 no, -1 need more. */
int http_is_message_start(enum dissect_dir dir, const uint8_t *p, size_t n);
/* Does p look like it could be a start line?  false only when it plainly cannot. */
bool http_start_plausible(enum dissect_dir dir, const uint8_t *p, size_t n);
/* Length of the head up to and including its empty line; 0 when it has not ended yet. */
size_t http_head_length(const uint8_t *p, size_t n);
/* A chunk-size line (without its line end): hex size, optional extensions.  0 or -1. */
int http_parse_chunk_size(const uint8_t *p, size_t n, uint64_t *size);
/* Is `method` (len bytes) the one named? (case-sensitive, as methods are) */
bool http_method_is(const struct http_msg *m, const char *name);

/* Add "request" or "response" (`key`) for m to the entry. */
void http_msg_to_doc(const struct http_msg *m, enum dissect_dir dir, struct doc *d,
		     const char *key);

#endif
