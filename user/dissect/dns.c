// SPDX-License-Identifier: MIT
/*
 * DNS over UDP (one message per datagram) and TCP (RFC 7766: each message
 * behind a 2-byte length, several per connection).  Each query is an exchange
 * (dissect/exchange.h) until the response with its id arrives; the exchange
 * layer judges what is left when the flow ends or an ICMP error quotes it.
 *
 * Every read is bounds-checked against the message; names are decompressed
 * with a cap on pointer jumps and on the 255-byte name length, so a pointer
 * loop or a pointer past the end is a parser-error, never a hang.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline.h"
#include "core/bytes.h"
#include "core/config.h"
#include "dissect/appmsg.h"
#include "dissect/exchange.h"
#include "dissect/protocols.h"
#include "report/names.h"

#define DNS_PORT            53
#define DNS_HEADER_LEN      12
#define DNS_NAME_MAX        255   /* wire length of a name (RFC 1035 3.1) */
#define DNS_MAX_JUMPS       32    /* compression pointers followed per name */
#define DNS_MAX_OUTSTANDING 32    /* queries waiting for a response, per flow */
#define DNS_SHOW_QUESTIONS  1     /* QDCOUNT is 1 in practice (RFC 9619): the first is kept */
#define DNS_SHOW_RECORDS    8
#define DNS_NAME_TEXT       (DNS_NAME_MAX * 4 + 2)

#define DNS_TYPE_A     1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA  28
#define DNS_TYPE_OPT   41

struct dns_name {
	uint8_t len;                  /* wire length including the root label; 0 = none */
	uint8_t wire[DNS_NAME_MAX];   /* uncompressed labels */
};

/* What an entry shows of a query. */
struct dns_query {
	uint16_t id;
	uint16_t qtype;
	uint8_t opcode;
	bool has_question;
	struct dns_name qname;        /* the first question (in practice the only one) */
};

/* The record of one exchange. */
struct dns_exchange {
	bool has_query;               /* false: a response without its query */
	uint32_t retries;             /* the client sent the same query again this often */
	struct dns_query q;
};

/*
 * A query answered while the client's retries of it were still unanswered:
 * up to `answers` more responses to it are expected, and are not news.
 */
struct dns_answered {
	uint64_t ts_ns;
	uint32_t answers;
	struct dns_query q;
};

#define DNS_ANSWERED 4

/*
 * Payload skipping (ctx->skipping, DNS over TCP): a message of at least
 * DNS_LONG_MIN bytes is judged from its head (header, questions, the answer
 * records an entry shows or names are learned from; at most DNS_HEAD_MAX
 * bytes) and its last DNS_TAIL_MAX bytes (the OPT record, last in the
 * additional section); the bytes between are counted, not parsed, and the
 * capture may leave them in the kernel.
 */
#define DNS_LONG_MIN     FL_SKIP_DNS_LONG
#define DNS_HEAD_MAX     4096
#define DNS_TAIL_MAX     512
#define DNS_HEAD_RECORDS DNS_SHOW_RECORDS
#define DNS_HEAD_LEARN   32   /* answer records read when names are learned (DNS_LEARN_ADDRS) */

struct dns_state {
	bool tcp;
	bool stopped;                 /* after a parser-error on TCP */
	bool multicast;               /* mDNS: answers never come back on the query's flow */
	bool resync[2];               /* TCP framing lost (midstream, hole): find it again */
	bool partial[2];              /* TCP: part of a message waits in this direction */
	struct dns_long *lng[2];      /* TCP: a long message in progress, judged from head and tail */
	struct exchange_queue queries;
	struct dns_answered answered[DNS_ANSWERED];
};

struct dns_question {
	struct dns_name name;
	uint16_t type;
};

struct dns_record {
	struct dns_name name;
	uint16_t type;
	uint32_t ttl;
	uint32_t rdata_off;
	uint16_t rdlen;
};

/* One parsed message; names and records point into the message by offset. */
struct dns_msg {
	bool have_header;
	uint16_t id, qdcount, ancount, nscount, arcount;
	bool qr, tc;
	uint8_t opcode;
	uint16_t rcode;               /* with the EDNS extended bits */
	bool edns, edns_do;
	uint8_t edns_version;
	uint16_t edns_udp_size;
	unsigned n_questions, n_records;
	struct dns_question questions[DNS_SHOW_QUESTIONS];
	struct dns_record records[DNS_SHOW_RECORDS];
	/* Why the message is malformed, and where: section (0 header, 1 question,
	 * 2 answer, 3 authority, 4 additional), record number, byte offset. */
	const char *error;
	uint8_t section;
	unsigned record;
	size_t error_off;
};

/* ---- names, types, rcodes ---- */

/*
 * Decompress the name at msg[*off] into `name`; *off moves past the name
 * where it sits (a pointer ends it).  Returns NULL or what was wrong, with
 * *bad_off where.
 */
static const char *dns_name_read(const uint8_t *msg, size_t len, size_t *off,
				 struct dns_name *name, size_t *bad_off)
{
	size_t pos = *off, resume = 0, n = 0;
	unsigned jumps = 0;

	for (;;) {
		*bad_off = pos;
		if (pos >= len)
			return "name runs past the end of the message";
		uint8_t l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return "compression pointer cut short";
			size_t target = (size_t)(l & 0x3f) << 8 | msg[pos + 1];
			if (target >= len)
				return "compression pointer out of bounds";
			if (++jumps > DNS_MAX_JUMPS)
				return "compression pointer loop";
			if (jumps == 1)
				resume = pos + 2;
			pos = target;
			continue;
		}
		if (l & 0xc0)
			return "unsupported label type";
		if (n + 1 + l > DNS_NAME_MAX)
			return "name longer than 255 bytes";
		if (pos + 1 + l > len)
			return "label runs past the end of the message";
		memcpy(name->wire + n, msg + pos, 1 + (size_t)l);
		n += 1 + (size_t)l;
		if (l == 0)
			break;
		pos += 1 + (size_t)l;
	}
	name->len = (uint8_t)n;
	*off = jumps ? resume : pos + 1;
	return NULL;
}

