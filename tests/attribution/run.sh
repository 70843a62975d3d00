#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Who is failing, live: faultline-asan capture (eBPF) in a client namespace while real
# servers and clients run in cgroups this suite creates under the cgroup v2 mount
# (found in /proc/mounts), named like a systemd unit, a docker scope and a kubelet pod
# slice with a matching pod-log tree in a temporary directory.  Checks that HTTP,
# refused and reset entries name the process, unit, container and pod on both sides,
# that an accepted connection names the server, and that a 4-tuple used again by
# another process names the new one.  The cgroups are removed on exit (their
# processes moved out first).  Needs root.
. "$(dirname "$0")/../lib/runner.sh"
t_begin attribution "$@"
SUITE=attribution

BIN=${FAULTLINE:-./faultline-asan}
if [ "$(id -u)" != 0 ]; then t_skip "$SUITE" "needs root (network namespaces, BPF, cgroups)"; t_finish; fi
for tool in ip jq curl python3 dig dnsmasq ss; do
	command -v $tool >/dev/null || { t_skip "$SUITE" "$tool missing"; t_finish; }
done
[ -x "$BIN" ] || { t_fail "$SUITE" "$BIN not built"; t_finish; }
MNT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
if [ -z "$MNT" ]; then t_skip "$SUITE" "no cgroup v2 mount in /proc/mounts"; t_finish; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

. tests/netns/lib.sh
ns_prefix flattr
TMP=$(mktemp -d /tmp/flattr.XXXXXX)
CG=$MNT/flattr-$$
CAP_PID=
PIDS=()
cleanup() {
	set +e
	[ -n "${KEEP_TMP:-}" ] && cp -r "$TMP" /tmp/flattr-kept
	[ -n "$CAP_PID" ] && kill -KILL "$CAP_PID" 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ns_teardown
	if [ -d "$CG" ]; then
		# Whatever is still in our cgroups goes back to the root first.
		find "$CG" -name cgroup.procs | while read -r f; do
			while read -r p; do echo "$p" >"$MNT/cgroup.procs"; done <"$f"
		done 2>/dev/null
		find "$CG" -depth -type d -exec rmdir {} \; 2>/dev/null
	fi
	rm -rf "$TMP"
}
t_on_exit cleanup

ns_add client; ns_add server
ns_link client c0 198.18.52.1/24,fd18:52::1/64 server s0 198.18.52.2/24,fd18:52::2/64 2>/dev/null

# The cgroups: a systemd service, a docker container scope, a kubelet pod (systemd driver).
DOCKER_ID=$(printf 'd0c4e1%058d' 1)
POD_UID=6f1c2a10-1b2c-4d5e-8f90-a1b2c3d4e5f6
POD_CID=$(printf 'c0ffee%058d' 2)
UNIT_CG=$CG/system.slice/shop-api.service
OLD_CG=$CG/system.slice/old-client.service
DOCKER_CG=$CG/system.slice/docker-$DOCKER_ID.scope
POD_CG=$CG/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID//-/_}.slice/cri-containerd-$POD_CID.scope
mkdir -p "$UNIT_CG" "$OLD_CG" "$DOCKER_CG" "$POD_CG" || { t_fail "make the cgroups under $MNT"; t_finish; }
# The kubelet's log tree: /var/log/pods/<ns>_<pod>_<uid>/<container>/ and the containers/ links.
PODLOGS=$TMP/var/log/pods
mkdir -p "$PODLOGS/shop_checkout-7d9f_$POD_UID/web" "$PODLOGS/shop_checkout-7d9f_$POD_UID/istio-proxy" \
	"$TMP/var/log/containers"
: >"$PODLOGS/shop_checkout-7d9f_$POD_UID/web/0.log"
ln -s "$PODLOGS/shop_checkout-7d9f_$POD_UID/web/0.log" \
	"$TMP/var/log/containers/checkout-7d9f_shop_web-$POD_CID.log"

