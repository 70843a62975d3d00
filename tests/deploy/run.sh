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
t_check "the unit gives the socket to the faultline group, runs cleanup after stopping" \
	bash -c "grep -q '^ExecStart=.* --socket-group faultline' $UNIT && grep -q '^SupplementaryGroups=faultline' $UNIT &&
		grep -q '^ExecStopPost=/usr/local/sbin/faultline cleanup' $UNIT && grep -q '^RuntimeDirectoryMode=0755' $UNIT"

# 2b. make install and make uninstall, into a staging directory; the sysusers.d file creates
# the group there (systemd-sysusers --root).
dest="$TMP/dest"
if make -s install DESTDIR="$dest" >"$TMP/install.log" 2>&1; then
	inst=$(cd "$dest" && find . -type f | sort | tr '\n' ' ')
	t_check "make install: binary, man page, unit, sysusers.d file ($inst)" [ "$inst" = \
		"./usr/local/lib/systemd/system/faultline.service ./usr/local/lib/sysusers.d/faultline.conf ./usr/local/sbin/faultline ./usr/local/share/man/man8/faultline.8 " ]
	if command -v systemd-sysusers >/dev/null; then
		mkdir -p "$dest/etc"
		systemd-sysusers --root="$dest" >/dev/null 2>&1
		t_check "the sysusers.d file creates the faultline group ($(cat "$dest/etc/group" 2>/dev/null))" \
			grep -q '^faultline:x:[0-9]*:$' "$dest/etc/group"
		rm -rf "$dest/etc"
	fi
	make -s uninstall DESTDIR="$dest" >>"$TMP/install.log" 2>&1
	t_check "make uninstall removes every file install put there ($(cd "$dest" && find . -type f | tr '\n' ' '))" \
		[ -z "$(find "$dest" -type f)" ]
else
	t_fail "make install DESTDIR: $(tail -3 "$TMP/install.log")"
fi

# 3. The container image holds the binary and its shared libraries only (FROM scratch).
# No Docker engine here: do the Dockerfile's collection step and run the result chrooted.
if [ "$(id -u)" = 0 ] && [ -x ./faultline ]; then
	root="$TMP/rootfs"
	mkdir -p "$root/usr/sbin"
	strip --strip-unneeded -o "$root/usr/sbin/faultline" ./faultline
	ldd ./faultline | grep -o '/[^ ]*' | sort -u | xargs -I{} cp --parents -L {} "$root/"
	if grep -q 'FROM scratch' deploy/Dockerfile && grep -q "ldd faultline" deploy/Dockerfile &&
		chroot "$root" /usr/sbin/faultline version | grep -q '^faultline '; then
		t_pass "the scratch image's files run faultline ($(du -sh "$root" | cut -f1) in all; binary $(stat -c %s ./faultline) bytes, stripped $(stat -c %s "$root/usr/sbin/faultline"))"
	else
		t_fail "the binary does not run from its libraries alone"
	fi
	t_check "the Dockerfile strips the binary, and the image's is stripped" \
		bash -c "grep -q 'strip --strip-unneeded' deploy/Dockerfile && ! readelf -S '$root/usr/sbin/faultline' | grep -q '\.symtab\|\.debug_'"
else
	t_skip "image files: needs root for chroot"
fi

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	t_skip "live checks need root and setpriv"
	rm -rf "$TMP"
	t_finish
fi

. tests/netns/lib.sh
ns_prefix flclu-dep
KILL_PIDS=
cleanup() {
	local p
	for p in $CAP_PID $KILL_PIDS; do kill -KILL "$p" 2>/dev/null; done
	ns_teardown
	rm -rf "$TMP"
}
t_on_exit cleanup
ns_add client; ns_add server
ns_link client c0 198.18.48.1/24 server s0 198.18.48.2/24
chmod 0755 "$TMP"

# 4. capture as an unprivileged user holding only the unit's capabilities, in a
# mount namespace of its own with a /run/faultline it may write (systemd's
# RuntimeDirectory), serving metrics on the server-side address.
# `ip netns exec` execs sh, which execs setpriv, which execs faultline: $! is faultline's pid.
ip netns exec "$(ns_name server)" sh -c "mkdir -p /run/faultline && mount -t tmpfs -o mode=0755,uid=65534 tmpfs /run/faultline &&
	exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,$CAPS --ambient-caps=-all,$CAPS \
	--bounding-set=-all,$CAPS --no-new-privs \
	'$BIN' capture -i s0 -o json --duration 180 --socket /run/faultline/faultline.sock \
	--metrics-listen 198.18.48.2:9464 --set tap.tcpStreamChannelTimeoutMs=1000" \
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
ns_exec client timeout 5 curl -s -o /dev/null --connect-timeout 2 http://198.18.48.2:81/ 
sleep 1

