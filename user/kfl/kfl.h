/* SPDX-License-Identifier: MIT */
/*
 * KFL, the Kubeshark Filter Language, over entry docs: a query selects the entries it is
 * true for (-f, --write-filter, `faultline query -f`).
 *
 *   response.status > 400 or error or icmp or tcp
 *   request.headers["Host"].endsWith(".example") and !(dst.port == 8080)
 *   error.type == r"half|tcp"
 *
 * Compile once with kfl_compile(); kfl_match() then walks the entry doc
 * without allocating (paths are split into keys and regexes compiled, with
 * their match data, at compile time).  A compiled expression holds PCRE2
 * match data, so one expression is used by one thread at a time.
 *
 * Semantics where Kubeshark leaves room (documented in user/kfl/README.md):
 *  - a field that is absent or null makes every comparison false, `!=`
 *    included, except `== null` (true) and `!= null` (false);
 *  - numbers compare numerically, strings bytewise; a string compared with a
 *    number compares numerically when the whole string is a number
 *    (`response.status == "500"` is true), otherwise `==` is false and `!=`
 *    true; a string compared with a boolean compares with "true"/"false";
 *  - `x == r"re"` is an unanchored PCRE2 match (like Go's MatchString) of
 *    the field's text; `!=` is its negation;
 *  - `not`/`!` binds tighter than `and`/`or` and applies to a whole
 *    comparison: `!a == 1` is `!(a == 1)`;
 *  - bare `icmp tcp` and the protocols of dissect/protocols.def (`http dns
 *    redis`) test `protocol`; bare `udp` is true when
 *    `protocol` or `transport` is "udp"; any other bare path (e.g. `error`)
 *    is true when present and not null, false, 0 or "";
 *  - an empty query matches every entry.
 */
#ifndef FL_KFL_H
#define FL_KFL_H

#include <stdbool.h>
#include <stddef.h>

#include "report/doc.h"

struct kfl_expr;

/*
 * Compile `query`.  On a syntax error returns NULL (errno EINVAL; ENOMEM when
 * out of memory) and writes into err a message naming the column (1-based),
 * what was expected and what was found, then the query and a caret line:
 *
 *   column 17: expected a value after '==', got end of input
 *     response.status ==
 *                     ^
 *
 * (no trailing newline).  When the query ends too early the caret points at
 * the token left unfinished (the operator, the '(', the '.').
 */
struct kfl_expr *kfl_compile(const char *query, char *err, size_t errlen);

/* True when the entry matches.  Does not allocate. */
bool kfl_match(const struct kfl_expr *e, const struct doc *entry);

void kfl_free(struct kfl_expr *e);

#endif
