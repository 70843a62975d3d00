#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Running it for real: the Kubernetes manifests and the dashboard parse and hang
# together, the systemd unit verifies, `faultline capture` started with exactly
# the unit's capability set (not root) loads and captures, and the metrics
# endpoint answers a scrape with every counter in valid exposition format
# (checked with the Prometheus client library's parser).
. "$(dirname "$0")/../lib/runner.sh"
t_begin deploy "$@"
SUITE=deploy
BIN=${FAULTLINE:-./faultline-asan}
TMP=$(mktemp -d /tmp/flt-dep.XXXXXX)
CAP_PID=

# The unit's capabilities, as setpriv spells them, less any this machine's own
# bounding set lacks (a container may withhold CAP_SYS_RESOURCE).
UNIT=deploy/faultline.service
have=$(capsh --decode="$(awk '/^CapBnd/ {print $2}' /proc/self/status)" 2>/dev/null | cut -d= -f2)
CAPS= WITHHELD=
for c in $(sed -n 's/^AmbientCapabilities=//p' "$UNIT" | tr 'A-Z' 'a-z'); do
	if [[ ",$have," == *",$c,"* ]]; then CAPS+="${CAPS:+,}+${c#cap_}"; else WITHHELD+=" $c"; fi
done
[ -n "$WITHHELD" ] && echo "  (this machine's bounding set lacks$WITHHELD: tested without it)"

# 1. Manifests and dashboard, against the metric names faultline really exports.
if /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
	names="$TMP/names"
	: >"$names"
	out=$(/usr/bin/python3 tests/deploy/check_manifests.py "$names.pending" 2>&1 | grep -v 'is exported')
	while read -r line; do
		case "$line" in ok*) t_pass "${line#ok   }" ;; FAIL*) t_fail "${line#FAIL }" ;; esac
	done <<<"$out"
else
	t_skip "manifests: python3-yaml missing"
fi

# 2. The systemd unit (pointing at this build; man page lookups aside).
if command -v systemd-analyze >/dev/null; then
	sed -e "s#/usr/local/sbin/faultline#$PWD/faultline#" -e '/^Documentation=/d' "$UNIT" >"$TMP/faultline.service"
	if v=$(systemd-analyze verify "$TMP/faultline.service" 2>&1) && [ -z "$v" ]; then
		t_pass "systemd-analyze verify accepts the unit"
	else
		t_fail "systemd-analyze verify: $v"
	fi
else
	t_skip "systemd-analyze missing"
fi

# 3. The container image holds the binary and its shared libraries only (FROM scratch).
# No Docker engine here: do the Dockerfile's collection step and run the result chrooted.
if [ "$(id -u)" = 0 ] && [ -x ./faultline ]; then
	root="$TMP/rootfs"
	mkdir -p "$root/usr/sbin"
	cp ./faultline "$root/usr/sbin/"
	ldd ./faultline | grep -o '/[^ ]*' | sort -u | xargs -I{} cp --parents -L {} "$root/"
	if grep -q 'FROM scratch' deploy/Dockerfile && grep -q "ldd faultline" deploy/Dockerfile &&
		chroot "$root" /usr/sbin/faultline version | grep -q '^faultline '; then
		t_pass "the scratch image's files run faultline ($(du -sh "$root" | cut -f1) in all)"
	else
		t_fail "the binary does not run from its libraries alone"
	fi
else
	t_skip "image files: needs root for chroot"
fi

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	t_skip "live checks need root and setpriv"
	rm -rf "$TMP"
	t_finish
fi

. tests/netns/lib.sh
ns_prefix flt-dep
cleanup() {
	[ -n "$CAP_PID" ] && pkill -KILL -f "capture -i s0 -o json --duration 60" 2>/dev/null
	ns_teardown
	rm -rf "$TMP"
}
t_on_exit cleanup
ns_add client; ns_add server
ns_link client c0 198.18.6.1/24 server s0 198.18.6.2/24
chmod 0755 "$TMP"

# 4. capture as an unprivileged user holding only the unit's capabilities, in a
# mount namespace of its own with a /run/faultline it may write (systemd's
# RuntimeDirectory), serving metrics on the server-side address.
ns_exec server sh -c "mkdir -p /run/faultline && mount -t tmpfs -o mode=0755,uid=65534 tmpfs /run/faultline &&
	exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,$CAPS --ambient-caps=-all,$CAPS \
	--bounding-set=-all,$CAPS --no-new-privs \
	'$BIN' capture -i s0 -o json --duration 60 --socket /run/faultline/faultline.sock \
	--metrics-listen 198.18.6.2:9464 --set tap.tcpStreamChannelTimeoutMs=1000" \
	>"$TMP/entries.json" 2>"$TMP/capture.err" &
