#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attribution bounds under socket churn: N real TCP connections (default 100000) opened and
# closed as fast as one python client can, in a network namespace, while `faultline capture`
# (eBPF) watches the client's veth with tap.attribution.maxSockets=MAX (default 4096).  Prints
# the attribution.* stats, memory.attribution_bytes before and after, the capture's CPU time
# and peak RSS, and whether the socket table stayed within its bound.  Not a test; root.
#   bench/attribution_bench.sh [N [MAX]]
set -u
cd "$(dirname "$0")/.."
N=${1:-100000} MAX=${2:-4096}
BIN=${FAULTLINE:-./faultline}
OUT=.output/bench/attribution
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] || { echo "attribution-bench: needs root" >&2; exit 1; }
[ -x "$BIN" ] || { echo "attribution-bench: $BIN not built (make faultline)" >&2; exit 1; }

. tests/netns/lib.sh
ns_prefix flattr-bench
CAP_PID= SRV_PID=
finish() {
	[ -n "$CAP_PID" ] && kill -KILL "$CAP_PID" 2>/dev/null
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	ns_teardown
}
trap finish EXIT INT TERM

ns_add cli; ns_add srv
ns_link cli c0 198.18.242.1/24 srv s0 198.18.242.2/24 2>/dev/null
ns_exec cli sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
# The server accepts and closes first, so TIME_WAIT stays on its side.
ns_exec srv timeout 900 python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.242.2", 9000)); s.listen(4096); s.settimeout(600)
while True:
    c, _ = s.accept(); c.close()
' & SRV_PID=$!
ns_wait_port srv 9000 || exit 1

SOCK=$OUT/cap.sock
fl_capture_start "$OUT/cap.err" "$SOCK" ip netns exec "$(ns_name cli)" "$BIN" capture -i c0 \
	--socket "$SOCK" --duration 900 --set tap.attribution.maxSockets="$MAX" \
	|| { cat "$OUT/cap.err"; exit 1; }
"$BIN" stats --json --socket "$SOCK" >"$OUT/before.json"

start=$(date +%s.%N)
ns_exec cli timeout 600 python3 - "$N" <<'PY'
import socket, sys, time
n = int(sys.argv[1]); done = 0; deadline = time.time() + 590
while done < n and time.time() < deadline:
    s = socket.socket()
    try:
        s.connect(("198.18.242.2", 9000)); s.recv(1)
    except OSError:
        pass
    s.close(); done += 1
print(done, file=open("/dev/stderr", "w"))
PY
end=$(date +%s.%N)
sleep 2
"$BIN" stats --json --socket "$SOCK" >"$OUT/after.json"
CPU=$(awk '{print ($14 + $15) / 100}' "/proc/$CAP_PID/stat" 2>/dev/null)
# CAP_PID is `ip netns exec`, which execs faultline: the same process.
HWM=$(awk '/VmHWM/ {print $2}' "/proc/$CAP_PID/status" 2>/dev/null)
fl_capture_stop

echo "attribution-bench: $N connections in $(echo "$end - $start" | bc) s, maxSockets $MAX"
echo "  attribution:   $(jq -c .attribution "$OUT/after.json")"
echo "  memory:        attribution_bytes $(jq .memory.attribution_bytes "$OUT/before.json") before," \
	"$(jq .memory.attribution_bytes "$OUT/after.json") after; total $(jq .memory.total_bytes "$OUT/after.json")" \
	"of limit $(jq .memory.limit_bytes "$OUT/after.json"); over_limit $(jq .memory.over_limit "$OUT/after.json")"
echo "  packets:       $(jq -c .packets "$OUT/after.json")"
echo "  capture:       ${CPU:-?} s CPU, peak RSS ${HWM:-?} kB"
jq -e --argjson max "$MAX" --slurpfile b "$OUT/before.json" '.attribution.sockets <= $max
	and .memory.attribution_bytes == $b[0].memory.attribution_bytes' "$OUT/after.json" >/dev/null &&
	echo "  bound: held" || echo "  bound: EXCEEDED"