/* Presentation form as dig prints it, without the final dot; the root is ".". */
static void dns_name_format(const struct dns_name *name, char *out, size_t outlen)
{
	size_t o = 0, i = 0;

	if (name->len == 0 || name->wire[0] == 0) {
		snprintf(out, outlen, ".");
		return;
	}
	while (i < name->len && name->wire[i] != 0) {
		uint8_t l = name->wire[i++];
		if (o && o + 1 < outlen)
			out[o++] = '.';
		for (uint8_t k = 0; k < l && i < name->len; k++, i++) {
			uint8_t c = name->wire[i];
			if (o + 5 >= outlen)
				break;
			if (c == '.' || c == '\\' || c == '"') {
				out[o++] = '\\';
				out[o++] = (char)c;
			} else if (c <= 0x20 || c >= 0x7f) {
				o += (size_t)snprintf(out + o, outlen - o, "\\%03u", c);
			} else {
				out[o++] = (char)c;
			}
		}
	}
	out[o < outlen ? o : outlen - 1] = '\0';
}

static const struct {
	uint16_t type;
	const char *name;
} dns_types[] = {
	{ 1, "A" }, { 2, "NS" }, { 3, "MD" }, { 4, "MF" }, { 5, "CNAME" }, { 6, "SOA" },
	{ 7, "MB" }, { 8, "MG" }, { 9, "MR" }, { 10, "NULL" }, { 11, "WKS" }, { 12, "PTR" },
	{ 13, "HINFO" }, { 14, "MINFO" }, { 15, "MX" }, { 16, "TXT" }, { 17, "RP" },
	{ 18, "AFSDB" }, { 19, "X25" }, { 20, "ISDN" }, { 21, "RT" }, { 22, "NSAP" },
	{ 23, "NSAP-PTR" }, { 24, "SIG" }, { 25, "KEY" }, { 26, "PX" }, { 27, "GPOS" },
	{ 28, "AAAA" }, { 29, "LOC" }, { 30, "NXT" }, { 31, "EID" }, { 32, "NIMLOC" },
	{ 33, "SRV" }, { 34, "ATMA" }, { 35, "NAPTR" }, { 36, "KX" }, { 37, "CERT" },
	{ 38, "A6" }, { 39, "DNAME" }, { 40, "SINK" }, { 41, "OPT" }, { 42, "APL" },
	{ 43, "DS" }, { 44, "SSHFP" }, { 45, "IPSECKEY" }, { 46, "RRSIG" }, { 47, "NSEC" },
	{ 48, "DNSKEY" }, { 49, "DHCID" }, { 50, "NSEC3" }, { 51, "NSEC3PARAM" },
	{ 52, "TLSA" }, { 53, "SMIMEA" }, { 55, "HIP" }, { 56, "NINFO" }, { 57, "RKEY" },
	{ 58, "TALINK" }, { 59, "CDS" }, { 60, "CDNSKEY" }, { 61, "OPENPGPKEY" },
	{ 62, "CSYNC" }, { 63, "ZONEMD" }, { 64, "SVCB" }, { 65, "HTTPS" }, { 99, "SPF" },
	{ 100, "UINFO" }, { 101, "UID" }, { 102, "GID" }, { 103, "UNSPEC" }, { 104, "NID" },
	{ 105, "L32" }, { 106, "L64" }, { 107, "LP" }, { 108, "EUI48" }, { 109, "EUI64" },
	{ 249, "TKEY" }, { 250, "TSIG" }, { 251, "IXFR" }, { 252, "AXFR" }, { 253, "MAILB" },
	{ 254, "MAILA" }, { 255, "ANY" }, { 256, "URI" }, { 257, "CAA" }, { 258, "AVC" },
	{ 259, "DOA" }, { 260, "AMTRELAY" }, { 261, "RESINFO" }, { 32768, "TA" },
	{ 32769, "DLV" },
};

/* "A", "AAAA", "MX", ...; RFC 3597's "TYPE1234" for the rest (buf >= 12). */
static const char *dns_type_name(uint16_t type, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(dns_types) / sizeof(dns_types[0]); i++)
		if (dns_types[i].type == type)
			return dns_types[i].name;
	snprintf(buf, len, "TYPE%u", type);
	return buf;
}

/*
 * RFC 6895 2.3.  16 is BADVERS when it comes from an OPT record's extended
 * bits (the only way a message rcode reaches 16); BADSIG shares it in TSIG.
 */
static const char *const dns_rcodes[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
	"YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI", NULL, NULL, NULL, NULL,
	"BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC",
	"BADCOOKIE",
};

static const char *dns_rcode_name(uint16_t rcode, char *buf, size_t len)
{
	if (rcode < sizeof(dns_rcodes) / sizeof(dns_rcodes[0]) && dns_rcodes[rcode])
		return dns_rcodes[rcode];
	snprintf(buf, len, "RCODE%u", rcode);
	return buf;
}

static const char *const dns_opcodes[] = {
	"QUERY", "IQUERY", "STATUS", NULL, "NOTIFY", "UPDATE", "DSO",
};

/* ---- parsing one message ---- */

static int dns_fail(struct dns_msg *m, const char *error, size_t off)
{
	m->error = error;
	m->error_off = off;
	return -EBADMSG;
}

/*
 * Parse the message; with `head` set, stop after the questions and the first
 * `head` answer records (or the whole answer section) and say in *head_end
 * where they end: the head of a long message, the rest unchecked.  `capped`:
 * `len` is only as much as a head may hold; past `head_min` records, the
 * record that does not fit in it ends the head.
 */