# in_cg CGROUP NS COMMAND...: run COMMAND in the namespace, as a member of CGROUP.
in_cg() {
	local cg=$1 ns; ns=$(ns_name "$2"); shift 2
	sh -c 'echo $$ >"$1/cgroup.procs" && shift 2 && exec ip netns exec "$@"' sh "$cg" x "$ns" "$@"
}
bg_cg() { in_cg "$@" & PIDS+=($!); }

# Before the capture: a server (legacy-api.service) and a client in the pod with a connection
# open between them; only the /proc scan at start can name them.
LEGACY_CG=$CG/system.slice/legacy-api.service
mkdir -p "$LEGACY_CG"
# It waits (bounded) for the request on the connection, then resets it.
cat >"$TMP/early-server.py" <<'EOF'
import socket, struct
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.52.2", 8086))
s.listen(4)
s.settimeout(60)
c, _ = s.accept()
c.settimeout(60)
try:
    c.recv(4096)
except OSError:
    pass
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
EOF
bg_cg "$LEGACY_CG" server timeout 90 python3 "$TMP/early-server.py" >"$TMP/legacy.log" 2>&1
ns_wait_port server 8086 || { t_fail "the early server starts"; t_finish; }
cat >"$TMP/early.py" <<'EOF'
import os, socket, sys, time
s = socket.create_connection(("198.18.52.2", 8086), timeout=30)
for _ in range(400):            # until the capture runs (bounded: 40 s)
    if os.path.exists(sys.argv[1]):
        break
    time.sleep(0.1)
s.sendall(b"GET /early HTTP/1.1\r\nHost: x\r\n\r\n")
try:
    s.recv(4096)
except OSError:
    pass
EOF
bg_cg "$POD_CG" client timeout 60 python3 "$TMP/early.py" "$TMP/go"
for i in $(seq 1 50); do ip netns exec "$(ns_name client)" ss -Htn state established | grep -q ':8086' && break; sleep 0.1; done

SOCK=$TMP/cap.sock
ip netns exec "$(ns_name client)" "$BIN" capture -i c0 --all --socket "$SOCK" -o json --duration 120 \
	--set tap.tcpStreamChannelTimeoutMs=1000 --set tap.attribution.podLogDir="$PODLOGS" \
	>"$TMP/cap.out" 2>"$TMP/cap.err" &
CAP_PID=$!
fl_capture_wait "$TMP/cap.err" "$SOCK"
if ! [ -S "$SOCK" ]; then t_fail "capture starts" "$(cat "$TMP/cap.err")"; t_finish; fi
t_pass "capture starts"

touch "$TMP/go"   # the early client sends on its old connection: the server resets it

# The servers start after the capture: their listen() is what names them.
bg_cg "$UNIT_CG" server timeout 300 python3 -m http.server 8080 --bind 198.18.52.2 >"$TMP/http.log" 2>&1
bg_cg "$DOCKER_CG" server timeout 300 python3 tests/capture/servers.py reset 198.18.52.2 8082 >"$TMP/reset.log" 2>&1
DNS_CG=$CG/system.slice/dnsmasq.service
mkdir -p "$DNS_CG"
# dnsmasq, a unit: its bind() to port 53 names it (UDP, through the cgroup socket hooks).
bg_cg "$DNS_CG" server timeout 300 dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
	--listen-address=198.18.52.2 --except-interface=lo --address=/api.shop.test/198.18.52.2 \
	--pid-file="$TMP/dnsmasq.pid" --user=root >"$TMP/dnsmasq.log" 2>&1
ns_wait_port server 8080 && ns_wait_port server 8082 || { t_fail "servers start"; t_finish; }
for i in $(seq 1 50); do ip netns exec "$(ns_name server)" ss -Hlun | grep -q '198.18.52.2:53 ' && break; sleep 0.1; done

