#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Suite "workers": `read --workers N` shards the packets by flow between N
# pipelines and merges their entries back in one pipeline's order, so it must
# give exactly what `--workers 1` gives: the same entries, ids and order
# (each JSON line compared after jq -S) with every fixture's own options, and
# the same --stats except the keys that depend on how many flow tables there
# are (memory.flow_bytes, memory.total_bytes, memory.dedup_bytes, memory.host_pair_bytes,
# memory.peak_bytes: each worker has its own tables).
# -w records the same file with any N (on the reading thread); --write-filter
# needs one pipeline.  Live capture with --workers: tests/capture.
# Fixtures: tests/{golden,streams,dnsredis,safejson}/fixtures (2 and 3 workers;
# each case's own options with 3), and with WORKERS_CORPORA=1 the public
# corpora under ../shared/corpora (2 workers).
#   tests/workers/run.sh [--only REGEX]
. "$(dirname "$0")/../lib/replay.sh"
t_begin workers "$@"
t_need jq || { t_skip "workers" "$T_MISSING is not installed"; t_finish; }
[ -x "$T_BIN" ] || { t_fail "workers" "$T_BIN is not built (make test builds it)"; t_finish; }
only=
for ((i = 0; i < ${#T_ARGS[@]}; i++)); do
	[ "${T_ARGS[i]}" = --only ] && only=${T_ARGS[i + 1]:-}
done

# out N OPTS...: what read prints (entries and stats, normalized) and its exit status.
out() {
	local n=$1; shift
	timeout 120 "$T_BIN" read -o json --workers "$n" "$@" 2>"$T_TMP/err" |
		jq -S -c 'del(.memory.flow_bytes, .memory.total_bytes, .memory.dedup_bytes, .memory.host_pair_bytes, .memory.peak_bytes)' 2>&1
	echo "rc=${PIPESTATUS[0]}"
	cat "$T_TMP/err"
}

# same NAME NS OPTS...: every worker count in NS gives what one worker gives.
same() {
	local name=$1 ns=$2 a b n; shift 2
	a=$(out 1 "$@")
	for n in $ns; do
		b=$(out "$n" "$@")
		if [ "$a" == "$b" ]; then
			t_pass "$name --workers $n"
		else
			t_fail "$name --workers $n" "differs from --workers 1"
			diff <(echo "$a") <(echo "$b") | T_NOTE_LINES=6 t_note
		fi
	done
}

for dir in tests/golden/fixtures tests/streams/fixtures tests/dnsredis/fixtures tests/safejson/fixtures; do
	for pcap in "$dir"/*.pcap "$dir"/*.pcapng; do
		[ -e "$pcap" ] || continue
		stem=${pcap%.*} base=$(basename "$stem")
		[ -n "$only" ] && ! [[ $base =~ $only ]] && continue
		same "$base --all" "2 3" --all "$pcap"
		same "$base --stats" 3 --stats "$pcap"
		for o in "$stem".opts "$stem".*.opts; do
			[ -e "$o" ] || continue
			replay_opts "$o"
			case=${o#"$stem"}
			# Each worker gets its share of a bound: one that is reached evicts otherwise.
			if grep -Eq 'maxFlows|memoryLimitMb|MemcapMb' "$o"; then
				t_skip "$base${case%.opts}" "sets a bound, which N workers split"
				continue
			fi
			same "$base${case%.opts}" 3 "${REPLAY_OPTS[@]}" "$pcap"
		done
	done
done

# The corpora (264 files) take long under ASan: WORKERS_CORPORA=1 adds them.
corpora=../shared/corpora
if [ -d "$corpora" ] && [ -z "$only" ] && [ "${WORKERS_CORPORA:-0}" = 1 ]; then
	while IFS= read -r f; do
		same "corpora/${f#"$corpora"/} --all" 2 --all "$f"
	done < <(find "$corpora" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.pcap.gz' \) | sort)
else
	t_skip "corpora" "WORKERS_CORPORA=1 reads $corpora too"
fi

# The option itself.
"$T_BIN" read --workers 0 tests/golden/fixtures/tcp-last-ack.pcap >/dev/null 2>"$T_TMP/e0"
t_check_eval "--workers 0 is a usage error naming the option" \
	'[ $? -eq 2 ] && grep -q -- "--workers" "$T_TMP/e0"'
"$T_BIN" read --workers 2 -w "$T_TMP/x.pcap" --write-filter error \
	tests/golden/fixtures/tcp-last-ack.pcap >/dev/null 2>"$T_TMP/e1"
t_check_eval "--workers 2 with --write-filter is a usage error" \
	'[ $? -eq 2 ] && grep -q -- "--workers" "$T_TMP/e1" && grep -q -- "--write-filter" "$T_TMP/e1"'

# -w records on the reading thread, before the packets are shared out: the same
# file, byte for byte, and the same entries as with one pipeline.
for f in tests/golden/fixtures/tcp-refused.pcap tests/streams/fixtures/*.pcap; do
	[ -e "$f" ] || continue
	base=$(basename "$f" .pcap)
	[ -n "$only" ] && ! [[ $base =~ $only ]] && continue
	"$T_BIN" read --all -o json --workers 1 -w "$T_TMP/w1.pcap" "$f" >"$T_TMP/w1.json" 2>/dev/null
	rc1=$?
	"$T_BIN" read --all -o json --workers 3 -w "$T_TMP/w3.pcap" "$f" >"$T_TMP/w3.json" 2>/dev/null
	rc3=$?
	t_check_eval "$base -w with --workers 3: the same recording and entries as with 1" \
		'[ $rc1 -eq 0 ] && [ $rc3 -eq 0 ] && cmp -s "$T_TMP/w1.pcap" "$T_TMP/w3.pcap" && cmp -s "$T_TMP/w1.json" "$T_TMP/w3.json"'
done
# ---- live: capture --workers 2 (root, network namespaces) ----
# Real traffic through a veth pair captured with --workers 2 on each backend,
# recorded with -w meanwhile: the recording read back with --workers 1 must give
# the same verdicts (error type, message, endpoints), the kernel's socket events
# and drops must still join their flow's entry (each refused connect ONE SynSent
# entry, its NO_SOCKET drop folded, none of its own), and the control socket
# must serve the workers' summed counters while the capture runs.
live_suite() {
	if [ "$(id -u)" != 0 ]; then t_skip "live" "needs root (network namespaces, BPF)"; return; fi
	local tool
	for tool in ip curl python3; do
		command -v $tool >/dev/null || { t_skip "live" "$tool missing"; return; }
	done
	. tests/netns/lib.sh
	ns_prefix flcapwork
	local C=198.18.226.1 S=198.18.226.2 C6=fd18:e2::1 S6=fd18:e2::2
	ns_add client && ns_add server || { t_fail "live: namespaces"; return; }
	ns_link client c0 $C/24,$C6/64 server s0 $S/24,$S6/64 2>/dev/null
	ns_bg server timeout 300 python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 500 if self.path.startswith("/fail") else 200
        body = b"no\n" if code == 500 else b"ok\n" * 200
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer.address_family = 10 if ":" in sys.argv[1] else 2
http.server.ThreadingHTTPServer((sys.argv[1], 8080), H).serve_forever()
' $S
	ns_wait_port server 8080 || ns_wait_port server 8080 || { t_fail "live: server starts"; return; }
	local ns_client b name
	ns_client=$(ns_name client)
	for b in ebpf afpacket; do
		name=live-$b
		rm -f "$T_TMP/$name.sock"
		ip netns exec "$ns_client" "$T_BIN" capture -i c0 --backend $b --workers 2 \
			--socket "$T_TMP/$name.sock" -o json --all --duration 120 \
			--set tap.tcpStreamChannelTimeoutMs=1000 -w "$T_TMP/$name.pcap" \
			>"$T_TMP/$name.out" 2>"$T_TMP/$name.err" &
		CAP_PID=$!
		if ! fl_capture_wait "$T_TMP/$name.err" "$T_TMP/$name.sock" 300; then
			fl_capture_stop
			if [ $b = ebpf ] && grep -qi "bpf" "$T_TMP/$name.err"; then
				t_skip "$name" "eBPF capture is not available here: $(tail -1 "$T_TMP/$name.err")"
			else
				t_fail "$name: capture starts" "$(tail -3 "$T_TMP/$name.err")"
			fi
			continue
		fi
		local i
		for i in 1 2 3; do ns_exec client timeout 10 curl -s -o /dev/null http://$S:8080/; done
		for i in 1 2; do ns_exec client timeout 10 curl -s -o /dev/null http://$S:8080/fail; done
		for i in 1 2 3 4; do ns_exec client timeout 10 curl -s -o /dev/null http://$S:81/; done
		ns_exec client timeout 10 curl -s -o /dev/null -g "http://[$S6]:81/"
		ns_exec client timeout 10 python3 -c '
import socket, sys
for port in (9999, 9998):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x" * 16, (sys.argv[1], port))
    s.close()' $S
		# Past the stream timeout (1 s), the kernel events' grace (2 s) and the drops' hold.
		sleep 5
		timeout 20 "$T_BIN" stats --json --socket "$T_TMP/$name.sock" >"$T_TMP/$name.stats" 2>&1
		# Live has no end of file: the merge lets entries out within a tick, while it runs.
		timeout 20 "$T_BIN" query --socket "$T_TMP/$name.sock" -o json \
			-f 'error.message == "SynSent"' >"$T_TMP/$name.query" 2>&1
		kill -INT "$CAP_PID" 2>/dev/null
		for i in $(seq 1 100); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.1; done
		wait "$CAP_PID" 2>/dev/null
		local rc=$?
		CAP_PID=
		t_check_eval "$name: capture --workers 2 exits 0" '[ $rc -eq 0 ]'
		t_check_eval "$name: sanitizers clean" \
			'! grep -q "ERROR: \(Address\|Leak\|Thread\)Sanitizer\|runtime error" "$T_TMP/$name.err"'
		local O=$T_TMP/$name.out
		t_jq "$name: 5 refused connects, ONE SynSent entry each (4 IPv4, 1 IPv6)" \
			'[.[] | select(.error.message == "SynSent" and .dst.port == 81)] |
			 length == 5 and all(.tcp.reason == "refused") and
			 (map(select(.dst.ip == "'$S6'")) | length) == 1' "$O"
		t_jq "$name: no drop entry of them (the NO_SOCKET drop is the refusal)" \
			'[.[] | select(.error.type == "drop" and (.dst.port == 81 or .src.port == 81))] | length == 0' "$O"
		t_jq "$name: 2 HTTP 500 entries, 3 HTTP 200 without error" \
			'([.[] | select(.response.status == 500)] | length) == 2 and
			 ([.[] | select(.response.status == 200 and .error == null)] | length) == 3' "$O"
		t_jq "$name: the UDP datagrams to closed ports: 2 port unreachable entries" \
			'[.[] | select(.icmp.code_name == "port_unreachable" or
			 (.error.message // "" | test("[Pp]ort")))] | length >= 2' "$O"
		t_jq "$name: the ids are unique and the entries come in time order within the merge delay" \
			'(map(.id) | unique | length) == length' "$O"
		if [ $b = ebpf ]; then
			t_jq "$name: the refusals carry the kernel's view (a reset sent for NO_SOCKET joined)" \
				'[.[] | select(.error.message == "SynSent" and .dst.port == 81) |
				 .tcp.kernel_resets // empty] | length >= 1' "$O"
		fi
		t_jq "$name: the refusals reached the control socket while the capture ran (the merge released them)" \
			'[.[] | select(.dst.port == 81)] | length == 5' "$T_TMP/$name.query"
		# Summed: the front pipeline sees no packet itself; only the workers' counters give these.
		T_JQ_SHOW='.[0] | {flows, syn: .tcp.SynSent, e: .entries.total}' t_jq "$name: faultline stats over the control socket sums the workers (packets, flows, SynSent)" \
			'.[0] | .packets.seen > 20 and .flows.tcp >= 10 and .tcp.SynSent == 5 and
			 .entries.total >= 12' "$T_TMP/$name.stats"
		# The recording, read back by one pipeline: the same verdicts (but the kernel's own:
		# drops and kernel-only entries, which a file cannot show).
		"$T_BIN" read --all -o json --workers 1 --set tap.tcpStreamChannelTimeoutMs=1000 \
			"$T_TMP/$name.pcap" >"$T_TMP/$name.read" 2>"$T_TMP/$name.read.err"
		local verdict='[.[] | select(.error != null and .error.type != "drop" and
			.tcp.source != "kernel") | [.error.type, .error.message, .src.ip,
			.src.port, .dst.ip, .dst.port] | map(tostring) | join(" ")] | sort | .[]'
		local live_v read_v
		live_v=$(jq -s -r "$verdict" "$O")
		read_v=$(jq -s -r "$verdict" "$T_TMP/$name.read")
		if [ -n "$live_v" ] && [ "$live_v" == "$read_v" ]; then
			t_pass "$name: the recording read with --workers 1 gives the same error entries"
		else
			t_fail "$name: the recording read with --workers 1 gives the same error entries" \
				"live and read differ"
			diff <(echo "$live_v") <(echo "$read_v") | T_NOTE_LINES=10 t_note
		fi
	done
}
if [ -z "$only" ] || [[ live =~ $only ]]; then
	live_suite
fi
t_finish