CAP_PID=$!
up=0
for _ in $(seq 1 50); do
	grep -q "capturing on" "$TMP/capture.err" && { up=1; break; }
	kill -0 $CAP_PID 2>/dev/null || break
	sleep 0.1
done
if [ $up = 1 ]; then t_pass "capture starts as uid 65534 with only $CAPS"; else t_fail "capture did not start: $(cat "$TMP/capture.err")"; fi
if grep -q "falling back" "$TMP/capture.err"; then t_fail "the unit's capabilities were not enough for eBPF"; else t_pass "eBPF loads with the unit's capabilities"; fi

# Traffic: a refused connection from the client.
ns_exec client timeout 5 curl -s -o /dev/null --connect-timeout 2 http://198.18.6.2:81/ 
sleep 1

# 5. The metrics endpoint, scraped from the client namespace, parsed by prometheus_client.
scrape="$TMP/metrics.txt"
if ns_exec client timeout 5 curl -sf -o "$scrape" http://198.18.6.2:9464/metrics; then
	t_pass "the metrics endpoint answers a scrape"
else
	t_fail "no answer from /metrics"
fi
if /usr/bin/python3 - "$scrape" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
# The parser strips a counter's _total: names here are family names.
need = ["faultline_packets_seen", "faultline_packets_dropped", "faultline_packets_decode_errors",
        "faultline_flows_tcp", "faultline_flows_evicted", "faultline_flows_active",
        "faultline_tcp_syn_sent", "faultline_tcp_reset", "faultline_tcp_close_wait",
        "faultline_tcp_last_ack", "faultline_tcp_retransmissions", "faultline_tcp_out_of_order",
        "faultline_tcp_missed_bytes", "faultline_tcp_streams_timed_out", "faultline_icmp_messages",
        "faultline_icmp_errors", "faultline_entries", "faultline_entries_errors",
        "faultline_kernel_syn_sent", "faultline_kernel_reset", "faultline_kernel_close_wait",
        "faultline_kernel_last_ack", "faultline_capture_uptime_seconds", "faultline_capture_info",
        "faultline_build_info", "faultline_http_responses", "faultline_dns_responses",
        "faultline_tcp_errors", "faultline_bpf_socket_tracepoints", "faultline_bpf_tcp_packets",
        "process_cpu_seconds", "process_resident_memory_bytes", "process_open_fds",
        "process_start_time_seconds"]
missing = [n for n in need if n not in fams]
def samples(name):
    return fams[name].samples if name in fams else []
errors = {s.labels.get("type"): s.value for s in samples("faultline_entries_errors")}
syn = [s.value for s in samples("faultline_tcp_syn_sent")]
refused = [s.value for s in samples("faultline_tcp_errors")
           if s.labels == {"message": "SynSent", "reason": "refused"}]
build = [s.labels for s in samples("faultline_build_info")]
tracepoints = [s.value for s in samples("faultline_bpf_socket_tracepoints")]
bad_names = [n for n in text.split() if n.endswith("_total_total") or n.endswith("_s")]
print("missing:", missing, "errors:", errors, "syn_sent:", syn, "refused:", refused,
      "build:", build, "tracepoints:", tracepoints, "bad names:", bad_names)
ok = not missing and set(errors) >= {"tcp", "icmp", "timeout", "half-connection", "unexpected-eof", "parser-error"} \
     and syn and syn[0] >= 1 and refused and refused[0] >= 1 and tracepoints == [1] and not bad_names \
     and build and set(build[0]) == {"version", "kernel", "backend"} and build[0]["backend"].startswith("ebpf") \
     and "interfaces=" not in text and '"s0"' not in text
sys.exit(0 if ok else 1)
PY
then t_pass "the scrape parses: every counter, Prometheus names, build_info, process_*, the refused connection in tcp_errors"
else t_fail "the scrape: $(head -c 600 "$scrape")"; fi
if command -v promtool >/dev/null; then
	if lint=$(promtool check metrics <"$scrape" 2>&1) && [ -z "$lint" ]; then
		t_pass "promtool check metrics reports nothing"
	else
		t_fail "promtool check metrics: $(head -c 600 <<<"$lint")"
	fi
else
	t_fail "promtool missing (scripts/setup.sh installs the prometheus package)"
fi
# The dashboard's metrics exist in a real scrape (families without a sample yet count).
sed -n -e 's/^\(faultline_[a-z_]*\).*/\1/p' -e 's/^# TYPE \(faultline_[a-z_]*\) .*/\1/p' "$scrape" | sort -u >"$TMP/exported"
if /usr/bin/python3 tests/deploy/check_manifests.py "$TMP/exported" | grep -q 'FAIL.*exported'; then
	t_fail "the dashboard uses a metric faultline does not export: $(/usr/bin/python3 tests/deploy/check_manifests.py "$TMP/exported" | grep 'FAIL.*exported')"