static int dns_parse_upto(const uint8_t *msg, size_t len, struct dns_msg *m, unsigned head,
			  unsigned head_min, bool capped, size_t *head_end)
{
	size_t off = DNS_HEADER_LEN, bad;
	const char *err;

	memset(m, 0, sizeof(*m));
	if (len < DNS_HEADER_LEN)
		return dns_fail(m, "message shorter than the 12-byte header", len);
	m->have_header = true;
	m->id = be16(msg);
	m->qr = msg[2] & 0x80;
	m->opcode = (msg[2] >> 3) & 0x0f;
	m->tc = msg[2] & 0x02;
	m->rcode = msg[3] & 0x0f;
	m->qdcount = be16(msg + 4);
	m->ancount = be16(msg + 6);
	m->nscount = be16(msg + 8);
	m->arcount = be16(msg + 10);

	for (unsigned i = 0; i < m->qdcount; i++) {
		struct dns_question q;
		m->section = 1;
		m->record = i + 1;
		if ((err = dns_name_read(msg, len, &off, &q.name, &bad)))
			return dns_fail(m, err, bad);
		if (len - off < 4)
			return dns_fail(m, "question cut short", off);
		q.type = be16(msg + off);
		off += 4;
		if (m->n_questions < DNS_SHOW_QUESTIONS)
			m->questions[m->n_questions++] = q;
	}

	unsigned counts[3] = { m->ancount, m->nscount, m->arcount };
	for (unsigned s = 0; s < 3; s++) {
		for (unsigned i = 0; i < counts[s]; i++) {
			struct dns_record rr;
			if (head && (s > 0 || i == head)) {
				*head_end = off;
				return 0;
			}
			if (head && capped && i >= head_min) {
				size_t o = off;
				if (dns_name_read(msg, len, &o, &rr.name, &bad) || len - o < 10 ||
				    len - o - 10 < be16(msg + o + 8)) {
					*head_end = off;
					return 0;
				}
			}
			m->section = (uint8_t)(2 + s);
			m->record = i + 1;
			if ((err = dns_name_read(msg, len, &off, &rr.name, &bad)))
				return dns_fail(m, err, bad);
			if (len - off < 10)
				return dns_fail(m, "record header cut short", off);
			rr.type = be16(msg + off);
			uint16_t rclass = be16(msg + off + 2);
			rr.ttl = be32(msg + off + 4);
			rr.rdlen = be16(msg + off + 8);
			off += 10;
			if (len - off < rr.rdlen)
				return dns_fail(m, "record data runs past the end of the message", off);
			rr.rdata_off = (uint32_t)off;
			/*
			 * An UPDATE's prerequisites and deletions carry no data: class
			 * ANY or NONE with RDLENGTH 0 whatever the type ("name in use",
			 * "delete the RRset").  Nothing to check or show.
			 */
			if (rr.rdlen == 0 && rr.type != DNS_TYPE_OPT && (rclass == 254 || rclass == 255))
				continue;

			if (s == 0 && (rr.type == DNS_TYPE_A || rr.type == DNS_TYPE_AAAA) &&
			    rr.rdlen != (rr.type == DNS_TYPE_A ? 4 : 16))
				return dns_fail(m, rr.type == DNS_TYPE_A ? "A record data is not 4 bytes"
						: "AAAA record data is not 16 bytes", off);
			if (s == 0 && rr.type == DNS_TYPE_CNAME) {
				size_t name_off = off;
				struct dns_name target;
				if ((err = dns_name_read(msg, len, &name_off, &target, &bad)))
					return dns_fail(m, err, bad);
				if (name_off > off + rr.rdlen)
					return dns_fail(m, "CNAME runs past its record data", off);
			}
			if (rr.type == DNS_TYPE_OPT && s == 2 && !m->edns) {
				/* RFC 6891 6.1.3: the TTL carries the upper rcode bits, version, DO. */
				if (rr.name.len != 1)
					return dns_fail(m, "OPT record not owned by the root", off - 10);
				m->edns = true;
				m->edns_udp_size = rclass;
				m->rcode |= (uint16_t)((rr.ttl >> 24) << 4);
				m->edns_version = (uint8_t)(rr.ttl >> 16);
				m->edns_do = rr.ttl & 0x8000;
			}
			if (s == 0 && m->n_records < DNS_SHOW_RECORDS)
				m->records[m->n_records++] = rr;
			off += rr.rdlen;
		}
	}
	if (head)
		*head_end = off;
	return 0;
}

static int dns_parse(const uint8_t *msg, size_t len, struct dns_msg *m)
{
	return dns_parse_upto(msg, len, m, 0, 0, false, NULL);
}

/* ---- names learned from answers ---- */

#define DNS_LEARN_CNAMES 16   /* CNAME records followed per answer */
#define DNS_LEARN_ADDRS  32   /* A/AAAA records learned per answer */

static bool dns_name_equal(const struct dns_name *a, const struct dns_name *b)
{
	if (a->len != b->len)
		return false;
	for (unsigned i = 0; i < a->len; i++) {
		uint8_t x = a->wire[i], y = b->wire[i];
		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y + 32);
		if (x != y)
			return false;
	}
	return true;
}

/*
 * Remember the addresses of a NOERROR answer under the name that was asked
 * for: an A/AAAA record reached through CNAMEs is named after the head of
 * its chain (what the client resolved), else after its owner.
 */