in_cg "$POD_CG" client timeout 20 curl -s -o /dev/null http://198.18.52.2:8080/
in_cg "$POD_CG" client timeout 20 curl -s -o /dev/null http://198.18.52.2:8081/      # refused
in_cg "$POD_CG" client timeout 20 curl -s -o /dev/null -g 'http://[fd18:52::2]:8081/'   # refused, IPv6
in_cg "$POD_CG" client timeout 20 curl -s -o /dev/null http://198.18.52.2:8082/      # server resets
# One 4-tuple, two processes: python (old-client.service) first, then curl (the pod).
in_cg "$OLD_CG" client timeout 20 python3 - <<'EOF'
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.52.1", 40555))
s.connect(("198.18.52.2", 8080))
s.sendall(b"GET /old HTTP/1.0\r\n\r\n")
while s.recv(4096):
    pass
s.close()
EOF
sleep 0.5
in_cg "$POD_CG" client timeout 20 curl -s -o /dev/null --local-port 40555 http://198.18.52.2:8080/again
# A pod whose log directory appears after the capture started (and after its first
# connection was named by uid only): inotify on the pod logs names its next connection.
LATE_UID=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
LATE_CID=$(printf 'fa7e00%058d' 3)
LATE_CG=$CG/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${LATE_UID//-/_}.slice/cri-containerd-$LATE_CID.scope
mkdir -p "$LATE_CG"
in_cg "$LATE_CG" client timeout 20 curl -s -o /dev/null http://198.18.52.2:8080/late1
mkdir -p "$PODLOGS/shop_late-5c8d_$LATE_UID/app"
: >"$PODLOGS/shop_late-5c8d_$LATE_UID/app/0.log"
ln -s "$PODLOGS/shop_late-5c8d_$LATE_UID/app/0.log" "$TMP/var/log/containers/late-5c8d_shop_app-$LATE_CID.log"
sleep 0.5
in_cg "$LATE_CG" client timeout 20 curl -s -o /dev/null http://198.18.52.2:8080/late2

# UDP: dig (the pod) asks dnsmasq (a unit); python (old-client.service) sends to a closed port,
# connected and unconnected, and the server's stack answers port unreachable.
in_cg "$POD_CG" client timeout 20 dig +time=2 +tries=1 @198.18.52.2 api.shop.test A >"$TMP/dig.out" 2>&1
in_cg "$OLD_CG" client timeout 20 python3 - <<'EOF'
import socket, time
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.connect(("198.18.52.2", 9999))
c.send(b"connected")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"unconnected", ("198.18.52.2", 9998))
time.sleep(0.3)
EOF
# A flow the other side opens: its first packet arrives on c0.
ip netns exec "$(ns_name server)" timeout 10 ping -c 1 -W 2 198.18.52.1 >/dev/null
sleep 3   # past tap.tcpStreamChannelTimeoutMs
"$BIN" stats --json --socket "$SOCK" >"$TMP/stats.json" 2>"$TMP/stats.err"
# KFL on the new fields, through the running capture's query.
"$BIN" query --socket "$SOCK" -f 'src.process.comm == "python3" and http and dst.port == 8080' >"$TMP/q-comm.json" 2>&1
"$BIN" query --socket "$SOCK" -f 'src.namespace == "shop" and src.name == "checkout-7d9f" and dst.name == "shop-api.service" and http' >"$TMP/q-ns.json" 2>&1
"$BIN" query --socket "$SOCK" -f 'dst.container.id.startsWith("d0c4e1") and tcp' >"$TMP/q-cont.json" 2>&1
"$BIN" query --socket "$SOCK" -f 'interface == "c0" and direction == "ingress" and icmp.type == 8' >"$TMP/q-in.json" 2>&1
kill -TERM "$CAP_PID"; wait "$CAP_PID"; CAP_RC=$?; CAP_PID=
t_check_eval "capture exits 0 on SIGTERM" '[ "$CAP_RC" = 0 ]'
t_check_eval "no sanitizer report" '! grep -q "Sanitizer" "$TMP/cap.err"'
t_check_eval "no cgroup notice (cgroup v2 is mounted)" '! grep -q "cgroup v2" "$TMP/cap.err"'

OUT=$TMP/cap.out

