/* SPDX-License-Identifier: MIT */
/*
 * Credentials out of entries (the default; --no-redact keeps them): the
 * values of the HTTP Authorization, Proxy-Authorization, Cookie and
 * Set-Cookie headers (an authorization keeps its scheme: "Bearer (redacted)"),
 * the password of URL userinfo and the values of credential query parameters
 * (REDACT_QUERY_PARAMS), and the Redis arguments that carry passwords: AUTH,
 * HELLO ... AUTH user pass, MIGRATE ... AUTH pass / AUTH2 user pass,
 * CONFIG SET requirepass|masterauth|masteruser value.  Each value becomes
 * REDACTED.  Documented in docs/fields.md.
 */
#ifndef FL_REDACT_H
#define FL_REDACT_H

#include "report/doc.h"

#define REDACTED "(redacted)"
#define REDACT_QUERY_PARAMS "password, passwd, pwd, pass, token, access_token, refresh_token, " \
	"id_token, api_key, apikey, secret, client_secret"

/* Redact the entry in place. */
void redact_entry(struct doc *d);

#endif
