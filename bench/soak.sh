#!/usr/bin/env bash
# Soak: faultline capture on a veth between two namespaces for SOAK_SECONDS
# (default 600) of mixed traffic (HTTP with long paths, refused and reset
# connections, pings to an unreachable host) while control-socket clients
# come and go: `stats` every second, followers started and killed, a flood
# of clients that ask and vanish, 64 idle connections now and then, and a
# hostile regex query every HOSTILE_EVERY seconds (default 10).
# Samples the capture's RSS every 5 s and prints: RSS at the start of the
# second half and at the end, its max, the longest stall of the packet loop
# (capture.longest_stall_us, wall and CPU time: on a shared machine wall time
# includes waiting for a CPU; target < 10 ms) and where it was, memory.*,
# control.*, and whether the capture survived and exited 0 on SIGTERM.
# On demand (root), not part of `make test`:
#   bench/soak.sh                          10 minutes, ./faultline
#   SOAK_SECONDS=120 bench/soak.sh         shorter
#   SOAK_SECONDS=60 HOSTILE_EVERY=1 bench/soak.sh   the stall under back-to-back hostile queries
#   FAULTLINE=./faultline-asan bench/soak.sh        under the sanitizers
set -u
cd "$(dirname "$0")/.."
BIN=${FAULTLINE:-./faultline}
SECS=${SOAK_SECONDS:-600}
HOSTILE_EVERY=${HOSTILE_EVERY:-10}
SERVERS=tests/capture/servers.py
[ "$(id -u)" = 0 ] || { echo "soak: needs root"; exit 1; }
[ -x "$BIN" ] || { echo "soak: $BIN is not built"; exit 1; }