# Without cgroup v2 (FAULTLINE_NO_CGROUP2 plays that host): one notice; pid and comm still there.
SOCK2=$TMP/nocg.sock
ip netns exec "$(ns_name client)" env FAULTLINE_NO_CGROUP2=1 "$BIN" capture -i c0 --all --socket "$SOCK2" \
	-o json --duration 60 --set tap.tcpStreamChannelTimeoutMs=1000 >"$TMP/nocg.out" 2>"$TMP/nocg.err" &
CAP_PID=$!
fl_capture_wait "$TMP/nocg.err" "$SOCK2"
in_cg "$POD_CG" client timeout 20 curl -s -o /dev/null http://198.18.52.2:8080/nocgroup
sleep 2
kill -TERM "$CAP_PID"; wait "$CAP_PID"; CAP_PID=
t_check_eval "no cgroup v2: one notice line" '[ "$(grep -c "cgroup v2" "$TMP/nocg.err")" = 1 ]'
t_jq "no cgroup v2: the entry still names the process (pid, comm), no cgroup or pod" '
	map(select(.protocol == "http" and .request.path == "/nocgroup")) | length == 1 and (.[0].src |
	.process.comm == "curl" and (.process.pid | type) == "number" and .name == "curl"
	and (has("cgroup") or has("pod") | not))' "$TMP/nocg.out"
# (A refused connect also gives a kernel-only SynSent whose local port reads 0: a known
# defect of the kernel event, fixed elsewhere; those entries are left out below.)
t_jq "HTTP GET: the client is the pod (name, namespace, container name and id, process curl)" '
	map(select(.protocol == "http" and .dst.port == 8080 and .request.path == "/")) | length == 1 and (.[0].src |
	.name == "checkout-7d9f" and .namespace == "shop" and .pod.name == "checkout-7d9f"
	and .pod.namespace == "shop" and .pod.uid == "'"$POD_UID"'" and .container.name == "web"
	and .container.id == "'"$POD_CID"'" and .process.comm == "curl" and (.process.pid | type) == "number"
	and (.cgroup | endswith("/cri-containerd-'"$POD_CID"'.scope")) and (has("unit") | not))' "$OUT"
t_jq "HTTP GET: the accepted connection names the server (unit, process python3)" '
	map(select(.protocol == "http" and .dst.port == 8080 and .request.path == "/")) | length == 1 and (.[0].dst |
	.name == "shop-api.service" and .unit == "shop-api.service" and .process.comm == "python3"
	and (.cgroup | endswith("/system.slice/shop-api.service")) and (has("pod") or has("container") | not))' "$OUT"
t_jq "refused connect (IPv4): the client pod, no server process" '
	map(select(.error.message == "SynSent" and .dst.ip == "198.18.52.2" and .dst.port == 8081 and .src.port != 0))
	| length == 1 and .[0].src.name == "checkout-7d9f" and .[0].src.process.comm == "curl"
	and (.[0].dst | has("process") | not)' "$OUT"
t_jq "refused connect (IPv6): the client pod" '
	map(select(.error.message == "SynSent" and .dst.ip == "fd18:52::2" and .src.port != 0))
	| length == 1 and .[0].src.pod.name == "checkout-7d9f" and .[0].src.process.comm == "curl"' "$OUT"
t_jq "reset: the server is the docker container, the client the pod" '
	map(select(.error.message == "Reset" and .dst.port == 8082)) | length >= 1 and all(.[];
	.dst.container.id == "'"$DOCKER_ID"'" and .dst.name == "'"${DOCKER_ID:0:12}"'"
	and .dst.process.comm == "python3" and (.dst | has("unit") | not)
	and .src.name == "checkout-7d9f")' "$OUT"
t_jq "one 4-tuple twice: the first connection is python (old-client.service), the second curl" '
	map(select(.protocol == "http" and .src.port == 40555)) | length == 2
	and (map(select(.request.path == "/old")) | length == 1 and .[0].src.process.comm == "python3"
		and .[0].src.unit == "old-client.service")
	and (map(select(.request.path == "/again")) | length == 1 and .[0].src.process.comm == "curl"
		and .[0].src.name == "checkout-7d9f")' "$OUT"
