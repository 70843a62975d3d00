#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tshark agrees with faultline on the inner flows of the fragment and tunnel
# fixtures: the address/port pairs of faultline's entries must be exactly the
# TCP/UDP conversations tshark dissects (innermost layer, after tshark's own IP
# reassembly and VXLAN/Geneve/GTP-U/MPLS decoding), or a subset of them where
# the fixture holds datagrams faultline must drop (marked "subset").
#
#   tests/golden/tshark-tuples.sh [BINARY]
set -u
cd "$(dirname "$0")/../.."
BIN=${1:-${FAULTLINE:-./faultline-asan}}
DIR=tests/golden/fixtures
command -v tshark >/dev/null || { echo "tshark-tuples: tshark missing"; exit 1; }

# fixture  rule
FIXTURES="
dns-frag.pcap equal
dns-frag-v6.pcap equal
vxlan.pcap equal
vxlan-8472.pcap equal
geneve.pcap equal
tcp-refused-mpls.pcap equal
gtp-frag.pcap equal
frag-edge.pcap subset
"

# One line per conversation: the two "ip port" ends, sorted, joined by " | ".
norm() { awk -F'\t' 'NF >= 4 && $2 != "" && $4 != "" {
	a = $1 " " $2; b = $3 " " $4; if (a > b) { t = a; a = b; b = t }; print a " | " b }' | sort -u; }

tshark_pairs() {
	# Innermost IP and TCP-or-UDP layer of every packet that has its transport header.
	tshark -r "$1" -d udp.port==8472,vxlan -o ip.defragment:TRUE -o ipv6.defragment:TRUE \
		-T fields -E occurrence=l -E separator=/t \
		-e ip.src -e ipv6.src -e ip.dst -e ipv6.dst -e tcp.srcport -e tcp.dstport \
		-e udp.srcport -e udp.dstport 2>/dev/null |
		awk -F'\t' '{ src = $1 != "" ? $1 : $2; dst = $3 != "" ? $3 : $4
			if ($5 != "") { sp = $5; dp = $6 } else { sp = $7; dp = $8 }
			# the tunnel itself, carrying no IP (ARP inside VXLAN): not a flow
			if (dp == 4789 || dp == 8472 || dp == 6081 || dp == 2152) next
			print src "\t" sp "\t" dst "\t" dp }' | norm
}

faultline_pairs() {
	"$BIN" read --all -o json "$1" 2>/dev/null |
		jq -r 'select(.src.port != null and .dst.port != null) |
			[.src.ip, (.src.port | tostring), .dst.ip, (.dst.port | tostring)] | @tsv' | norm
}

passed=0 failed=0
while read -r fixture rule; do
	[ -n "$fixture" ] || continue
	t=$(tshark_pairs "$DIR/$fixture")
	f=$(faultline_pairs "$DIR/$fixture")
	if [ "$rule" = equal ] && [ "$t" = "$f" ]; then
		passed=$((passed + 1))
	elif [ "$rule" = subset ] && [ -n "$f" ] && [ -z "$(comm -13 <(echo "$t") <(echo "$f"))" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL $fixture ($rule): tshark and faultline disagree on the inner flows"
		diff <(echo "$t") <(echo "$f") | sed 's/^/    /'
	fi
done <<<"$FIXTURES"
echo "tshark-tuples: $passed passed, $failed failed"
[ $failed -eq 0 ]
