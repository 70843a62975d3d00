# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Shared set-up of the live benches (sourced after tests/netns/lib.sh and ns_prefix).
#
# blast_link SUBNET TABLE: namespaces tx and rx joined by a veth (t0 SUBNET.1,
# r0 SUBNET.2, /24), the receiver dropping blast's datagrams (UDP 9000-9063) in
# nftables prerouting, before anything answers them (no ICMP to skew a rate);
# sets RX to the receiving namespace's name.  TABLE names the nft table.
blast_link() {
	local subnet=$1 table=$2
	ns_add tx
	ns_add rx
	ns_link tx t0 "$subnet.1/24" rx r0 "$subnet.2/24"
	# shellcheck disable=SC2034 # the caller's
	RX=$(ns_name rx)
	ns_exec rx nft -f - <<NFT
table inet $table {
	chain pre {
		type filter hook prerouting priority -300;
		udp dport 9000-9063 drop
	}
}
NFT
	ns_exec tx ping -c 1 -W 1 "$subnet.2" >/dev/null 2>&1
	return 0
}