t_jq "interface and direction: the GET's flow was opened by its SYN, sent on c0" '
	map(select(.protocol == "http" and .dst.port == 8080 and .request.path == "/")) | length == 1
	and .[0].interface == "c0" and .[0].direction == "egress"' "$OUT"
t_jq "interface and direction: the server's ping was received on c0" '
	map(select(.protocol == "icmp" and .src.ip == "198.18.52.2" and .icmp.type == 8)) | length == 1
	and .[0].interface == "c0" and .[0].direction == "ingress"' "$OUT"
t_jq "KFL interface == \"c0\" and direction == \"ingress\" and icmp.type == 8: only the ping" \
	'length == 1 and .[0].protocol == "icmp" and .[0].src.ip == "198.18.52.2"' "$TMP/q-in.json"
t_jq "DNS (UDP): dig in the pod asks dnsmasq, a unit" '
	map(select(.protocol == "dns" and .request.questions[0].name == "api.shop.test")) | length >= 1 and all(.[];
	.src.process.comm == "dig" and .src.pod.name == "checkout-7d9f"
	and .dst.process.comm == "dnsmasq" and .dst.unit == "dnsmasq.service")' "$OUT"
t_jq "port unreachable (connected UDP socket): the ICMP entry names the sender, python3" '
	map(select(.protocol == "icmp" and .icmp.type == 3 and .icmp.code == 3 and .icmp.original.dst.port == 9999))
	| length == 1 and .[0].dst.process.comm == "python3" and .[0].dst.unit == "old-client.service"' "$OUT"
t_jq "port unreachable (unconnected sendto): the ICMP entry names the sender, python3" '
	map(select(.protocol == "icmp" and .icmp.type == 3 and .icmp.code == 3 and .icmp.original.dst.port == 9998))
	| length == 1 and .[0].dst.process.comm == "python3" and .[0].dst.unit == "old-client.service"' "$OUT"
t_jq "a connection opened before the capture: the reset names both processes (from /proc)" '
	map(select(.error.message == "Reset" and .dst.port == 8086)) | length >= 1 and all(.[];
	.src.process.comm == "python3" and .src.pod.name == "checkout-7d9f"
	and .dst.process.comm == "python3" and .dst.unit == "legacy-api.service")' "$OUT"
t_jq "stats: /proc scanned at start, sockets found" '.[0].attribution | .scans >= 1 and .scanned >= 2' "$TMP/stats.json"
t_jq "a pod directory created after the start: its pod is named on the next connection" '
	map(select(.protocol == "http" and .request.path == "/late2")) | length == 1
	and .[0].src.pod.name == "late-5c8d" and .[0].src.pod.uid == "'"$LATE_UID"'"
	and .[0].src.container.name == "app" and .[0].src.name == "late-5c8d"' "$OUT"
t_jq "... the connection before it: the same pod, by uid" '
	map(select(.protocol == "http" and .request.path == "/late1")) | length == 1
	and .[0].src.pod.uid == "'"$LATE_UID"'"' "$OUT"
t_jq "stats: sockets, listeners and cgroups counted" '.[0].attribution | .sockets >= 5
	and .listeners >= 2 and .cgroups >= 4 and .socket_hits > 0' "$TMP/stats.json"
t_jq "KFL src.process.comm == \"python3\" and http to 8080: only the old client's request" \
	'length == 1 and .[0].request.path == "/old" and .[0].src.unit == "old-client.service"' "$TMP/q-comm.json"
t_jq "KFL src.namespace and dst.name: the pod's two GETs to the unit" \
	'length == 2 and all(.[]; .src.pod.name == "checkout-7d9f" and .dst.port == 8080)' "$TMP/q-ns.json"
t_jq "KFL dst.container.id: the reset" \
	'length >= 1 and all(.[]; .error.message == "Reset" and .dst.port == 8082)' "$TMP/q-cont.json"
t_finish