static void dns_learn(struct dissect_ctx *ctx, const uint8_t *msg, size_t len,
		      const struct dns_msg *m)
{
	struct { struct dns_name owner, target; } cn[DNS_LEARN_CNAMES];
	struct { struct dns_name owner; struct fl_addr addr; uint32_t ttl; } rec[DNS_LEARN_ADDRS];
	unsigned n_cn = 0, n_rec = 0;
	size_t off = DNS_HEADER_LEN, bad;
	struct dns_name skip;

	if (!ctx->em->names || !m->qr || m->rcode != 0 || m->opcode != 0 || !m->ancount)
		return;
	for (unsigned i = 0; i < m->qdcount; i++) {
		if (dns_name_read(msg, len, &off, &skip, &bad) || len - off < 4)
			return;
		off += 4;
	}
	for (unsigned i = 0; i < m->ancount; i++) {
		struct dns_name owner;
		/* A long message's head ends inside the answers: learn what it holds. */
		if (dns_name_read(msg, len, &off, &owner, &bad) || len - off < 10)
			break;
		uint16_t type = be16(msg + off), rdlen = be16(msg + off + 8);
		uint32_t ttl = be32(msg + off + 4);
		off += 10;
		if (len - off < rdlen)
			break;
		if (type == DNS_TYPE_CNAME && n_cn < DNS_LEARN_CNAMES) {
			size_t t = off;
			cn[n_cn].owner = owner;
			if (!dns_name_read(msg, len, &t, &cn[n_cn].target, &bad))
				n_cn++;
		} else if ((type == DNS_TYPE_A && rdlen == 4) || (type == DNS_TYPE_AAAA && rdlen == 16)) {
			if (n_rec < DNS_LEARN_ADDRS) {
				rec[n_rec].owner = owner;
				memset(&rec[n_rec].addr, 0, sizeof(rec[n_rec].addr));
				rec[n_rec].addr.family = type == DNS_TYPE_A ? 4 : 6;
				memcpy(rec[n_rec].addr.bytes, msg + off, rdlen);
				rec[n_rec].ttl = ttl;
				n_rec++;
			}
		}
		off += rdlen;
	}
	for (unsigned r = 0; r < n_rec; r++) {
		const struct dns_name *name = &rec[r].owner;
		for (unsigned step = 0; step < DNS_LEARN_CNAMES; step++) {
			unsigned c = 0;
			while (c < n_cn && !dns_name_equal(&cn[c].target, name))
				c++;
			if (c == n_cn)
				break;
			name = &cn[c].owner;
		}
		char text[DNS_NAME_TEXT];
		dns_name_format(name, text, sizeof(text));
		uint64_t ttl = rec[r].ttl > NAMES_MIN_TTL_S ? rec[r].ttl : NAMES_MIN_TTL_S;
		names_learn(ctx->em->names, &rec[r].addr, text, NULL, ctx->ts_ns + ttl * 1000000000ull,
			    false);
	}
}

/* ---- entries ---- */

static void dns_add_name(struct doc *d, uint32_t parent, const char *key,
			 const struct dns_name *name)
{
	char text[DNS_NAME_TEXT];
	dns_name_format(name, text, sizeof(text));
	doc_add_str(d, parent, key, text);
}

static void dns_add_request(struct doc *d, const struct dns_query *q)
{
	char buf[16];
	uint32_t req = doc_add_obj(d, DOC_ROOT, "request");

	doc_add_int(d, req, "id", q->id);
	if (q->opcode != 0) {
		const char *op = q->opcode < sizeof(dns_opcodes) / sizeof(dns_opcodes[0])
				 ? dns_opcodes[q->opcode] : NULL;
		if (op)
			doc_add_str(d, req, "opcode", op);
		else
			doc_add_int(d, req, "opcode", q->opcode);
	}
	uint32_t qs = doc_add_arr(d, req, "questions");
	if (q->has_question) {
		uint32_t o = doc_add_obj(d, qs, NULL);
		dns_add_name(d, o, "name", &q->qname);
		doc_add_str(d, o, "type", dns_type_name(q->qtype, buf, sizeof(buf)));
	}
}

static void dns_add_record_data(struct doc *d, uint32_t o, const uint8_t *msg, size_t len,
				const struct dns_record *rr)
{
	char text[DNS_NAME_TEXT];
	struct fl_addr a = { 0 };

	switch (rr->type) {
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA:
		a.family = rr->type == DNS_TYPE_A ? 4 : 6;
		memcpy(a.bytes, msg + rr->rdata_off, rr->rdlen);
		doc_add_str(d, o, "data", addr_format(&a, text, sizeof(text)));
		break;
	case DNS_TYPE_CNAME: {
		struct dns_name target;
		size_t off = rr->rdata_off, bad;
		if (!dns_name_read(msg, len, &off, &target, &bad)) /* checked by dns_parse */
			dns_add_name(d, o, "data", &target);
		break;
	}
	default:
		break;
	}
}

static void dns_add_response(struct doc *d, const struct dns_msg *m, const uint8_t *msg,
			     size_t len)
{
	char buf[16];
	uint32_t resp = doc_add_obj(d, DOC_ROOT, "response");

	doc_add_int(d, resp, "rcode", m->rcode);
	doc_add_str(d, resp, "rcode_name", dns_rcode_name(m->rcode, buf, sizeof(buf)));
	doc_add_int(d, resp, "answers", m->ancount);
	if (m->tc)
		doc_add_bool(d, resp, "truncated", true);
	if (m->edns) {
		uint32_t e = doc_add_obj(d, resp, "edns");
		doc_add_int(d, e, "version", m->edns_version);
		doc_add_int(d, e, "udp_size", m->edns_udp_size);
	}
	if (m->n_records) {
		uint32_t arr = doc_add_arr(d, resp, "records");
		for (unsigned i = 0; i < m->n_records; i++) {
			const struct dns_record *rr = &m->records[i];
			uint32_t o = doc_add_obj(d, arr, NULL);
			dns_add_name(d, o, "name", &rr->name);
			doc_add_str(d, o, "type", dns_type_name(rr->type, buf, sizeof(buf)));
			doc_add_int(d, o, "ttl", rr->ttl);
			dns_add_record_data(d, o, msg, len, rr);
		}
	}
}

/* A response as the exchange layer hands it back to dns_fill(). */
struct dns_reply {
	const struct dns_msg *m;
	const uint8_t *msg;           /* the message bytes its records point into */
	size_t len;
};

