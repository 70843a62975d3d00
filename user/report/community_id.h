/* SPDX-License-Identifier: MIT */
/*
 * Community ID v1 (https://github.com/corelight/community-id-spec), the flow
 * hash Zeek and Suricata log as community_id: "1:" + base64(sha1(seed,
 * addresses, protocol, 0, ports)), the smaller endpoint first so that both
 * directions hash alike; ICMP types and codes stand in for ports.
 */
#ifndef FL_COMMUNITY_ID_H
#define FL_COMMUNITY_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COMMUNITY_ID_LEN 32   /* "1:" + 28 base64 characters + NUL, rounded */

/*
 * addr_len 4 or 16 (network order bytes); proto an IP protocol number; for
 * ICMP (1) and ICMPv6 (58) sport is the type and dport the code.  False when
 * the input cannot be hashed (address lengths differ or are not 4/16).
 */
bool community_id_v1(uint16_t seed, const uint8_t *saddr, const uint8_t *daddr, size_t addr_len,
		     uint8_t proto, uint16_t sport, uint16_t dport, char out[COMMUNITY_ID_LEN]);

#endif