# 5. The metrics endpoint, scraped from the client namespace, parsed by prometheus_client.
scrape="$TMP/metrics.txt"
if ns_exec client timeout 5 curl -sf -o "$scrape" http://198.18.48.2:9464/metrics; then
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

# 5a. A real Prometheus (Debian's, the server binary, not the packaged service) in the client
# namespace on its 127.0.0.1, a temporary TSDB, scraping the capture every second.  One more
# refused connection must show as exactly +1 in faultline_tcp_errors_total{message="SynSent",
# reason="refused"} between two instant queries of its HTTP API.
PROM_PID=
promq() {  # promq QUERY: the first result's value, or "none"
	ip netns exec "$(ns_name client)" curl -s -m 5 http://127.0.0.1:9090/api/v1/query \
		--data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // "none"' 2>/dev/null || echo none
}
if command -v prometheus >/dev/null; then
	mkdir -p "$TMP/tsdb"
	cat >"$TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: faultline
    static_configs:
      - targets: ["198.18.48.2:9464"]
YML
	ip netns exec "$(ns_name client)" prometheus --config.file="$TMP/prometheus.yml" \
		--storage.tsdb.path="$TMP/tsdb" --web.listen-address=127.0.0.1:9090 \
		--storage.tsdb.retention.time=1h >"$TMP/prometheus.log" 2>&1 &
	PROM_PID=$!
	KILL_PIDS+=" $PROM_PID"
	series='faultline_tcp_errors_total{job="faultline",message="SynSent",reason="refused"}'
	up=none
	for _ in $(seq 1 60); do   # at most ~30 s for the server to start and scrape
		up=$(promq 'up{job="faultline"}')
		[ "$up" = 1 ] && [ "$(promq "$series")" != none ] && break
		kill -0 $PROM_PID 2>/dev/null || break
		sleep 0.5
	done
	if [ "$up" = 1 ]; then
		t_pass "Prometheus scrapes the capture (up == 1)"
		before=$(promq "$series")
		ns_exec client timeout 5 curl -s -o /dev/null --connect-timeout 2 http://198.18.48.2:82/
		after=$before
		for _ in $(seq 1 40); do   # at most ~20 s
			after=$(promq "$series")
			[ "$after" != "$before" ] && break
			sleep 0.5
		done
		sleep 3   # three more scrapes: a second count would show now
		final=$(promq "$series")
		if [ "$before" != none ] && [ "$final" = "$((before + 1))" ] && [ "$after" = "$final" ]; then
			t_pass "one refused connection: $series went $before -> $final in Prometheus"
		else
			t_fail "the refused connection in Prometheus: $before -> $after -> $final"
		fi
		inc=$(promq "round(increase(${series}[1m]) >= 0.5)")
		t_check "Prometheus: increase(...[1m]) rounds to 1 ($inc)" [ "$inc" = 1 ]
		t_check "Prometheus: up stayed 1 over the last minute (no failed scrape)" \
			[ "$(promq 'min_over_time(up{job="faultline"}[1m])')" = 1 ]
	else
		t_fail "Prometheus never scraped the capture: up=$up; $(tail -3 "$TMP/prometheus.log")"
	fi
	{ kill -TERM $PROM_PID; for _ in $(seq 1 50); do kill -0 $PROM_PID || break; sleep 0.1; done
	  kill -KILL $PROM_PID; wait $PROM_PID; } 2>/dev/null
	PROM_PID=
else
	t_fail "prometheus missing (scripts/setup.sh installs the prometheus package)"
fi

# 5b. Clients that try to starve the endpoint: 200 idle connections from 20 addresses, 16
# trickling a request a byte at a time from another, malformed requests.  The scrape still answers.
for i in $(seq 10 30); do ns_exec client ip addr add 198.18.48.$i/24 dev c0; done
ns_exec client timeout 30 /usr/bin/python3 tests/deploy/slow_clients.py 198.18.48.2 9464 "$TMP/slow.ready" \
	198.18.48.30 $(for i in $(seq 10 29); do echo 198.18.48.$i; done) 2>"$TMP/slow.err" &