static void dns_fill(struct exchange_queue *q, struct dissect_ctx *ctx, struct doc *d,
		     const struct exchange *ex, const void *response)
{
	const struct dns_state *s = q->owner;
	const struct dns_exchange *x = exchange_cdata(ex);
	const struct dns_reply *r = response;

	doc_add_str(d, DOC_ROOT, "transport", s->tcp ? "tcp" : "udp");
	if (x->has_query)
		dns_add_request(d, &x->q);
	else
		doc_add_null(d, DOC_ROOT, "request");
	if (r) {
		dns_add_response(d, r->m, r->msg, r->len);
		if (!x->has_query) {
			/* The query was before the capture started (or lost): show what the
			 * response echoes of it. */
			uint32_t resp = doc_get(d, DOC_ROOT, "response");
			doc_add_int(d, resp, "id", x->q.id);
			if (x->q.has_question) {
				char buf[16];
				uint32_t qs = doc_add_arr(d, resp, "questions");
				uint32_t o = doc_add_obj(d, qs, NULL);
				dns_add_name(d, o, "name", &x->q.qname);
				doc_add_str(d, o, "type", dns_type_name(x->q.qtype, buf, sizeof(buf)));
			}
		}
	} else {
		doc_add_null(d, DOC_ROOT, "response");
	}
	if (x->has_query && r)
		doc_add_real(d, DOC_ROOT, "elapsed_ms", elapsed_ms(ex->ts_ns, ctx->ts_ns));
	else
		doc_add_null(d, DOC_ROOT, "elapsed_ms");
	if (x->retries) {
		uint32_t o = doc_add_obj(d, DOC_ROOT, "dns");
		doc_add_int(d, o, "retries", x->retries);
	}
}

/* ---- the waiting queries ---- */

static struct exchange *dns_find(struct dns_state *s, uint16_t id)
{
	for (struct exchange *ex = exchange_first(&s->queries); ex; ex = ex->next)
		if (((struct dns_exchange *)exchange_data(ex))->q.id == id)
			return ex;
	return NULL;
}

static void dns_query_from_msg(struct dns_query *q, const struct dns_msg *m)
{
	memset(q, 0, sizeof(*q));
	q->id = m->id;
	q->opcode = m->opcode;
	if (m->n_questions) {
		q->has_question = true;
		q->qname = m->questions[0].name;
		q->qtype = m->questions[0].type;
	}
}

/* An exchange outside the queue for this message (the query it carries or echoes). */
static struct exchange *dns_lone(struct dns_state *s, struct dissect_ctx *ctx,
				 const struct dns_msg *m, bool has_query)
{
	struct exchange *ex = exchange_new(&s->queries, ctx, ctx->ts_ns);
	if (!ex)
		return NULL;
	struct dns_exchange *x = exchange_data(ex);
	x->has_query = has_query;
	if (m)
		dns_query_from_msg(&x->q, m);
	return ex;
}

static bool dns_same_question(const struct dns_query *a, const struct dns_query *b)
{
	return a->id == b->id && a->has_question == b->has_question && a->qtype == b->qtype &&
	       a->qname.len == b->qname.len && !memcmp(a->qname.wire, b->qname.wire, a->qname.len);
}

static void dns_add_query(struct dns_state *s, struct dissect_ctx *ctx, const struct dns_msg *m)
{
	struct exchange *ex;
	struct dns_query q;

	/* The same id again is the client retrying: keep the first send's time, count it. */
	if ((ex = dns_find(s, m->id))) {
		struct dns_exchange *x = exchange_data(ex);
		dns_query_from_msg(&q, m);
		if (dns_same_question(&x->q, &q))
			x->retries++;
		return;
	}
	if (s->queries.count == DNS_MAX_OUTSTANDING)
		exchange_fail(&s->queries, ctx, exchange_first(&s->queries), FL_ERR_HALF_CONNECTION,
			      "response missing: too many queries outstanding on the flow", "timeout",
			      NULL);
	ex = exchange_open(&s->queries, ctx, ctx->ts_ns);
	if (!ex)
		return;   /* out of memory: the response will show as midstream */
	struct dns_exchange *x = exchange_data(ex);
	x->has_query = true;
	dns_query_from_msg(&x->q, m);
}

/* Answered with retries outstanding: their answers may follow. */
static void dns_remember_answered(struct dns_state *s, struct dissect_ctx *ctx,
				  const struct dns_exchange *x)
{
	struct dns_answered *slot = &s->answered[0];
	if (!x->retries)
		return;
	for (unsigned i = 1; i < DNS_ANSWERED; i++)
		if (s->answered[i].ts_ns < slot->ts_ns)
			slot = &s->answered[i];    /* the oldest (or a free one) goes */
	slot->ts_ns = ctx->ts_ns;
	slot->answers = x->retries;
	slot->q = x->q;
}

/* Is this response one more answer to a query already answered (within the timeout)? */
static bool dns_expected_answer(struct dns_state *s, struct dissect_ctx *ctx,
				const struct dns_msg *m)
{
	struct dns_query q;
	dns_query_from_msg(&q, m);
	for (unsigned i = 0; i < DNS_ANSWERED; i++) {
		struct dns_answered *a = &s->answered[i];
		if (!a->answers || !dns_same_question(&a->q, &q))
			continue;
		if (ctx->timeout_ms && ctx->ts_ns - a->ts_ns > ctx->timeout_ms * 1000000ull) {
			a->answers = 0;
			continue;
		}
		a->answers--;
		return true;
	}
	return false;
}

/* A well-formed message (`msg` holds what its records point into): a query or its answer. */
static void dns_dispatch(struct dns_state *s, struct dissect_ctx *ctx, const struct dns_msg *m,
			 const uint8_t *msg, size_t len)
{
	struct exchange *ex;

	if (s->multicast)
		return;   /* unanswered queries and unsolicited answers are how mDNS works */
	dns_learn(ctx, msg, len, m);
	if (!m->qr) {
		dns_add_query(s, ctx, m);
		return;
	}
	struct dns_reply reply = { m, msg, len };
	if ((ex = dns_find(s, m->id))) {
		dns_remember_answered(s, ctx, exchange_data(ex));
		exchange_complete(&s->queries, ctx, ex, &reply);
		return;
	}
	if (dns_expected_answer(s, ctx, m) || s->queries.quiet_unanswered)
		return;   /* the answer to a retry of a query already answered, or to a broadcast */
	/* The query was before the capture started (or lost). */
	if ((ex = dns_lone(s, ctx, m, false)))
		exchange_fail(&s->queries, ctx, ex, FL_ERR_HALF_CONNECTION,
			      "query missing: response without its query", "midstream", &reply);
}

