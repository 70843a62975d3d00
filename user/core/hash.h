// SPDX-License-Identifier: MIT
/* The 64-bit finaliser of MurmurHash3 (fmix64): every input bit moves every output bit. */
#ifndef FL_CORE_HASH_H
#define FL_CORE_HASH_H

#include <stdint.h>

static inline uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

#endif
