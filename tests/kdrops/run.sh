#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Why the host dropped it (issue 17): faultline-asan capture (eBPF backend) in a client
# namespace while the kernel drops packets for real reasons in a server namespace, then
# the entries, the reasons, the counts, the join with the packet-level verdicts, and the
# stats.  One capture serves every scenario (the suite stays well under two minutes);
# a second, short one checks the fallback without reasons.  Needs root.
. "$(dirname "$0")/../lib/runner.sh"
t_begin kdrops "$@"
SUITE=kdrops

BIN=${FAULTLINE:-./faultline-asan}
if [ "$(id -u)" != 0 ]; then t_skip "$SUITE" "needs root (network namespaces, BPF)"; t_finish; fi
for tool in ip jq python3 nft; do
	command -v $tool >/dev/null || { t_skip "$SUITE" "$tool missing"; t_finish; }
done
[ -x "$BIN" ] || { t_fail "$SUITE" "$BIN not built"; t_finish; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

. tests/netns/lib.sh
ns_prefix fldrp
TMP=$(mktemp -d /tmp/fldrp.XXXXXX)
CAP_PID=
cleanup() {
	[ -n "${KEEP_TMP:-}" ] && cp -r "$TMP" /tmp/fldrp-kept
	[ -n "$CAP_PID" ] && kill -KILL "$CAP_PID" 2>/dev/null
	ns_teardown
	rm -rf "$TMP"
}
t_on_exit cleanup

H="python3 tests/kdrops/helpers.py"
TRACEFS_BEFORE=$(grep -c ' /sys/kernel/tracing ' /proc/self/mounts)
C=198.18.56.1 S=198.18.56.2
ns_add client; ns_add server
ns_link client c0 $C/24,fd18:56::1/64 server s0 $S/24,fd18:56::2/64 2>/dev/null
# 198.18.57.0/24 is routed back through the client: the server's rp_filter rejects it on s0.
ns_exec server ip route add 198.18.57.0/24 via $C
ns_exec server sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.s0.rp_filter=1
# SYNs to 9001 die in the server's input chain; so does all of 9006 after its handshake.
ns_exec server nft -f - <<'NFT' || { t_fail "nft rules"; t_finish; }
table inet fldrp {
	chain in {
		type filter hook input priority 0;
		tcp dport 9001 tcp flags & (syn | ack) == syn drop
		tcp dport 9006 meta mark 0 ct state established ct packets > 3 drop
	}
}
NFT
ns_exec client sysctl -qw net.ipv4.tcp_retries2=3 net.ipv4.tcp_syn_retries=2
# 198.18.56.99 is on c0's link but nobody answers its ARP: two solicitations 0.3 s apart.
ns_exec client sysctl -qw net.ipv4.neigh.c0.mcast_solicit=2 net.ipv4.neigh.c0.retrans_time_ms=300
ns_bg server timeout 300 $H udpsink $S 9003
ns_bg server timeout 300 $H backlog $S 9004
ns_bg server timeout 300 $H echo $S 9006
ns_wait_port server 9004 && ns_wait_port server 9006 || { t_fail "servers start"; t_finish; }

NS_CLIENT=$(ns_name client)
# start_capture NAME ARGS...: faultline capture in the client namespace, until it serves its socket.
start_capture() {
	local name=$1; shift
	SOCK=$TMP/$name.sock
	ip netns exec "$NS_CLIENT" ${CAP_SHELL:+sh -c "$CAP_SHELL" sh} "$BIN" capture -i c0 --socket "$SOCK" -o json --duration 100 \
		--set tap.tcpStreamChannelTimeoutMs=1000 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	CAP_PID=$!
	fl_capture_wait "$TMP/$name.err" "$SOCK" && return 0
	cat "$TMP/$name.err" >&2
	return 1
}
stop_capture() {
	local i
	{
		kill -TERM "$CAP_PID"
		for i in $(seq 1 100); do kill -0 "$CAP_PID" || break; sleep 0.1; done
		wait "$CAP_PID"; CAP_RC=$?
	} 2>/dev/null
	CAP_PID=
}

start_capture main || { t_fail "capture starts"; t_finish; }
# A namespace made after the capture dropped its capabilities: it cannot be entered to read its
# listeners (setns needs CAP_SYS_ADMIN), which is counted and said once, never fatal.  Its process
# has no capabilities (as an application's would): one with more than faultline keeps would
# hide its namespace from faultline altogether (ptrace access rules).
ns_add late && ns_bg late setpriv --bounding-set=-all --inh-caps=-all timeout 300 sleep 300
# 1. SYN dropped by netfilter: the client gives up after 2.5 s (SYN and one retry dropped).
ns_exec client timeout 10 $H connect $S 9001 2.5 >/dev/null
# 2. UDP to a port nobody listens on.
ns_exec client timeout 10 $H udpsend $S 9002 5 100
# 3. A receiver with a tiny SO_RCVBUF that never reads: a bounded burst overflows it.
ns_exec client timeout 10 $H udpsend $S 9003 200 1000
# 4. A listener with backlog 1 that never accepts: a bounded burst of connects.
ns_exec client timeout 10 $H burst $S 9004 20 1.5
# 5. A spoofed source from 198.18.57.0/24 arriving on s0: the reverse path is c0's way, rp_filter.
if /usr/bin/python3 -c 'import scapy' 2>/dev/null; then
	HAVE_SCAPY=1
	ns_exec client timeout 20 /usr/bin/python3 tests/kdrops/helpers.py spoof 198.18.58.7 $S 9005 5 c0
else
	HAVE_SCAPY=0
fi
# 6. A neighbour that never answers ARP: the three pings queued for it are dropped when it fails.
ns_exec client timeout 5 ping -c 3 -i 0.2 -W 2 198.18.56.99 >/dev/null 2>&1
# 7. An established connection whose peer goes silent: RTO retransmissions, then ETIMEDOUT.
ns_exec client timeout 40 $H silent $S 9006 30 >"$TMP/silent.out" 2>&1
sleep 5   # past the hold (tap.tcpStreamChannelTimeoutMs + 3 s): leftovers become drop entries
# What the server namespace's kernel counted for the backlog-1 listener (4), and which it is.
OVERFLOWS=$(ns_exec server nstat -az TcpExtListenOverflows | awk '$1 == "TcpExtListenOverflows" { print $2 }')
SERVER_NETNS=$(ns_exec server stat -L -c %i /proc/self/ns/net)
timeout 5 "$BIN" stats --json --socket "$SOCK" >"$TMP/main.stats"
timeout 5 "$BIN" stats --prometheus --socket "$SOCK" >"$TMP/main.prom"
stop_capture
t_check "capture exits 0" [ "$CAP_RC" = 0 ]

OUT=$TMP/main.out
# kd(port): the kernel_drops an entry about a flow to/from that port carries (tcp.* or top level).
T_JQ_PRELUDE='def kd: (.tcp.kernel_drops // .kernel_drops // []);
def about(p): .dst.port == p or .src.port == p;
def drops_of(p): [.[] | select(about(p)) | (kd[], (select(.error.type == "drop") | .drop))];'
T_JQ_SHOW='[.[] | select(.error != null)]'

# The tracker reports a SynSent timeout per SYN it saw time out; the last carries every drop.
t_jq "netfilter: the SynSent timeout carries NETFILTER_DROP (folded)" \
	'[.[] | select(.dst.port == 9001 and .error.message == "SynSent" and .tcp.reason == "timeout")] |
	 length >= 1 and (last | kd | map(select(.reason == "NETFILTER_DROP" and .count >= 1)) | length == 1)' "$OUT"
t_jq "netfilter: folded, so no drop entry of its own" \
	'[.[] | select(about(9001) and .error.type == "drop")] | length == 0' "$OUT"
t_jq "closed UDP port: NO_SOCKET with its count" \
	'drops_of(9002) | map(select(.reason == "NO_SOCKET")) | length == 1 and .[0].count == 5' "$OUT"
t_jq "tiny SO_RCVBUF: SOCKET_RCVBUFF, a drop entry with count, times, interface, location" \
	'[.[] | select(about(9003) and .error.type == "drop" and .error.message == "SOCKET_RCVBUFF")] |
	 length == 1 and (.[0].drop | .count > 0 and .count < 200 and .first_ts <= .last_ts and
	 (.location | type) == "string" and (.interface == null or (.interface | type) == "string"))' "$OUT"
# 4: the kernel consumes (does not drop) a SYN that finds the accept queue full, so there is
# no drop reason; the listener counts it, and faultline reads the listeners of every network
# namespace (sock_diag, one socket per namespace): the server's, not the capture's, here.
t_check "the burst overflowed the server's listener (TcpExtListenOverflows ${OVERFLOWS:-none} > 0)" \
	[ "${OVERFLOWS:-0}" -gt 0 ]
t_jq "listen overflow in another namespace: one entry for the listener, naming its namespace" \
	'[.[] | select(.error.message == "TCP_LISTEN_OVERFLOW" and .dst.ip == "'$S'" and .dst.port == 9004)] |
	 length == 1 and (.[0] | .error.type == "drop" and .src.port == null and
	  .drop.netns == '"${SERVER_NETNS:-0}"' and .drop.count == '"${OVERFLOWS:-0}"')' "$OUT"
if [ $HAVE_SCAPY = 1 ]; then
	t_jq "spoofed source: IP_RPFILTER, 5 packets" \
		'drops_of(9005) | map(select(.reason == "IP_RPFILTER")) | length == 1 and .[0].count == 5' "$OUT"
else
	t_skip "spoofed source: IP_RPFILTER" "scapy missing (python3-scapy)"
fi
t_jq "silent neighbour: NEIGH_FAILED, one drop entry of the pings queued for it, on c0" \
	'[.[] | select(.error.type == "drop" and .dst.ip == "198.18.56.99")] | length == 1 and
	 (.[0].drop | .reason == "NEIGH_FAILED" and .count >= 1 and .count <= 3 and .interface == "c0" and
	  (.location == null or .location == "neigh_invalidate"))' "$OUT"
t_check "silent peer: the application got ETIMEDOUT" grep -q "errno ETIMEDOUT" "$TMP/silent.out"
# The packet view has no entry for an established connection that went quiet, so the
# retransmissions the server's input chain dropped are a drop entry of their own.
t_jq "silent peer: its retransmissions, dropped by netfilter, are one drop entry (count >= 3)" \
	'[.[] | select(about(9006) and .error.type == "drop")] | length == 1 and
	 (.[0].drop | .reason == "NETFILTER_DROP" and .count >= 3 and .location != null)' "$OUT"
t_jq "silent peer: the entry carries the application's errno, tcp.errno ETIMEDOUT" \
	'[.[] | select(about(9006) and .error.type == "drop")] | .[0].tcp.errno == "ETIMEDOUT"' "$OUT"
t_jq "one record per (flow, reason): a burst is not hundreds of entries" \
	'[.[] | select(.error.type == "drop")] | length < 20' "$OUT"

S_=$TMP/main.stats
t_check "stats: drops_view is tp_btf" [ "$(jq -r .kernel.drops_view "$S_")" = tp_btf ]
t_check "stats: drop_reasons true" [ "$(jq -r .kernel.drop_reasons "$S_")" = true ]
t_check "stats: kernel.drops.NETFILTER_DROP >= 2" [ "$(jq -r '.kernel.drops.NETFILTER_DROP // 0' "$S_")" -ge 2 ]
t_check "stats: kernel.drops.SOCKET_RCVBUFF > 0" [ "$(jq -r '.kernel.drops.SOCKET_RCVBUFF // 0' "$S_")" -gt 0 ]
t_check "stats: kernel.retransmits >= 3 (the silent peer's RTOs)" [ "$(jq -r .kernel.retransmits "$S_")" -ge 3 ]
t_check "stats: kernel.syn_retransmits >= 1 (the dropped SYN's retry)" [ "$(jq -r .kernel.syn_retransmits "$S_")" -ge 1 ]
# With or without the kprobe on tcp_conn_request (this kernel refuses it): the server
# namespace's listener is read with sock_diag (tests/ksock: one of the capture's own).
t_check "stats: kernel.listen_overflows >= ${OVERFLOWS:-1} (backlog 1, another namespace)" \
	[ "$(jq -r .kernel.listen_overflows "$S_")" -ge "${OVERFLOWS:-1}" ]
t_check "metrics: faultline_kernel_listen_overflows_total" \
	grep -Eq '^faultline_kernel_listen_overflows_total [1-9]' "$TMP/main.prom"
t_check "stats: kernel.listen_namespaces >= 2 (the capture's and the server's, at least)" \
	[ "$(jq -r .kernel.listen_namespaces "$S_")" -ge 2 ]
t_check "stats: kernel.listen_namespaces_refused >= 1 (the namespace made after the start)" \
	[ "$(jq -r .kernel.listen_namespaces_refused "$S_")" -ge 1 ]
t_check "a namespace that cannot be entered: said once" \
	[ "$(grep -c 'network namespaces\? cannot be entered' "$TMP/main.err")" = 1 ]
t_check "stats: kernel.socket_errors.ETIMEDOUT >= 1" [ "$(jq -r '.kernel.socket_errors.ETIMEDOUT // 0' "$S_")" -ge 1 ]
t_check "stats: entries.errors.drop counts the drop entries" \
	[ "$(jq -r .entries.errors.drop "$S_")" -ge 1 ]
t_check "metrics: faultline_kernel_drops_total{reason=\"NETFILTER_DROP\"}" \
	grep -Eq '^faultline_kernel_drops_total\{reason="NETFILTER_DROP"\} [1-9]' "$TMP/main.prom"
t_check "metrics: one HELP for the family" [ "$(grep -c '^# HELP faultline_kernel_drops_total ' "$TMP/main.prom")" = 1 ]
t_check "metrics: faultline_kernel_socket_errors_total{errno=\"ETIMEDOUT\"}" \
	grep -Eq '^faultline_kernel_socket_errors_total\{errno="ETIMEDOUT"\} [1-9]' "$TMP/main.prom"
t_check "metrics: faultline_kernel_drop_reasons 1" grep -q '^faultline_kernel_drop_reasons 1$' "$TMP/main.prom"
t_jq "NOT_SPECIFIED drops are counted, not entries (tap.drops.reportUnspecified is off)" \
	'[.[] | select(.error.message == "NOT_SPECIFIED")] | length == 0' "$OUT"

# Fallbacks.  A kernel without the reason argument (simulated): counted without a reason, said so.
FAULTLINE_DROPS=noreason start_capture noreason || { t_fail "capture (noreason) starts"; t_finish; }
ns_exec client timeout 10 $H udpsend $S 9012 4 100
sleep 1.5
timeout 5 "$BIN" stats --json --socket "$SOCK" >"$TMP/noreason.stats"
stop_capture
t_check "no reasons: stats say drop_reasons false" [ "$(jq -r .kernel.drop_reasons "$TMP/noreason.stats")" = false ]
t_check "no reasons: drops_without_reason counts them" \
	[ "$(jq -r .kernel.drops_without_reason "$TMP/noreason.stats")" -ge 4 ]
t_jq "no reasons: the closed port's drops are one entry, reason UNKNOWN" \
	'[.[] | select(about(9012) and .error.type == "drop")] | length == 1 and
	 (.[0] | .error.message == "UNKNOWN" and .drop.count >= 4)' "$TMP/noreason.out"
# The classic tracepoints (tp_btf skipped on purpose), for kfree_skb and the socket events.
# They need tracefs: `ip netns exec` gives the capture its own mount namespace with a fresh
# /sys, so tracefs is mounted there, for that run only, and the host is left as it was.
FAULTLINE_DROPS=classic FAULTLINE_SOCKTRACE=classic FAULTLINE_DEBUG=1 \
	CAP_SHELL='mount -t tracefs nodev /sys/kernel/tracing && exec "$@"' start_capture classic ||
	{ t_fail "capture (classic) starts"; t_finish; }
ns_exec client timeout 10 $H udpsend $S 9013 4 100
ns_exec client timeout 10 $H connect $S 9014 2 >/dev/null   # closed: the server's RST for no socket
sleep 5   # past the hold
timeout 5 "$BIN" stats --json --socket "$SOCK" >"$TMP/classic.stats"
stop_capture
t_check "classic: kfree_skb on the classic tracepoint" grep -q "skb:kfree_skb attached (tracepoint)" "$TMP/classic.err"
t_check "classic: the socket events on classic tracepoints" grep -q "tracepoints attached (classic)" "$TMP/classic.err"
t_check "classic: stats drops_view tracepoint" [ "$(jq -r .kernel.drops_view "$TMP/classic.stats")" = tracepoint ]
t_jq "classic: the closed UDP port's drops are one entry, NO_SOCKET, count 4" \
	'[.[] | select(about(9013) and .error.type == "drop")] | length == 1 and
	 (.[0] | .error.message == "NO_SOCKET" and .drop.count == 4)' "$TMP/classic.out"
t_check "classic: the RST for no socket counted (kernel.resets_sent.NO_SOCKET)" \
	[ "$(jq -r '.kernel.resets_sent.NO_SOCKET // 0' "$TMP/classic.stats")" -ge 1 ]
t_check "classic: the host's tracefs left as it was" \
	[ "$(grep -c ' /sys/kernel/tracing ' /proc/self/mounts)" = "$TRACEFS_BEFORE" ]
# No access to the tracepoint (simulated): the capture runs without the view and says so once.
FAULTLINE_DROPS=off start_capture off || { t_fail "capture (off) starts"; t_finish; }
timeout 5 "$BIN" stats --json --socket "$SOCK" >"$TMP/off.stats"
stop_capture
t_check "unavailable: capture still exits 0" [ "$CAP_RC" = 0 ]
t_check "unavailable: said once" [ "$(grep -c 'kernel drop reasons unavailable' "$TMP/off.err")" = 1 ]
t_check "unavailable: stats drops_view unavailable" [ "$(jq -r .kernel.drops_view "$TMP/off.stats")" = unavailable ]

t_finish