/* One whole message.  Returns 0, or -EBADMSG after reporting a parser-error. */
static int dns_message(struct dns_state *s, struct dissect_ctx *ctx, const uint8_t *msg,
		       size_t len)
{
	struct dns_msg m;
	struct exchange *ex;
	int rc = dns_parse(msg, len, &m);

	exchange_expire(&s->queries, ctx);
	if (rc < 0) {
		static const char *const sections[] = { "header", "question", "answer", "authority",
							"additional" };
		char text[160], where[24];
		if (m.section)
			snprintf(where, sizeof(where), "%s %u", sections[m.section], m.record);
		else
			snprintf(where, sizeof(where), "header");
		snprintf(text, sizeof(text), "malformed DNS %s: %s: %s at offset %zu",
			 !m.have_header ? "message" : m.qr ? "response" : "query", where,
			 m.error, m.error_off);
		if (!(m.have_header && m.qr && (ex = dns_find(s, m.id))))
			ex = dns_lone(s, ctx, m.have_header && !m.qr ? &m : NULL,
				      m.have_header && !m.qr);
		if (ex)
			exchange_fail(&s->queries, ctx, ex, FL_ERR_PARSER, text, NULL, NULL);
		return rc;
	}
	dns_dispatch(s, ctx, &m, msg, len);
	return 0;
}

/* ---- long messages over TCP (payload skipping) ---- */

struct dns_long {
	struct fl_stats *stats;       /* memory.reassembly_bytes counts this */
	uint32_t len;                 /* the message's length */
	uint32_t remaining;           /* its bytes not yet consumed or skipped */
	uint32_t head_len, tail_len;
	bool lost;                    /* a hole: the exchanges failed, the rest is stepped over */
	struct dns_msg m;             /* the head, parsed */
	uint8_t head[DNS_HEAD_MAX];
	uint8_t tail[DNS_TAIL_MAX];
};

static void dns_long_free(struct dns_state *s, int dir)
{
	struct dns_long *l = s->lng[dir];
	if (!l)
		return;
	l->stats->memory.reassembly_bytes -= sizeof(*l);
	free(l);
	s->lng[dir] = NULL;
}

/*
 * The OPT record, when it is the message's last record (where servers put it,
 * before a TSIG): the root name, type 41, and data that are exactly well-formed
 * options up to the end.  The first such place in the tail is taken.
 */
static void dns_tail_opt(struct dns_msg *m, const uint8_t *t, size_t len)
{
	if (!m->arcount || len < 11)
		return;
	for (size_t p = 0; p + 11 <= len; p++) {
		if (t[p] != 0 || be16(t + p + 1) != DNS_TYPE_OPT || p + 11 + be16(t + p + 9) != len)
			continue;
		size_t o = p + 11;
		while (len - o >= 4 && len - o - 4 >= be16(t + o + 2))
			o += 4 + (size_t)be16(t + o + 2);
		if (o != len)
			continue;
		uint32_t ttl = be32(t + p + 5);
		m->edns = true;
		m->edns_udp_size = be16(t + p + 3);
		m->rcode |= (uint16_t)((ttl >> 24) << 4);
		m->edns_version = (uint8_t)(ttl >> 16);
		m->edns_do = ttl & 0x8000;
		return;
	}
}

/*
 * A message of `mlen` bytes starting at `msg`, `avail` of them here: when it
 * is long and its head is all here and well-formed, keep the head and start
 * judging it as a long message.  False: wait for the whole message as usual.
 */
static bool dns_long_begin(struct dns_state *s, struct dissect_ctx *ctx, int dir,
			   const uint8_t *msg, size_t avail, size_t mlen)
{
	struct dns_msg m;
	size_t head_len;
	unsigned want = ctx->em->names ? DNS_HEAD_LEARN : DNS_HEAD_RECORDS;

	if (!ctx->skipping || mlen < DNS_LONG_MIN || avail < DNS_HEADER_LEN)
		return false;
	/* Names are learned from the answers that fit in the head (at least those shown). */
	if (dns_parse_upto(msg, avail < DNS_HEAD_MAX ? avail : DNS_HEAD_MAX, &m, want,
			   DNS_HEAD_RECORDS, avail >= DNS_HEAD_MAX, &head_len) < 0)
		return false;     /* not all here yet, too long, or malformed: the whole message decides */
	if (!memory_allows(ctx->stats, sizeof(struct dns_long))) {
		ctx->stats->memory.over_limit++;
		return false;
	}
	struct dns_long *l = malloc(sizeof(*l));
	if (!l)
		return false;
	l->stats = ctx->stats;
	l->stats->memory.reassembly_bytes += sizeof(*l);
	l->len = (uint32_t)mlen;
	l->remaining = (uint32_t)mlen;
	l->head_len = (uint32_t)head_len;
	l->tail_len = DNS_TAIL_MAX;
	l->lost = false;
	l->m = m;
	memcpy(l->head, msg, head_len);
	s->lng[dir] = l;
	return true;
}

/* The whole long message went by: judge it from its head and tail. */
static void dns_long_end(struct dns_state *s, struct dissect_ctx *ctx, int dir)
{
	struct dns_long *l = s->lng[dir];
	if (!l->lost) {
		dns_tail_opt(&l->m, l->tail, l->tail_len);
		exchange_expire(&s->queries, ctx);
		dns_dispatch(s, ctx, &l->m, l->head, l->head_len);
	}
	dns_long_free(s, dir);
}

