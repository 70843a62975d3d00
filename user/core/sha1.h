/* SPDX-License-Identifier: MIT */
/* SHA-1 (FIPS 180-4), for the Community ID flow hash; not for security. */
#ifndef FL_SHA1_H
#define FL_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_DIGEST_LEN 20

void sha1(const void *data, size_t len, uint8_t digest[SHA1_DIGEST_LEN]);

#endif