else
	t_pass "every dashboard metric is exported"
fi

# 5b. Clients that try to starve the endpoint: 200 idle connections from 20 addresses, 16
# trickling a request a byte at a time from another, malformed requests.  The scrape still answers.
for i in $(seq 10 30); do ns_exec client ip addr add 198.18.6.$i/24 dev c0; done
ns_exec client timeout 30 /usr/bin/python3 tests/deploy/slow_clients.py 198.18.6.2 9464 "$TMP/slow.ready" \
	198.18.6.30 $(for i in $(seq 10 29); do echo 198.18.6.$i; done) 2>"$TMP/slow.err" &
SLOW_PID=$!
for _ in $(seq 1 100); do [ -s "$TMP/slow.ready" ] && break; sleep 0.1; done
read -r held trickling <"$TMP/slow.ready" 2>/dev/null
if [ "${held:-0}" -ge 200 ] && [ "${trickling:-0}" -ge 16 ]; then
	t_pass "the slow clients hold $held idle and $trickling trickling connections"
else
	t_fail "the slow clients could not connect: ${held:-none} idle, ${trickling:-none} trickling $(cat "$TMP/slow.err")"
fi
code=$(ns_exec client timeout 10 curl -s -m 5 -o "$TMP/slow.metrics" -w '%{http_code}' \
	http://198.18.6.2:9464/metrics)
if [ "$code" = 200 ] && grep -q '^faultline_packets_seen_total ' "$TMP/slow.metrics" && kill -0 $SLOW_PID 2>/dev/null; then
	t_pass "/metrics answers while they hold their connections"
else
	t_fail "/metrics with slow clients: HTTP $code"
fi
code=$(ns_exec client timeout 10 curl -s -m 5 -o /dev/null -w '%{http_code}' http://198.18.6.2:9464/nothing)
if [ "$code" = 404 ]; then t_pass "another path is 404"; else t_fail "/nothing: HTTP $code"; fi
kill $SLOW_PID 2>/dev/null; wait $SLOW_PID 2>/dev/null
if grep -qi "microhttpd\|MHD" "$TMP/capture.err"; then
	t_fail "libmicrohttpd wrote to the terminal: $(grep -i 'microhttpd\|MHD' "$TMP/capture.err" | head -3)"
else
	t_pass "libmicrohttpd's messages go through faultline's log (none at the default level)"
fi

# 6. stats --prometheus and the liveness probe's command, over the socket (in the
# capture's private /run/faultline, reached through /proc).
sockpath=/proc/$(pgrep -n -f "capture -i s0" || echo 0)/root/run/faultline/faultline.sock
if "$BIN" stats --prometheus --socket "$sockpath" | grep -q '^faultline_tcp_syn_sent_total [1-9]'; then
	t_pass "faultline stats --prometheus"
else
	t_fail "faultline stats --prometheus"
fi
if probe=$("$BIN" stats --json --socket "$sockpath") &&
	jq -e '.capture.backend | startswith("ebpf")' <<<"$probe" >/dev/null; then
	t_pass "the liveness probe (faultline stats --json) succeeds"
else
	t_fail "faultline stats --json"
fi
# The capabilities it kept after loading: CAP_NET_ADMIN and CAP_NET_RAW only.
pid=$(pgrep -n -f "capture -i s0")
eff=$(awk '/^CapEff/ {print $2}' /proc/$pid/status 2>/dev/null)
if [ "$eff" = "0000000000003000" ]; then t_pass "after loading it keeps only CAP_NET_ADMIN and CAP_NET_RAW"
else t_fail "effective capabilities after loading: $eff"; fi

# SIGTERM to faultline itself ($CAP_PID is the shell that started it).
[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
for _ in $(seq 1 100); do kill -0 $CAP_PID 2>/dev/null || break; sleep 0.1; done
wait $CAP_PID 2>/dev/null
CAP_PID=
if jq -se 'any(.[]; .error.message == "SynSent" and .tcp.reason == "refused")' "$TMP/entries.json" >/dev/null; then
	t_pass "the refused connection is an entry on stdout (JSON lines)"
else
	t_fail "entries: $(head -c 400 "$TMP/entries.json") / $(tail -3 "$TMP/capture.err")"
fi
if [ $up = 0 ]; then
	t_fail "cannot check the teardown: the capture never started"
elif ns_exec server tc filter show dev s0 ingress 2>/dev/null | grep -q bpf; then
	t_fail "a BPF filter was left on s0 after SIGTERM: $(tail -5 "$TMP/capture.err")"
else
	t_pass "SIGTERM leaves no filter behind, with capabilities dropped"
fi
t_finish