/* Bytes of a long message: the tail is kept, the rest only counted.  Returns bytes used. */
static size_t dns_long_take(struct dns_state *s, struct dissect_ctx *ctx, int dir,
			    const uint8_t *data, size_t len)
{
	struct dns_long *l = s->lng[dir];
	size_t n = len < l->remaining ? len : l->remaining;
	size_t pos = l->len - l->remaining;          /* offset in the message */
	size_t tail_at = l->len - l->tail_len;
	if (pos + n > tail_at) {
		size_t from = pos > tail_at ? pos : tail_at;
		memcpy(l->tail + (from - tail_at), data + (from - pos), pos + n - from);
	}
	l->remaining -= (uint32_t)n;
	if (!l->remaining)
		dns_long_end(s, ctx, dir);
	return n;
}

/* Bytes of a long message never seen; false when they run past it. */
static bool dns_long_gap(struct dns_state *s, struct dissect_ctx *ctx, int dir, uint64_t missing)
{
	struct dns_long *l = s->lng[dir];
	if (!l || ctx->unconsumed[dir] || missing > l->remaining)
		return false;
	/* A hole in a message: what waits on it is lost (once), as for a short one;
	 * the length still says where the next message starts. */
	if (!ctx->skipped) {
		if (dir == DISSECT_TO_SERVER)
			s->queries.unowned_missed += missing;
		else if (l->lost)
			exchange_gap(&s->queries, ctx, dir, missing);
		else
			exchange_lose_all(&s->queries, ctx, dir, missing);
		l->lost = true;
	}
	l->remaining -= (uint32_t)missing;
	if (!l->remaining)
		dns_long_end(s, ctx, dir);
	return true;
}

/* ---- the ops ---- */

static bool dns_port_hint(uint16_t port)
{
	return port == DNS_PORT || port == 5353 || port == 5355;
}

/* Does a DNS header sit at p (len >= 12)?  Strict when no port says DNS. */
static bool dns_header_plausible(const uint8_t *p, size_t len, enum dissect_dir dir, bool hint)
{
	bool qr = p[2] & 0x80;
	uint8_t opcode = (p[2] >> 3) & 0x0f;
	uint16_t qd = be16(p + 4), an = be16(p + 6), ns = be16(p + 8), ar = be16(p + 10);

	if (opcode == 3 || opcode > 6)
		return false;
	if (hint)
		return qd <= 16;
	/* Without the port: a plain query or answer, with the counts it must have. */
	if (qr != (dir == DISSECT_TO_CLIENT) || opcode != 0 || qd != 1 || (p[2] & 0x04 && !qr))
		return false;
	if (!qr && (an != 0 || ns != 0 || ar > 2))
		return false;
	/*
	 * The question name must be well formed and end inside the message, and
	 * its type and class be ones a resolver asks (type 0 and class 0 are
	 * reserved): other protocols' zero-filled headers (a DHCP LEASEQUERY read
	 * with a 2-byte length before it) otherwise pass as a query for ".".
	 * The class's top bit is mDNS's unicast-response flag.
	 */
	size_t off = DNS_HEADER_LEN, bad;
	struct dns_name name;
	if (dns_name_read(p, len, &off, &name, &bad) || off + 4 > len)
		return false;
	uint16_t qtype = be16(p + off), qclass = be16(p + off + 2) & 0x7fff;
	return qtype != 0 && (qclass == 1 || qclass == 3 || qclass == 4 || qclass == 254 ||
			      qclass == 255);
}

static enum dissect_probe dns_probe(const uint8_t *data, size_t len, enum dissect_dir dir,
				    bool port_hint)
{
	/* Over TCP a 2-byte length comes first; the probe does not know which it is. */
	if (len >= 2 + DNS_HEADER_LEN && be16(data) >= DNS_HEADER_LEN) {
		size_t mlen = be16(data);
		if (dns_header_plausible(data + 2, len - 2 < mlen ? len - 2 : mlen, dir, port_hint))
			return DISSECT_PROBE_YES;
	}
	if (len >= DNS_HEADER_LEN && dns_header_plausible(data, len, dir, port_hint))
		return DISSECT_PROBE_YES;
	if (len < 2 + DNS_HEADER_LEN && port_hint)
		return DISSECT_PROBE_MAYBE;
	return DISSECT_PROBE_NO;
}

static bool dns_multicast_addr(const struct fl_endpoint *ep)
{
	return (ep->addr.family == 4 && (ep->addr.bytes[0] & 0xf0) == 0xe0) ||
	       (ep->addr.family == 6 && ep->addr.bytes[0] == 0xff);
}

/*
 * mDNS (and LLMNR) by their multicast destination (224.0.0.251, ff02::fb),
 * or 5353 on both sides (responders answer from 5353); a unicast query from
 * any other port to a server on 5353 is plain DNS.  LLMNR responders answer
 * a multicast query by unicast from 5355, in a flow of its own, and stay
 * silent for names they do not own: port 5355 on either side is LLMNR.
 */
static bool dns_is_mdns(const struct dissect_ctx *ctx)
{
	return dns_multicast_addr(&ctx->client) || dns_multicast_addr(&ctx->server) ||
	       (ctx->client.port == 5353 && ctx->server.port == 5353) ||
	       ctx->client.port == 5355 || ctx->server.port == 5355;
}

/*
 * Queries nobody has to answer: NetBIOS name service (UDP 137, mostly
 * broadcast: hosts that do not have the name stay silent) and queries to the
 * broadcast address.  Unanswered, they are no half-connection.
 */
static bool dns_is_broadcast(const struct dissect_ctx *ctx)
{
	static const uint8_t all_ones[4] = { 255, 255, 255, 255 };
	return ctx->client.port == 137 || ctx->server.port == 137 ||
	       (ctx->server.addr.family == 4 && !memcmp(ctx->server.addr.bytes, all_ones, 4));
}