SLOW_PID=$!
for _ in $(seq 1 100); do [ -s "$TMP/slow.ready" ] && break; sleep 0.1; done
read -r held trickling <"$TMP/slow.ready" 2>/dev/null
if [ "${held:-0}" -ge 200 ] && [ "${trickling:-0}" -ge 16 ]; then
	t_pass "the slow clients hold $held idle and $trickling trickling connections"
else
	t_fail "the slow clients could not connect: ${held:-none} idle, ${trickling:-none} trickling $(cat "$TMP/slow.err")"
fi
code=$(ns_exec client timeout 10 curl -s -m 5 -o "$TMP/slow.metrics" -w '%{http_code}' \
	http://198.18.48.2:9464/metrics)
if [ "$code" = 200 ] && grep -q '^faultline_packets_seen_total ' "$TMP/slow.metrics" && kill -0 $SLOW_PID 2>/dev/null; then
	t_pass "/metrics answers while they hold their connections"
else
	t_fail "/metrics with slow clients: HTTP $code"
fi
code=$(ns_exec client timeout 10 curl -s -m 5 -o /dev/null -w '%{http_code}' http://198.18.48.2:9464/nothing)
if [ "$code" = 404 ]; then t_pass "another path is 404"; else t_fail "/nothing: HTTP $code"; fi
code=$(ns_exec client timeout 10 curl -s -m 5 -o "$TMP/healthz" -w '%{http_code}' http://198.18.48.2:9464/healthz)
t_check "/healthz is 200 while the loop runs (HTTP $code)" [ "$code" = 200 ]
code=$(ns_exec client timeout 10 curl -s -m 5 -o "$TMP/readyz" -w '%{http_code}' http://198.18.48.2:9464/readyz)
t_check "/readyz is 200 with programs attached (HTTP $code: $(cat "$TMP/readyz"))" [ "$code" = 200 ]
kill $SLOW_PID 2>/dev/null; wait $SLOW_PID 2>/dev/null
if grep -qi "microhttpd\|MHD" "$TMP/capture.err"; then
	t_fail "libmicrohttpd wrote to the terminal: $(grep -i 'microhttpd\|MHD' "$TMP/capture.err" | head -3)"
else
	t_pass "libmicrohttpd's messages go through faultline's log (none at the default level)"
fi

# 6. stats --prometheus and the liveness probe's command, over the socket (in the
# capture's private /run/faultline, reached through /proc).
sockpath=/proc/$CAP_PID/root/run/faultline/faultline.sock
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
pid=$CAP_PID
eff=$(awk '/^CapEff/ {print $2}' /proc/$pid/status 2>/dev/null)
if [ "$eff" = "0000000000003000" ]; then t_pass "after loading it keeps only CAP_NET_ADMIN and CAP_NET_RAW"
else t_fail "effective capabilities after loading: $eff"; fi

# SIGTERM to faultline.
kill -TERM "$CAP_PID" 2>/dev/null
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

# 6b. /readyz follows the attachments: a capture without -i in a namespace with no interface up
# but loopback waits, not ready (503, /healthz 200); an interface coming up makes it ready.
ns_add r
if ip netns exec "$(ns_name r)" "$BIN" capture --backend ebpf -o json --duration 60 --socket "$TMP/r.sock" \
	--metrics-listen 127.0.0.1:9464 >/dev/null 2>"$TMP/r.err" & then
	RPID=$!
	KILL_PIDS+=" $RPID"
	for _ in $(seq 1 100); do grep -q "capturing on" "$TMP/r.err" && break; sleep 0.1; done
	hz() { ip netns exec "$(ns_name r)" curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:9464/$1"; }
	t_check "no interface up: /readyz is 503 ($(hz readyz))" [ "$(hz readyz)" = 503 ]
	t_check "no interface up: /healthz is 200 ($(hz healthz))" [ "$(hz healthz)" = 200 ]
	ns_exec r ip link add r0 type veth peer name r1; ns_exec r ip link set r0 up; ns_exec r ip link set r1 up
	code=none
	for _ in $(seq 1 50); do code=$(hz readyz); [ "$code" = 200 ] && break; sleep 0.1; done
	t_check "an interface comes up: /readyz is 200 ($code)" [ "$code" = 200 ]
	{ kill -TERM $RPID; for _ in $(seq 1 50); do kill -0 $RPID || break; sleep 0.1; done; wait $RPID; } 2>/dev/null
fi

# 6c. kubectl reads the manifests as a cluster would, offline: `apply --dry-run=client` and
# `create --dry-run=client` against tests/deploy/fake_apiserver.py (discovery only; every object
# new), on the loopback of namespace r.  check_manifests.py (section 1) checks the fields.
if command -v kubectl >/dev/null; then
	ip netns exec "$(ns_name r)" timeout 120 /usr/bin/python3 tests/deploy/fake_apiserver.py 8001 2>"$TMP/fakeapi.err" &
	FAKE_PID=$!
	KILL_PIDS+=" $FAKE_PID"
	for _ in $(seq 1 50); do ns_exec r ss -Hltn 'sport = :8001' | grep -q . && break; sleep 0.1; done
	kc() { ip netns exec "$(ns_name r)" timeout 60 kubectl --server=http://127.0.0.1:8001 --cache-dir="$TMP/kube" "$@"; }
	for verb in apply create; do
		if kc "$verb" --dry-run=client --validate=false -o json -f deploy/daemonset.yaml -f deploy/podmonitor.yaml \
			>"$TMP/kubectl-$verb.json" 2>"$TMP/kubectl-$verb.err"; then
			# One List (newer kubectl) or one object after another (Debian's 1.20).
			kinds=$(jq -rs '[.[] | if .kind == "List" then .items[] else . end | .kind] | join(",")' "$TMP/kubectl-$verb.json")
			t_check "kubectl $verb --dry-run=client takes the manifests ($kinds)" \
				[ "$kinds" = "Namespace,ServiceAccount,DaemonSet,PodMonitor" ]
		else
			t_fail "kubectl $verb --dry-run=client: $(grep -v memcache "$TMP/kubectl-$verb.err" | head -3)"
		fi
	done
	args4=$(jq -rs '[.[] | if .kind == "List" then .items[] else . end | select(.kind == "DaemonSet")]
		| .[0].spec.template.spec.containers[0].args[4]' "$TMP/kubectl-apply.json")
	t_check "kubectl: the DaemonSet's args survive as written ($args4)" [ "$args4" = '$(HOST_IP):9464' ]
	sed 's/kind: DaemonSet/kind: DaemonSett/' deploy/daemonset.yaml >"$TMP/bad.yaml"
	kc apply --dry-run=client --validate=false -o json -f "$TMP/bad.yaml" >/dev/null 2>&1
	t_check "kubectl: a misspelt kind is refused (the check can fail)" [ $? != 0 ]
	{ kill $FAKE_PID; wait $FAKE_PID; } 2>/dev/null
else
	t_fail "kubectl missing (scripts/setup.sh installs kubernetes-client)"
fi

# 6d. `faultline stats` for members of the faultline group: the socket is 0660 for the group
# (--socket-group faultline, as the unit has it; the capture as a user with that supplementary
# group, as SupplementaryGroups= gives it).  A test user in the group reads the stats, one
# outside it is refused.  Users (and the group, if this host had none) are removed at exit.
GROUP_MADE=0 U_IN=flclu-in$$ U_OUT=flclu-out$$
remove_users() {
	userdel "$U_IN" 2>/dev/null; userdel "$U_OUT" 2>/dev/null
	[ $GROUP_MADE = 1 ] && groupdel faultline 2>/dev/null
}
t_on_exit remove_users
if ! getent group faultline >/dev/null; then
	systemd-sysusers "$PWD/deploy/faultline.sysusers.conf" >/dev/null 2>&1 && GROUP_MADE=1
fi
if gid=$(getent group faultline | cut -d: -f3) && [ -n "$gid" ] &&
	useradd -M -N -g nogroup -G faultline -s /usr/sbin/nologin "$U_IN" &&
	useradd -M -N -g nogroup -s /usr/sbin/nologin "$U_OUT"; then
	mkdir -p "$TMP/grp"; chown 65534 "$TMP/grp"; chmod 0755 "$TMP/grp"
	# Its own /run/faultline (the unit's RuntimeDirectory), the socket where other users reach it.
	ip netns exec "$(ns_name r)" unshare --mount sh -c "mount -t tmpfs -o mode=0755,uid=65534 tmpfs /run/faultline &&
		exec setpriv --reuid=65534 --regid=65534 --groups=$gid \
		--inh-caps=-all,$CAPS --ambient-caps=-all,$CAPS --bounding-set=-all,$CAPS --no-new-privs \
		'$BIN' capture --backend ebpf -i r0 -o json --duration 60 --socket '$TMP/grp/faultline.sock' \
		--socket-group faultline" >/dev/null 2>"$TMP/grp.err" &
	GPID=$!
	KILL_PIDS+=" $GPID"
	for _ in $(seq 1 100); do [ -S "$TMP/grp/faultline.sock" ] && grep -q "capturing on" "$TMP/grp.err" && break; sleep 0.1; done
	t_check "the socket is 0660, group faultline ($(stat -c '%a %G' "$TMP/grp/faultline.sock" 2>&1))" \
		[ "$(stat -c '%a %G' "$TMP/grp/faultline.sock" 2>&1)" = "660 faultline" ]
	runuser -u "$U_IN" -- "$BIN" stats --json --socket "$TMP/grp/faultline.sock" >"$TMP/grp.stats" 2>&1
	t_check "faultline stats as a member of the faultline group" \
		bash -c "jq -e '.packets.seen >= 0' '$TMP/grp.stats' >/dev/null"
	runuser -u "$U_OUT" -- "$BIN" stats --json --socket "$TMP/grp/faultline.sock" >"$TMP/grp.out" 2>&1
	rc=$?
	t_check "... and refused to a user outside it (exit $rc: $(head -c 120 "$TMP/grp.out"))" \
		bash -c "[ $rc = 1 ] && grep -qi 'permission denied' '$TMP/grp.out'"
	{ kill -TERM $GPID; for _ in $(seq 1 50); do kill -0 $GPID || break; sleep 0.1; done; wait $GPID; } 2>/dev/null
else
	t_fail "test users and the faultline group could not be made"
fi

# 6e. A state directory faultline may not write: the message says so, with the path, and
# does not blame the verifier.
ip netns exec "$(ns_name r)" unshare --mount sh -c "mount -t tmpfs -o mode=0755 tmpfs /run/faultline 2>/dev/null ||
	{ mkdir -p /run/faultline && mount -t tmpfs -o mode=0755 tmpfs /run/faultline; } &&
	exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,$CAPS --ambient-caps=-all,$CAPS \
	--bounding-set=-all,$CAPS --no-new-privs '$BIN' capture --backend ebpf -i r0 --duration 2 \
	--socket '$TMP/grp/eacces.sock'" >/dev/null 2>"$TMP/eacces.err"
rc=$?
t_check "an unwritable /run/faultline is exit 1 ($rc)" [ $rc = 1 ]
t_check "... saying permission denied with the path ($(tail -1 "$TMP/eacces.err"))" \
	bash -c "grep -q '/run/faultline/ebpf-[0-9]*.lock: permission denied' '$TMP/eacces.err' && ! grep -q verifier '$TMP/eacces.err'"

# 7. Nothing outlives the process.  With BPF links (tcx, XDP links) the kernel detaches the
# programs when faultline dies, SIGKILL included; the netlink fallback (older kernels, forced here
# with FAULTLINE_ATTACH=netlink) leaves them, and `faultline cleanup` removes them, sparing
# programs that are not faultline's on the same hooks.
echo "deploy: BPF attachments"
ns_add a; ns_add b
ns_link a a0 198.18.49.1/24 b b0 198.18.49.2/24 2>/dev/null
NS_A=$(ns_name a) NS_B=$(ns_name b)
ns_exec a ip link add c0 type veth peer name c1
ns_exec a ip link set c0 up; ns_exec a ip link set c1 up
# A foreign program for each hook, as another tool would bring it: built here, loaded by tc and ip.
cat >"$TMP/foreign.bpf.c" <<'C'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("tc") int foreign_drop(struct __sk_buff *skb) { return 2; /* TC_ACT_SHOT */ }
SEC("xdp") int foreign_xdp(struct xdp_md *ctx) { return 2; /* XDP_PASS */ }
char LICENSE[] SEC("license") = "GPL";
C
FOREIGN=0
clang -O2 -target bpf -I/usr/include/"$(uname -m)"-linux-gnu -c "$TMP/foreign.bpf.c" -o "$TMP/foreign.o" 2>"$TMP/clang.err" && FOREIGN=1
[ $FOREIGN = 1 ] || t_fail "the foreign BPF program builds: $(head -3 "$TMP/clang.err")"
tcx() { ip netns exec "$1" /usr/bin/python3 tests/lib/tcx_query.py "$2"; }
# Everything on IFACE in NS that is not the clean state: tcx programs, tc filters, clsact, XDP.
attached() {
	{ tcx "$1" "$2" | grep -v '^[a-z]*$'
	  ip netns exec "$1" tc filter show dev "$2" ingress; ip netns exec "$1" tc filter show dev "$2" egress
	  ip netns exec "$1" tc qdisc show dev "$2" | grep clsact
	  ip netns exec "$1" ip link show dev "$2" | grep -o 'prog/xdp.*'; } 2>&1
}
# live NS NAME ARGS...: a capture in NS on a0/b0 (ARGS), waited for (bounded); its pid in LIVE.
live() {
	local ns=$1 name=$2 i; shift 2
	ip netns exec "$ns" "$BIN" capture --backend ebpf -o json --duration 120 \
		--socket "$TMP/$name.sock" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	LIVE=$!
	KILL_PIDS+=" $LIVE"
	for i in $(seq 1 100); do
		grep -q "capturing on" "$TMP/$name.err" && return 0
		kill -0 $LIVE 2>/dev/null || break
		sleep 0.1
	done
	return 1
}
kill9() {
	{
		kill -KILL "$1"
		for _ in $(seq 1 50); do kill -0 "$1" || break; sleep 0.1; done
		wait "$1"
	} 2>/dev/null
}
# The packet hooks' links (tcx, xdp): the socket tracepoints' (raw_tracepoint) and the UDP
# owners' cgroup hooks (cgroup) are not the capture's attachment.
links_of() { grep -h '^link_type:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | grep -v -e raw_tracepoint -e cgroup | sort | tr '\n' ' '; }
# cleanup as a DaemonSet or unit would run it, but seeing only this test's namespaces: its own
# (a), a /run/netns holding b and c only, and the /proc of a pid namespace of its own.
cleanup_here() {
	ip netns exec "$NS_A" unshare --mount --pid --fork --mount-proc sh -c '
		mkdir -p "$1/keep" && for n in "$2" "$3"; do touch "$1/keep/$n"; mount --bind "/run/netns/$n" "$1/keep/$n"; done &&
		mount -t tmpfs tmpfs /run/netns && for n in "$2" "$3"; do touch "/run/netns/$n"; mount --bind "$1/keep/$n" "/run/netns/$n"; done &&
		exec "$4" cleanup' sh "$TMP" "$NS_B" "$(ns_name c)" "$BIN" >"$1" 2>&1
}
gone() {  # the programs with these ids are freed (a moment after their last reference)
	local id i left
	for i in $(seq 1 50); do
		left=0
		for id in $1; do bpftool prog show id "$id" >/dev/null 2>&1 && left=1; done
		[ $left = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

if ! tcx "$NS_A" a0 >/dev/null 2>&1; then
	t_skip "BPF links" "this kernel has no tcx (Linux < 6.6): the netlink tests below cover it"
elif live "$NS_A" tcx -i a0; then
	ids=$(tcx "$NS_A" a0 | awk '{$1=""; print}')
	t_check "tc: two tcx links (ingress, egress), nothing over netlink ($(links_of $LIVE))" \
		bash -c "[ '$(links_of $LIVE)' = 'tcx tcx ' ] && [ \"\$(ip netns exec $NS_A tc qdisc show dev a0 | grep -c clsact)\" = 0 ]"
	ip netns exec "$NS_B" ping -c 2 -i 0.2 -W 1 198.18.49.1 >/dev/null
	t_check "tc: traffic is seen through the links" \
		bash -c "timeout 5 '$BIN' stats --json --socket '$TMP/tcx.sock' | jq -e '.packets.seen >= 4' >/dev/null"
	kill9 $LIVE
	t_check "tc: SIGKILL leaves nothing attached to a0" [ -z "$(attached "$NS_A" a0)" ]
	t_check "tc: ... and its programs are unloaded" gone "$ids"
	# Ours goes after what is there and hands on (TCX_NEXT): a foreign tc filter that drops
	# every packet still drops while faultline runs on the same hook.
	if [ $FOREIGN = 1 ] && ip netns exec "$NS_A" tc qdisc add dev a0 clsact &&
		ip netns exec "$NS_A" tc filter add dev a0 ingress prio 100 bpf da obj "$TMP/foreign.o" sec tc &&
		live "$NS_A" tcx2 -i a0; then
		if ip netns exec "$NS_B" ping -c 2 -i 0.2 -W 1 198.18.49.1 >/dev/null; then
			t_fail "tc: a foreign drop-all filter on the same hook still runs (pings got through)"
		else
			t_check "tc: a foreign drop-all filter on the same hook still runs (pings dropped, faultline saw them)" \
				bash -c "timeout 5 '$BIN' stats --json --socket '$TMP/tcx2.sock' | jq -e '.capture.bpf.packets >= 2' >/dev/null"
		fi
		kill9 $LIVE
		ip netns exec "$NS_A" tc qdisc del dev a0 clsact
		t_check "tc: pings pass again without the foreign filter" \
		bash -c "ip netns exec $NS_B ping -c 1 -W 2 198.18.49.1 >/dev/null"
	else
		t_fail "tc: a capture next to a foreign tc filter: $(tail -2 "$TMP/tcx2.err" 2>/dev/null)"
	fi
	if live "$NS_A" xdplink -i a0 --hook xdp; then
		t_check "xdp: an XDP link and a tcx link for egress ($(links_of $LIVE))" [ "$(links_of $LIVE)" = "tcx xdp " ]
		t_check "xdp: ip link shows the XDP program" bash -c "ip netns exec $NS_A ip link show dev a0 | grep -q 'prog/xdp'"
		kill9 $LIVE
		t_check "xdp: SIGKILL leaves nothing attached to a0" [ -z "$(attached "$NS_A" a0)" ]
	else
		t_fail "xdp: capture with XDP links starts: $(tail -2 "$TMP/xdplink.err")"
	fi
else
	t_fail "capture with tcx links starts: $(tail -2 "$TMP/tcx.err")"
fi

# The OOM killer (what a memory limit does to a pod): the capture in a memory cgroup whose
# limit is lowered to just above its usage once it runs, then traffic that makes it allocate.
OOM_CG=
mem_v1=$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)
if [ -n "$mem_v1" ] && [ -w "/sys/fs/cgroup/memory$mem_v1/cgroup.procs" ]; then
	OOM_CG=/sys/fs/cgroup/memory$mem_v1/flclu-oom-$$
	oom_limit() { echo "$1" >"$OOM_CG/memory.limit_in_bytes"; }
	oom_usage() { cat "$OOM_CG/memory.usage_in_bytes"; }
	oom_kills() { awk '$1 == "oom_kill" {print $2}' "$OOM_CG/memory.oom_control"; }
elif grep -qw memory "/sys/fs/cgroup$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)/cgroup.subtree_control" 2>/dev/null; then
	OOM_CG=/sys/fs/cgroup$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)/flclu-oom-$$
	oom_limit() { echo "$1" >"$OOM_CG/memory.max"; }
	oom_usage() { cat "$OOM_CG/memory.current"; }
	oom_kills() { awk '$1 == "oom_kill" {print $2}' "$OOM_CG/memory.events"; }
fi
if [ -n "$OOM_CG" ] && tcx "$NS_A" a0 >/dev/null 2>&1 && mkdir "$OOM_CG" 2>/dev/null; then
	t_on_exit "rmdir '$OOM_CG' 2>/dev/null"
	# Into the cgroup first: `ip netns exec` mounts a /sys of its own, without the cgroup tree.
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$OOM_CG" ip netns exec "$NS_A" \
		"$BIN" capture --backend ebpf -i a0 -o json --duration 60 --socket "$TMP/oom.sock" \
		>/dev/null 2>"$TMP/oom.err" &
	OPID=$!
	KILL_PIDS+=" $OPID"
	for _ in $(seq 1 100); do grep -q "capturing on" "$TMP/oom.err" && break; sleep 0.1; done
	ids=$(tcx "$NS_A" a0 | awk '{$1=""; print}')
	t_check "oom: the capture runs in its memory cgroup, tcx programs attached ($(echo $ids))" [ -n "$(echo $ids)" ]
	oom_limit $(( $(oom_usage) + 2 * 1024 * 1024 ))
	ip netns exec "$NS_B" timeout 30 /usr/bin/python3 tests/capture/servers.py refusals 198.18.49.1 81 3000 &
	GEN=$!
	{ for _ in $(seq 1 300); do kill -0 $OPID || break; sleep 0.1; done
	  kill $GEN; wait $GEN; } 2>/dev/null
	if kill -0 $OPID 2>/dev/null; then
		t_skip "oom: the OOM killer" "the capture outlived its limit (usage $(oom_usage))"
		kill9 $OPID
	else
		{ wait $OPID; } 2>/dev/null
		t_check "oom: the OOM killer killed it (oom_kill $(oom_kills))" [ "$(oom_kills)" -ge 1 ]
		t_check "oom: nothing is left attached to a0" [ -z "$(attached "$NS_A" a0)" ]
		t_check "oom: ... and its programs are unloaded" gone "$ids"
	fi
else
	t_skip "oom: the OOM killer" "no memory cgroup this test may create"
fi

# The fallback: plant leftovers (tc in a, XDP in b), foreign programs beside them, then cleanup.
export FAULTLINE_ATTACH=netlink
if [ $FOREIGN = 1 ] && ip netns exec "$NS_A" tc qdisc add dev a0 clsact &&
	ip netns exec "$NS_A" tc filter add dev a0 ingress prio 100 bpf da obj "$TMP/foreign.o" sec tc &&
	ip netns exec "$NS_A" ip link set dev c1 xdp obj "$TMP/foreign.o" sec xdp; then
	ip netns exec "$NS_A" tc filter del dev a0 ingress prio 100   # drop-all: keep it only for the cleanup
	ip netns exec "$NS_A" tc filter add dev a0 egress prio 100 bpf da obj "$TMP/foreign.o" sec tc
	foreign_ok=1
else
	foreign_ok=0; t_fail "foreign tc and XDP programs load"
fi
planted=0
if live "$NS_A" planted-tc -i a0; then
	t_check "netlink: the fallback attaches no link ($(links_of $LIVE))" [ -z "$(links_of $LIVE)" ]
	kill9 $LIVE
	live "$NS_B" planted-xdp -i b0 --hook xdp && planted=1
	kill9 $LIVE
fi
if [ $planted = 1 ]; then
	t_check "netlink: SIGKILL leaves faultline's tc filters on a0 (precondition)" \
		bash -c "ip netns exec $NS_A tc filter show dev a0 egress | grep -q fl_tc_egress"
	t_check "netlink: ... and its XDP program on b0 (precondition)" \
		bash -c "ip netns exec $NS_B ip link show dev b0 | grep -q 'prog/xdp.*fl_xdp'"
	# A third namespace with a live capture: cleanup leaves it alone.
	ns_add c
	ns_exec c ip link add d0 type veth peer name d1; ns_exec c ip link set d0 up; ns_exec c ip link set d1 up
	live "$(ns_name c)" alive -i d0 || t_fail "netlink: the live capture starts: $(tail -2 "$TMP/alive.err")"
	ALIVE=$LIVE
	cleanup_here "$TMP/cleanup.out"
	rc=$?
	t_check "cleanup exits 0 ($(tail -1 "$TMP/cleanup.out"))" [ $rc = 0 ]
	t_check "cleanup: removed faultline's tc filters on a0" \
		bash -c "! ip netns exec $NS_A tc filter show dev a0 ingress | grep -q fl_tc && ! ip netns exec $NS_A tc filter show dev a0 egress | grep -q fl_tc"
	t_check "cleanup: removed faultline's XDP program and tc filter on b0" [ -z "$(attached "$NS_B" b0)" ]
	t_check "cleanup: says it removed 4 in 3 namespaces, one busy" \
		grep -q "^removed 4 BPF attachments; 3 network namespaces checked, 1 with a running capture" "$TMP/cleanup.out"
	if [ $foreign_ok = 1 ]; then
		t_check "cleanup: the foreign tc filter on a0 egress is still there" \
			bash -c "ip netns exec $NS_A tc filter show dev a0 egress | grep -q foreign_drop"
		t_check "cleanup: ... and the foreign XDP program on c1" \
			bash -c "ip netns exec $NS_A ip link show dev c1 | grep -q 'prog/xdp.*foreign_xdp'"
	fi
	t_check "cleanup: the live capture's filters are untouched" \
		bash -c "ip netns exec $(ns_name c) tc filter show dev d0 ingress | grep -q fl_tc_ingress"
	t_check "cleanup: ... and it still answers" \
		bash -c "[ \"\$(timeout 5 '$BIN' stats --json --socket '$TMP/alive.sock' | jq .packets.seen)\" -ge 0 ]"
	{ kill -TERM "$ALIVE"; for _ in $(seq 1 50); do kill -0 "$ALIVE" || break; sleep 0.1; done
	  wait "$ALIVE"; } 2>/dev/null
	t_check "netlink: SIGTERM detaches the fallback's filters" [ -z "$(attached "$(ns_name c)" d0)" ]
	cleanup_here "$TMP/cleanup2.out"
	t_check "cleanup again: nothing left to remove ($(tail -1 "$TMP/cleanup2.out"))" grep -q "^removed 0 BPF attachments" "$TMP/cleanup2.out"
else
	t_fail "netlink: plant leftovers: $(tail -2 "$TMP"/planted-*.err 2>/dev/null)"
fi
unset FAULTLINE_ATTACH
t_finish
