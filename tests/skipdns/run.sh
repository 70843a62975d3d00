#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Copy only what is judged, DNS over TCP: a long DNS-over-TCP response is
# judged from its head and its OPT record, and the capture skips its middle.
# The same traffic is captured twice at once, at the two ends of one veth:
# capture A in the client namespace on c0 (tap.skipPayload on), capture B in
# the server namespace on s0 (tap.skipPayload=false).  The entries must be
# identical, and A must copy less.
#
#   client (c0) --- (s0) server: dnsmasq with 250 TXT records for big.test
#
# dig +tcp +keepopen asks big.test TXT twice and small.test A on one
# connection (each big answer is ~53 kB: 250 records and an OPT).  The
# server's link runs at 500 kbit/s (tbf on s0, after B's egress hook), so the
# response reaches c0 over ~0.9 s and A's reader sees each head before the
# rest of its message arrives; TSO/GSO are off on s0 so the server's segments
# are MSS-sized.
# Namespaces dnsskip-*, 198.18.238.0/24.
. "$(dirname "$0")/../lib/runner.sh"
t_begin skipdns "$@"
SUITE=skipdns

BIN=$T_BIN
if [ "$(id -u)" != 0 ]; then t_skip "$SUITE" "needs root (network namespaces, BPF)"; t_finish; fi
t_need ip jq dig dnsmasq tc ethtool || { t_skip "$SUITE" "tools missing"; t_finish; }
[ -x "$BIN" ] || { t_fail "$SUITE" "$BIN not built"; t_finish; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

. tests/netns/lib.sh
ns_prefix dnsskip
TMP=$T_TMP
cleanup() {
	fl_named_kill
	[ -n "${KEEP_TMP:-}" ] && cp -r "$TMP" /tmp/dnsskip-kept
	ns_teardown
}
t_on_exit cleanup

ns_add cli; ns_add srv
ns_link cli c0 198.18.238.1/24 srv s0 198.18.238.2/24
ns_exec srv ethtool -K s0 tso off gso off >/dev/null 2>&1 ||
	{ t_fail "offloads off on s0"; t_finish; }
ns_exec srv tc qdisc add dev s0 root tbf rate 500kbit burst 3kb latency 2s ||
	{ t_fail "rate limit on s0"; t_finish; }

# 250 TXT records of 200 characters for big.test: one ~53 kB answer.
{
	for i in $(seq 1 250); do
		printf 'txt-record=big.test,"%03d%s"\n' "$i" "$(printf 'x%.0s' $(seq 1 197))"
	done
	echo "host-record=small.test,198.18.238.77"
} >"$TMP/dnsmasq.conf"
ns_bg srv timeout 120 dnsmasq --keep-in-foreground --no-resolv --no-hosts --port=53 \
	--listen-address=198.18.238.2 --bind-interfaces --user=root --pid-file="$TMP/dnsmasq.pid" \
	--conf-file="$TMP/dnsmasq.conf" --log-facility="$TMP/dnsmasq.log"
ns_wait_port srv 53 || { t_fail "dnsmasq starts"; t_finish; }


fl_named_start A cli c0 60 || { t_fail "capture A (skipping on) starts"; t_finish; }
fl_named_start B srv s0 60 --set tap.skipPayload=false || { t_fail "capture B (skipping off) starts"; t_finish; }

ns_exec cli dig +tcp +keepopen +time=10 +tries=1 @198.18.238.2 big.test TXT big.test TXT small.test A \
	>"$TMP/dig.out" 2>&1
t_check_eval "dig got the big answers (250 TXT records twice)" \
	'[ "$(grep -c "^big.test\..*TXT" "$TMP/dig.out")" -eq 500 ]'
sleep 1
fl_named_stop A; fl_named_stop B

# Entries, without what depends on where and when they were seen.
norm() {
	jq -c 'select(.error.type != "drop" and .protocol != "icmp") |
		del(.id, .ts, .node, .elapsed_ms, .community_id, .tcp.kernel_drops, .interface, .direction) |
		del(.src.name, .src.process, .dst.name, .dst.process) |
		if .tcp == {} then del(.tcp) else . end' "$1" | sort
}
norm "$TMP/A.out" >"$TMP/A.norm"
norm "$TMP/B.out" >"$TMP/B.norm"
if diff "$TMP/B.norm" "$TMP/A.norm" >"$TMP/diff"; then
	t_pass "entries identical with skipping on and off"
else
	t_fail "entries identical with skipping on and off"
	t_note "$(head -c 3000 "$TMP/diff")"
fi
t_jq "two big TXT answers over TCP, with their EDNS and first records" \
	'[.[] | select(.protocol == "dns" and .transport == "tcp" and .response.answers == 250 and
	   .response.edns.udp_size != null and (.response.records | length) == 8 and
	   .request.questions[0].name == "big.test" and .error == null)] | length == 2' "$TMP/A.out"
t_jq "the small answer after them on the same connection" \
	'[.[] | select(.protocol == "dns" and .transport == "tcp" and .request.questions[0].name == "small.test" and
	   .response.records[0].data == "198.18.238.77")] | length == 1' "$TMP/A.out"
t_jq "skipping on: the big answers' middles skipped, asked per answer" \
	'.[0].capture.skipped_bytes > 60000 and .[0].capture.skip_requests >= 2' "$TMP/A.stats"
t_jq "skipping off: nothing skipped" '.[0].capture.skipped_bytes == null' "$TMP/B.stats"
t_jq "skipping on copies under 60% of the wire bytes, off copies them all" \
	'.[0].capture.bpf.copied_bytes < 0.6 * .[0].packets.bytes and
	 .[1].capture.bpf.copied_bytes > .[1].packets.bytes' "$TMP/A.stats" "$TMP/B.stats"
t_jq "stream accounting the same: nothing missed or truncated" \
	'.[0].tcp.missed_bytes == 0 and .[1].tcp.missed_bytes == 0 and
	 .[0].tcp.truncated_bytes == 0 and .[1].tcp.truncated_bytes == 0' "$TMP/A.stats" "$TMP/B.stats"
for x in A B; do
	t_note "$x: $(jq -c '{wire: .packets.bytes, copied: .capture.bpf.copied_bytes, skipped: .capture.skipped_bytes, asks: .capture.skip_requests}' "$TMP/$x.stats")"
done
t_finish