static void *dns_new(struct dissect_ctx *ctx)
{
	struct dns_state *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->tcp = ctx->transport == DISSECT_TCP;
	if (s->tcp && ctx->midstream)
		s->resync[0] = s->resync[1] = true;
	s->multicast = dns_is_mdns(ctx);
	exchange_queue_init(&s->queries, dns_dissector.name, sizeof(struct dns_exchange),
			    DNS_MAX_OUTSTANDING, dns_fill, s);
	s->queries.quiet_unanswered = dns_is_broadcast(ctx);
	return s;
}

static void dns_free(void *state)
{
	struct dns_state *s = state;
	if (!s)
		return;
	dns_long_free(s, 0);
	dns_long_free(s, 1);
	exchange_queue_free(&s->queries);
	free(s);
}

static ssize_t dns_parse_op(void *state, struct dissect_ctx *ctx, enum dissect_dir dir,
			    const uint8_t *data, size_t len)
{
	struct dns_state *s = state;
	size_t used = 0;

	if (s->stopped)
		return (ssize_t)len;
	if (!s->tcp) {
		dns_message(s, ctx, data, len);   /* a bad datagram does not end the flow */
		return (ssize_t)len;
	}
	if (s->resync[dir]) {
		/* Framing lost: a chunk must start with a length and a plausible header. */
		if (len < 2 + DNS_HEADER_LEN)
			return 0;
		size_t mlen = be16(data);
		if (mlen < DNS_HEADER_LEN ||
		    !dns_header_plausible(data + 2, len - 2 < mlen ? len - 2 : mlen, dir, true))
			return (ssize_t)len;
		s->resync[dir] = false;
	}
	for (;;) {
		if (s->lng[dir]) {
			used += dns_long_take(s, ctx, dir, data + used, len - used);
			if (s->lng[dir])
				break;
			continue;
		}
		if (len - used < 2)
			break;
		size_t mlen = be16(data + used);
		if (len - used - 2 < mlen) {
			if (dns_long_begin(s, ctx, dir, data + used + 2, len - used - 2, mlen)) {
				used += 2 + s->lng[dir]->head_len;
				s->lng[dir]->remaining -= s->lng[dir]->head_len;
				continue;
			}
			break;
		}
		if (dns_message(s, ctx, data + used + 2, mlen) < 0) {
			s->stopped = true;
			return -1;
		}
		used += 2 + mlen;
	}
	s->partial[dir] = used < len || s->lng[dir];
	return (ssize_t)used;
}

static void dns_gap(void *state, struct dissect_ctx *ctx, enum dissect_dir dir, uint64_t missing)
{
	struct dns_state *s = state;
	if (dns_long_gap(s, ctx, dir, missing)) {
		s->partial[dir] = s->lng[dir] != NULL;
		return;
	}
	dns_long_free(s, dir);
	/*
	 * A hole among the queries: the queries already whole still wait for
	 * their answers (matched by id); the hole held other queries, or cut the
	 * one in progress, and is the next query's loss.  Framing is found again.
	 */
	if (dir == DISSECT_TO_SERVER && !ctx->truncated) {
		s->queries.unowned_missed += missing;
		s->partial[dir] = false;
		s->resync[dir] = true;
		return;
	}
	/* A hole among the answers may have held any waiting query's: what waits is lost. */
	exchange_lose_all(&s->queries, ctx, dir, missing);
	s->partial[dir] = false;
	s->resync[dir] = true;
}

static void dns_end(void *state, struct dissect_ctx *ctx)
{
	struct dns_state *s = state;
	struct exchange *ex;

	if (s->tcp && !s->stopped && s->partial[DISSECT_TO_CLIENT] &&
	    (ex = exchange_first(&s->queries))) {
		exchange_cut(&s->queries, ctx, ex, DISSECT_TO_CLIENT, "in the middle of a DNS response",
			     NULL);
	} else if (s->tcp && !s->stopped && s->partial[DISSECT_TO_SERVER] &&
		   (ex = dns_lone(s, ctx, NULL, false))) {
		exchange_cut(&s->queries, ctx, ex, DISSECT_TO_SERVER, "in the middle of a DNS query",
			     NULL);
	}
	s->partial[0] = s->partial[1] = false;
	dns_long_free(s, 0);
	dns_long_free(s, 1);
	exchange_end(&s->queries, ctx);
}

/* A UDP quote carries the query's id: only that query is lost. */
static enum exchange_pick dns_pick_id(struct exchange *ex, void *arg)
{
	const struct dns_exchange *x = exchange_cdata(ex);
	return x->q.id == *(const uint16_t *)arg ? EXCHANGE_PICK_FAIL : EXCHANGE_PICK_SKIP;
}

static void dns_icmp(void *state, struct dissect_ctx *ctx, const struct dissect_icmp *icmp)
{
	struct dns_state *s = state;
	uint16_t id;

	if (!s->tcp && icmp->quoted_len >= 2 && dns_find(s, id = be16(icmp->quoted_payload)))
		exchange_icmp(&s->queries, ctx, icmp, dns_pick_id, &id);
	else
		exchange_icmp(&s->queries, ctx, icmp, NULL, NULL);
}

static bool dns_pending(void *state)
{
	const struct dns_state *s = state;
	return s->queries.count || s->partial[0] || s->partial[1];
}

/* The middle of a long message: only counted (the tail is read). */
static uint64_t dns_skippable(void *state, enum dissect_dir dir)
{
	const struct dns_state *s = state;
	const struct dns_long *l = s->lng[dir];
	if (!l || s->stopped || l->remaining <= l->tail_len)
		return 0;
	return l->remaining - l->tail_len;
}

const struct dissector_ops dns_dissector = {
	.name = "dns",
	.transports = DISSECT_TCP | DISSECT_UDP,
	.port_hint = dns_port_hint,
	.probe = dns_probe,
	.new = dns_new,
	.state_size = sizeof(struct dns_state),
	.free = dns_free,
	.parse = dns_parse_op,
	.gap = dns_gap,
	.end = dns_end,
	.icmp = dns_icmp,
	.pending = dns_pending,
	.skippable = dns_skippable,
};