. tests/netns/lib.sh
ns_prefix flt-soak
TMP=$(mktemp -d /tmp/flt-soak.XXXXXX)
CAP_PID= LOAD_PIDS=()
cleanup() {
	local p
	for p in "${LOAD_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	[ -n "$CAP_PID" ] && kill -KILL "$CAP_PID" 2>/dev/null
	ns_teardown
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

ns_add client; ns_add server
ns_link client c0 198.18.60.1/24 server s0 198.18.60.2/24
ns_exec client ip route add 198.18.69.0/24 via 198.18.60.2
ns_exec server sysctl -qw net.ipv4.ip_forward=1
ns_exec server ip route add unreachable 198.18.69.0/24
life=$((SECS + 120))
ns_bg server timeout $life python3 -m http.server 8080 --bind 198.18.60.2 >/dev/null 2>&1
ns_bg server timeout $life python3 $SERVERS reset 198.18.60.2 8082 >/dev/null 2>&1
ns_wait_port server 8080 && ns_wait_port server 8082 || { echo "soak: servers did not start"; exit 1; }

SOCK=$TMP/soak.sock
ip netns exec "$(ns_name client)" "$BIN" capture -i c0 --socket "$SOCK" -o json \
	--duration $((SECS + 60)) --set tap.tcpStreamChannelTimeoutMs=1000 >/dev/null 2>"$TMP/cap.err" &
CAP_PID=$!
for _ in $(seq 1 100); do [ -S "$SOCK" ] && grep -q "capturing on" "$TMP/cap.err" && break; sleep 0.1; done
[ -S "$SOCK" ] || { echo "soak: capture did not start: $(tail -2 "$TMP/cap.err")"; exit 1; }

# Traffic, each loop bounded by the deadline.
end=$((SECONDS + SECS))
long=$(printf 'a%.0s' $(seq 1 800))
( while [ $SECONDS -lt $end ]; do
	ns_exec client timeout 5 curl -s -o /dev/null "http://198.18.60.2:8080/$long"
	ns_exec client timeout 5 curl -s -o /dev/null http://198.18.60.2:8082/
	ns_exec client timeout 3 ping -c 1 -W 1 198.18.69.9 >/dev/null
  done ) &
LOAD_PIDS+=($!)
( while [ $SECONDS -lt $end ]; do
	ns_exec client timeout 30 python3 $SERVERS refusals 198.18.60.2 81 500
  done ) &
LOAD_PIDS+=($!)
# Control-socket clients.
( n=0
  while [ $SECONDS -lt $end ]; do
	n=$((n + 1))
	timeout 10 "$BIN" stats --json --socket "$SOCK" >/dev/null 2>&1 || echo "stats failed at ${SECONDS}s" >>"$TMP/stats.fail"
	if [ $((n % 5)) = 0 ]; then
		pids=
		for _ in $(seq 1 10); do "$BIN" query --socket "$SOCK" --follow >/dev/null 2>&1 & pids="$pids $!"; done
		sleep 0.5
		# shellcheck disable=SC2086 # words
		kill -9 $pids 2>/dev/null; wait $pids 2>/dev/null
	fi
	[ $((n % 30)) = 0 ] && timeout 60 python3 $SERVERS ctlflood "$SOCK" 200 >/dev/null
	[ $((n % 45)) = 0 ] && timeout 30 python3 $SERVERS ctlidle "$SOCK" 64 5 >/dev/null
	sleep 1
  done ) &
LOAD_PIDS+=($!)
( while [ $SECONDS -lt $end ]; do
	timeout 60 "$BIN" query --socket "$SOCK" --limit 0 \
		-f 'request.path == r"(a|aa)*(b|c)" or error.message == r"(S|Sy|y)*(x|z)"' >/dev/null 2>>"$TMP/hostile.err"
	echo $? >>"$TMP/hostile.rc"
	sleep "$HOSTILE_EVERY"
  done ) &
LOAD_PIDS+=($!)

# RSS samples.
echo "soak: $SECS s with $BIN (pid $CAP_PID)"
: >"$TMP/rss"
while [ $SECONDS -lt $end ] && kill -0 "$CAP_PID" 2>/dev/null; do
	awk '/VmRSS/ {print $2}' "/proc/$CAP_PID/status" >>"$TMP/rss" 2>/dev/null
	sleep 5
done
alive=no; kill -0 "$CAP_PID" 2>/dev/null && alive=yes
for p in "${LOAD_PIDS[@]}"; do wait "$p" 2>/dev/null; done
LOAD_PIDS=()
timeout 10 "$BIN" stats --json --socket "$SOCK" >"$TMP/stats.json" 2>/dev/null
kill -TERM "$CAP_PID" 2>/dev/null
for _ in $(seq 1 100); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.1; done
wait "$CAP_PID"; rc=$?
CAP_PID=

n=$(wc -l <"$TMP/rss")
half=$(sed -n "$((n / 2 + 1))p" "$TMP/rss")
last=$(tail -1 "$TMP/rss")
max=$(sort -n "$TMP/rss" | tail -1)
first=$(head -1 "$TMP/rss")
echo "soak: survived: $alive; exit status on SIGTERM: $rc"
echo "soak: RSS (MB): first $((first / 1024)), mid-run $((half / 1024)), end $((last / 1024)), max $((max / 1024)) ($n samples)"
if [ -s "$TMP/stats.json" ]; then
	jq -r '"soak: longest stall of the packet loop: \(.capture.longest_stall_us) us wall in \(.capture.longest_stall_in), \(.capture.longest_stall_cpu_us) us CPU in \(.capture.longest_stall_cpu_in) (target < 10000)",
	       "soak: packets \(.packets.seen), dropped \(.packets.dropped), entries \(.entries.total)",
	       "soak: memory \(.memory | tostring)",
	       "soak: control \(.control | tostring)"' "$TMP/stats.json"
fi
echo "soak: hostile queries: $(wc -l <"$TMP/hostile.rc" 2>/dev/null || echo 0), over budget: $(grep -c 'exceeded its budget' "$TMP/hostile.err" 2>/dev/null)"
echo "soak: stats requests failed: $(cat "$TMP/stats.fail" 2>/dev/null | wc -l)"
if grep -q "ERROR: \(Address\|Leak\)Sanitizer\|runtime error" "$TMP/cap.err"; then
	echo "soak: SANITIZER REPORT"; grep -A20 "ERROR:" "$TMP/cap.err" | head -40
fi
[ "$alive" = yes ] && [ "$rc" = 0 ]
