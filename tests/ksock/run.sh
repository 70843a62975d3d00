#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The kernel's socket events in network namespaces, joined with the packet view:
# faultline-asan capture (eBPF backend) in a client namespace whose c0 is captured and
# whose c1 is not, so that some conditions are seen by the packets and the kernel (one
# entry each) and some by the kernel only (an entry oriented like the packet view's).
# Needs root.
. "$(dirname "$0")/../lib/runner.sh"
t_begin ksock "$@"
SUITE=ksock

BIN=${FAULTLINE:-./faultline-asan}
if [ "$(id -u)" != 0 ]; then t_skip "$SUITE" "needs root (network namespaces, BPF)"; t_finish; fi
for tool in ip jq python3 curl; do
	command -v $tool >/dev/null || { t_skip "$SUITE" "$tool missing"; t_finish; }
done
[ -x "$BIN" ] || { t_fail "$SUITE" "$BIN not built"; t_finish; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

. tests/netns/lib.sh
ns_prefix flks
TMP=$(mktemp -d /tmp/flks.XXXXXX)
CAP_PID=
cleanup() {
	[ -n "${KEEP_TMP:-}" ] && cp -r "$TMP" /tmp/flks-kept
	[ -n "$CAP_PID" ] && kill -KILL "$CAP_PID" 2>/dev/null
	ns_teardown
	rm -rf "$TMP"
}
t_on_exit cleanup

H="python3 tests/ksock/helpers.py"
HK="python3 tests/kdrops/helpers.py"   # backlog, burst: the same traffic as the kdrops suite
C=198.18.210.1 S=198.18.210.2 C6=fd18:d2::1 S6=fd18:d2::2
C1=198.18.211.1 S1=198.18.211.2     # the link faultline does not capture
METRICS=9471
ns_add client; ns_add server
ns_link client c0 $C/24,$C6/64 server s0 $S/24,$S6/64 2>/dev/null
ns_link client c1 $C1/24 server s1 $S1/24 2>/dev/null
NS_CLIENT=$(ns_name client)

# start_capture NAME ARGS...: faultline capture on c0 in the client namespace, until it serves.
start_capture() {
	local name=$1; shift
	SOCK=$TMP/$name.sock
	ip netns exec "$NS_CLIENT" "$BIN" capture -i c0 --backend ebpf --socket "$SOCK" -o json --all \
		--duration 300 --set tap.tcpStreamChannelTimeoutMs=1000 "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" &
	CAP_PID=$!
	fl_capture_wait "$TMP/$name.err" "$SOCK" 300 && return 0
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
sanitizers_clean() { ! grep -q "ERROR: \(Address\|Leak\)Sanitizer\|runtime error" "$1"; }

# Is eBPF usable here at all?
if ! ip netns exec "$NS_CLIENT" timeout 20 "$BIN" capture -i c0 --backend ebpf --duration 0.3 \
	--socket "$TMP/probe.sock" >/dev/null 2>"$TMP/probe.err"; then
	t_skip "$SUITE" "eBPF capture is not available here: $(tail -1 "$TMP/probe.err")"
	t_finish
fi

ns_bg client timeout 300 $H lingerserver $C1 7001 1
ns_bg server timeout 300 $H lingerserver $S 7002 1
ns_bg client timeout 300 $HK backlog $C 9004
# (python can take seconds to start on a loaded machine: each port gets a few waits)
wait_port() { local i; for i in 1 2 3 4 5 6; do ns_wait_port "$1" "$2" 2>/dev/null && return 0; done; return 1; }
wait_port client 7001 && wait_port server 7002 && wait_port client 9004 ||
	{ t_fail "servers start"; t_finish; }

start_capture main --metrics-listen 127.0.0.1:$METRICS || { t_fail "capture starts"; t_finish; }
# 0. A listener with backlog 1 that never accepts, hit by a burst of 20 connects held 2 s.
ns_exec server timeout 60 $HK burst $C 9004 20 2
# 1. Refused connects the packets and the kernel both see: 5 over IPv4, 2 over IPv6 (curl).
for i in 1 2 3 4 5; do ns_exec client timeout 20 curl -s -o /dev/null http://$S:81/; done
for i in 1 2; do ns_exec client timeout 20 curl -s -o /dev/null -g "http://[$S6]:81/"; done
# 2. Refused connects only the kernel sees (over c1, which is not captured).
ns_exec client timeout 60 $H refuse $S1 82 3
# 3. A server in the client namespace (on c1) resets a connection it accepted.
ns_exec server timeout 60 $H get $C1 7001 >/dev/null
# 4. A server (captured) closes with SO_LINGER 0: a RST from ESTABLISHED.
ns_exec client timeout 60 $H get $S 7002 >/dev/null
# 5. faultline's own metrics endpoint: a scrape, and a client that resets its connection.
ns_exec client timeout 20 curl -s -o /dev/null http://127.0.0.1:$METRICS/metrics
ns_exec client timeout 60 $H rstclose 127.0.0.1 $METRICS
sleep 5   # past the kernel events' grace period (2 s) and the drops' hold (1 s + 3 s)
OVERFLOWS=$(ns_exec client nstat -az TcpExtListenOverflows | awk '$1 == "TcpExtListenOverflows" { print $2 }')
timeout 20 "$BIN" stats --json --socket "$SOCK" >"$TMP/main.stats"
ip netns exec "$NS_CLIENT" curl -sf -m 20 http://127.0.0.1:$METRICS/metrics >"$TMP/main.prom"
stop_capture
t_check "capture exits 0" [ "$CAP_RC" = 0 ]
t_check "sanitizers clean" sanitizers_clean "$TMP/main.err"

OUT=$TMP/main.out ST=$TMP/main.stats
T_JQ_SHOW='[.[] | select(.error != null)]'
t_jq "7 refused connects seen by both: exactly 7 SynSent entries, each refused, none from the kernel" \
	'[.[] | select(.error.message == "SynSent" and .dst.port == 81)] |
	 length == 7 and all(.tcp.reason == "refused" and .tcp.source == null)' "$OUT"
t_jq "... from the client's ports to the server's (5 IPv4, 2 IPv6)" \
	'[.[] | select(.error.message == "SynSent" and .dst.port == 81)] |
	 (map(select(.src.ip == "'$C'" and .dst.ip == "'$S'")) | length) == 5 and
	 (map(select(.src.ip == "'$C6'" and .dst.ip == "'$S6'")) | length) == 2' "$OUT"
t_jq "... and no drop entry of them (the SYN dropped as NO_SOCKET is the same refusal)" \
	'[.[] | select(.error.type == "drop" and (.dst.port == 81 or .src.port == 81))] | length == 0' "$OUT"
t_jq "3 refused connects only the kernel saw: 3 SynSent entries from the kernel" \
	'[.[] | select(.error.message == "SynSent" and .dst.port == 82)] | length == 3 and
	 all(.tcp.source == "kernel" and .tcp.reason == "refused" and .tcp.errno == "ECONNREFUSED")' "$OUT"
t_jq "... oriented client first: src the connecting end with its real port, dst the server" \
	'[.[] | select(.error.message == "SynSent" and .dst.port == 82)] |
	 all(.src.ip == "'$C1'" and .src.port > 1023 and .dst.ip == "'$S1'") and
	 (map(.src.port) | unique | length) == 3' "$OUT"
t_jq "an accepted connection reset by its server, seen by the kernel only: src the client, reset_by server" \
	'[.[] | select(.error.message == "Reset" and (.dst.port == 7001 or .src.port == 7001))] |
	 length == 1 and (.[0] | .src.ip == "'$S1'" and .dst.ip == "'$C1'" and .dst.port == 7001 and
	 .tcp.reset_by == "server" and .tcp.source == "kernel")' "$OUT"
t_jq "faultline's own endpoint: only the resetting client's socket is reported (reset_by client)" \
	'[.[] | select(.error != null and (.dst.port == '$METRICS' or .src.port == '$METRICS'))] |
	 length == 1 and (.[0] | .error.message == "Reset" and .dst.port == '$METRICS' and
	 .tcp.reset_by == "client")' "$OUT"
# Resets with the state they hit.
t_jq "SO_LINGER 0 server: one Reset entry, reset_by server" \
	'[.[] | select(.error.message == "Reset" and .dst.port == 7002)] |
	 length == 1 and .[0].tcp.reset_by == "server" and .[0].src.ip == "'$C'"' "$OUT"
t_jq "... carrying both kernels' view: the server sent it, the client received it, in ESTABLISHED" \
	'[.[] | select(.error.message == "Reset" and .dst.port == 7002)] | .[0].tcp.kernel_resets as $k |
	 ($k | length) == 2 and
	 ($k | map(select(.socket == "server" and .event == "sent" and .state == "ESTABLISHED")) | length) == 1 and
	 ($k | map(select(.socket == "client" and .event == "received" and .state == "ESTABLISHED")) | length) == 1' "$OUT"
# The server's RST for the closed port is in the kernel's ring before the packet is in ours;
# the client's reception of it comes after the packet, so it joins only when it falls in time.
t_jq "closed port: the refusals carry the server's RST, sent for NO_SOCKET (at least one joined)" \
	'[.[] | select(.error.message == "SynSent" and .dst.port == 81) | .tcp.kernel_resets // empty] |
	 length >= 1 and all(map(select(.socket == "server")) | length == 1 and
	 (.[0] | .event == "sent" and .state == "NO_SOCKET"))' "$OUT"
t_check "stats: kernel.resets_sent.NO_SOCKET >= 10 (each refusal)" \
	[ "$(jq -r '.kernel.resets_sent.NO_SOCKET // 0' "$ST")" -ge 10 ]
t_check "stats: kernel.resets_sent.ESTABLISHED >= 2 (the two SO_LINGER 0 servers)" \
	[ "$(jq -r '.kernel.resets_sent.ESTABLISHED // 0' "$ST")" -ge 2 ]
t_check "stats: kernel.resets_received.ESTABLISHED >= 2 (their clients)" \
	[ "$(jq -r '.kernel.resets_received.ESTABLISHED // 0' "$ST")" -ge 2 ]
t_check "stats: kernel.resets_received.SYN_SENT >= 10 (each refused client)" \
	[ "$(jq -r '.kernel.resets_received.SYN_SENT // 0' "$ST")" -ge 10 ]
t_check "metrics: faultline_kernel_resets_sent_total{state=\"NO_SOCKET\"}" \
	grep -Eq '^faultline_kernel_resets_sent_total\{state="NO_SOCKET"\} [1-9]' "$TMP/main.prom"
t_check "metrics: faultline_kernel_resets_received_total{state=\"ESTABLISHED\"}" \
	grep -Eq '^faultline_kernel_resets_received_total\{state="ESTABLISHED"\} [1-9]' "$TMP/main.prom"
t_check "metrics: one HELP for the family" \
	[ "$(grep -c '^# HELP faultline_kernel_resets_sent_total ' "$TMP/main.prom")" = 1 ]
# Listen queue overflow: SYNs refused for a full accept queue are consumed without a drop
# reason; the listener counts them, and faultline reads its namespace's listeners (every
# namespace's: only this one's entry is looked at, other suites' listeners may overflow too).
t_check "the burst overflowed the listener (TcpExtListenOverflows ${OVERFLOWS:-none} > 0)" \
	[ "${OVERFLOWS:-0}" -gt 0 ]
t_jq "listen overflow: one entry for the listener, TCP_LISTEN_OVERFLOW, counting what the kernel counted" \
	'[.[] | select(.error.message == "TCP_LISTEN_OVERFLOW" and .dst.port == 9004)] | length == 1 and
	 (.[0] | .error.type == "drop" and .dst.ip == "'$C'" and .dst.port == 9004 and
	  .src.port == null and .drop.count == '"${OVERFLOWS:-0}"')' "$OUT"
t_check "stats: kernel.listen_overflows >= $OVERFLOWS" \
	[ "$(jq -r .kernel.listen_overflows "$ST")" -ge "${OVERFLOWS:-1}" ]
t_check "metrics: faultline_kernel_listen_overflows_total" \
	grep -Eq '^faultline_kernel_listen_overflows_total [1-9]' "$TMP/main.prom"
# The burst's connects that timed out are SynSent entries too: the counter is the entries.
NSYN=$(jq -s '[.[] | select(.error.message == "SynSent")] | length' "$OUT")
t_check "stats: tcp.SynSent ($(jq -r .tcp.SynSent "$ST")) is the SynSent entries ($NSYN), not doubled" \
	[ "$(jq -r .tcp.SynSent "$ST")" = "$NSYN" ]
t_check "metrics: faultline_tcp_syn_sent_total $NSYN" grep -q "^faultline_tcp_syn_sent_total $NSYN\$" "$TMP/main.prom"
t_check "stats: kernel.SynSent counts them (>= 10: the kernel counts every namespace)" \
	[ "$(jq -r .kernel.SynSent "$ST")" -ge 10 ]

t_finish
