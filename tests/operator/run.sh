#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The operator at the terminal: tcpdump habits on a live capture (a capture
# filter expression on both backends, -c), a capture read from a pipe judged
# as it arrives, the summary on exit, and `faultline top` in tmux.
# Namespaces "fltop-*", addresses 198.18.64.0/22.  Needs root for the live parts.
. "$(dirname "$0")/../lib/runner.sh"
t_begin operator "$@"
BIN=$T_BIN
TMP=$T_TMP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
[ -x "$BIN" ] || { t_fail "operator" "$BIN not built"; t_finish; }

sanitizers_clean() { ! grep -q "ERROR: \(Address\|Leak\)Sanitizer\|runtime error" "$@"; }

# ---- a capture read from a pipe is judged as it arrives ----
# The writer sends a refused connection, then waits (at most 20 s) for the entry before it
# sends the rest and closes: "early" means the entry was printed before the input ended.
mkfifo "$TMP/fifo"
: >"$TMP/fifo.out"
"$BIN" read -l -o json "$TMP/fifo" >"$TMP/fifo.out" 2>"$TMP/fifo.err" &
RPID=$!
timeout 30 python3 tests/operator/stream_writer.py "$TMP/fifo" "$TMP/fifo.out" 2>"$TMP/writer.err"
wait "$RPID"
t_check "FIFO: the first entry is printed before the writer finishes" grep -qx early "$TMP/writer.err"
t_check "FIFO: both refused connections reported" [ "$(jq -r .dst.port "$TMP/fifo.out" | tr '\n' ' ')" = "81 83 " ]
: >"$TMP/pipe.out"
timeout 30 python3 tests/operator/stream_writer.py - "$TMP/pipe.out" 2>"$TMP/writer2.err" |
	"$BIN" read -l -o json - >"$TMP/pipe.out" 2>"$TMP/pipe.err"
t_check "stdin pipe with -l: the first entry is printed before the writer finishes" grep -qx early "$TMP/writer2.err"
t_check "read from a pipe: sanitizers clean" sanitizers_clean "$TMP/fifo.err" "$TMP/pipe.err"

# ---- the summary at the end of read ----
FIX=tests/golden/fixtures
# On a terminal (script gives read a TTY for stderr): the summary, with the groups' counts.
script -qec "$BIN read -o json $FIX/tcp-close-wait.pcap $FIX/icmp-reject-port-unreachable.pcap" /dev/null \
	>"$TMP/tty.out" 2>&1
t_check "read on a terminal: summary line" grep -qE "^faultline: [0-9]+ packets, [0-9]+ entries, [0-9]+ failures" "$TMP/tty.out"
"$BIN" read -o json "$FIX/tcp-close-wait.pcap" >/dev/null 2>"$TMP/notty.err"
t_check "read not on a terminal: no summary" [ ! -s "$TMP/notty.err" ]
"$BIN" read --summary --all -o json "$FIX"/*.pcap >"$TMP/all.json" 2>"$TMP/summary.err"
failures=$(jq -s '[.[] | select(.error != null or (.protocol == "http" and (.response.status // 0) >= 500)
	or (.protocol == "dns" and ((.response.rcode_name // "") | test("^(SERVFAIL|REFUSED)$"))))] | length' "$TMP/all.json")
t_check "--summary: failures counted as the entries say ($failures)" grep -q ", $failures failures" "$TMP/summary.err"
t_check "--summary: five top groups" [ "$(sed -n '/^top failures:/,$p' "$TMP/summary.err" | grep -cE '^ +[0-9]+  ')" = 5 ]
top1=$(jq -rs '[.[] | select(.error != null) | [.src.ip, (.dst.ip + (if .dst.port then ":" + (.dst.port|tostring) else "" end)), .protocol, .error.type + " " + .error.message]
	| join("|")] | group_by(.) | map(length) | max' "$TMP/all.json")
t_check "--summary: the first group's count is the largest group's ($top1)" \
	bash -c "sed -n '/^top failures:/{n;n;p}' '$TMP/summary.err' | grep -qE '^ +$top1  '"
"$BIN" read --summary --no-summary -o json "$FIX/tcp-close-wait.pcap" >/dev/null 2>"$TMP/nosum.err"
t_check "--no-summary wins" [ ! -s "$TMP/nosum.err" ]

# ---- read --top --once: the groups as jq makes them from the entries ----
"$BIN" read --top --once "$FIX"/*.pcap >"$TMP/top-once.txt" 2>"$TMP/top-once.err"
t_check "read --top --once: exit 0, sanitizers clean" sanitizers_clean "$TMP/top-once.err"
t_check "read --top --once: failures and groups as the entries say" \
	grep -qE "^$failures failures in [0-9]+ groups, sorted by rate" "$TMP/top-once.txt"
# The largest group of SynSent to 198.18.2.2:8080 from 198.18.1.2, counted by jq.
want=$(jq -s '[.[] | select(.error.message == "SynSent" and .src.ip == "198.18.1.2" and .dst.ip == "198.18.2.2" and .dst.port == 8080)] | length' "$TMP/all.json")
t_check "read --top --once: the SynSent group to 198.18.2.2:8080 counts $want" \
	grep -qE "^ +$want +[0-9.]+ +[0-9.]+ +[0-9a-z]+ 198\.18\.1\.2 +198\.18\.2\.2:8080 +tcp SynSent" "$TMP/top-once.txt"
t_check "read --top --once -f: KFL narrows the groups" \
	bash -c "'$BIN' read --top --once -f 'icmp' '$FIX'/*.pcap | sed 1,2d | grep -v '^example' | awk '{print \$7}' | sort -u | grep -qx icmp"

if [ "$(id -u)" != 0 ]; then t_skip "live capture" "needs root"; t_finish; fi
for tool in ip curl ping jq; do
	command -v $tool >/dev/null || { t_skip "live capture" "$tool missing"; t_finish; }
done

. tests/netns/lib.sh
ns_prefix fltop
CAP_PID=
t_on_exit '[ -n "$CAP_PID" ] && kill -KILL "$CAP_PID" 2>/dev/null'
ns_add cli && ns_add srv &&
	ns_link cli c0 198.18.64.1/24 srv s0 198.18.64.2/24 || { t_fail "namespaces"; t_finish; }
NS_CLI=$(ns_name cli)

# start_capture NAME ARGS...: faultline capture in the client namespace, waits until it runs.
start_capture() {
	local name=$1; shift
	SOCK=$TMP/$name.sock
	ip netns exec "$NS_CLI" "$BIN" capture -i c0 --socket "$SOCK" --duration 60 \
		--set tap.tcpStreamChannelTimeoutMs=1000 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	CAP_PID=$!
	fl_capture_wait "$TMP/$name.err" "$SOCK" && return 0
	cat "$TMP/$name.err" >&2
	return 1
}
# stop_capture SIGNAL: signal it, wait (bounded); CAP_RC.
stop_capture() {
	local i
	kill -"$1" "$CAP_PID" 2>/dev/null
	for i in $(seq 1 100); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$CAP_PID" 2>/dev/null; CAP_RC=$?
	CAP_PID=
}
refused() { ns_exec cli timeout 5 curl -s -o /dev/null "http://198.18.64.2:$1/"; }

EBPF=1
ip netns exec "$NS_CLI" timeout 20 "$BIN" capture -i c0 --backend ebpf --duration 0.3 \
	--socket "$TMP/probe.sock" >/dev/null 2>"$TMP/probe.err" || EBPF=0

# ---- a tcpdump expression as trailing arguments, on each backend ----
filter_scenario() {
	local backend=$1 name=filter-$1
	if ! start_capture "$name" --backend "$backend" -o json --all tcp port 81; then
		t_fail "$name: capture with 'tcp port 81' starts"; return
	fi
	refused 81; refused 83
	ns_exec cli timeout 5 ping -c 1 -W 1 198.18.64.2 >/dev/null
	sleep 1.5
	timeout 5 "$BIN" stats --json --socket "$SOCK" >"$TMP/$name.stats"
	stop_capture INT
	t_check "$name: exit 0" [ "$CAP_RC" = 0 ]
	t_check "$name: the refused connect to port 81 is reported" \
		jq -e -s 'any(.[]; .dst.ip == "198.18.64.2" and .dst.port == 81 and .error.message == "SynSent")' "$TMP/$name.out"
	t_check "$name: nothing about port 83 (filtered out)" bash -c "! grep -q '\"port\":83' '$TMP/$name.out'"
	t_check "$name: no ICMP entry (filtered out)" bash -c "! grep -q '\"protocol\":\"icmp' '$TMP/$name.out'"
	# Only the port-81 packets reached the pipeline: the SYN and its RST (retransmissions at most).
	t_check "$name: the pipeline saw only the matching packets" \
		[ "$(jq .packets.seen "$TMP/$name.stats")" -ge 2 -a "$(jq .packets.seen "$TMP/$name.stats")" -le 6 ]
	t_check "$name: sanitizers clean" sanitizers_clean "$TMP/$name.err"
}
if [ $EBPF = 1 ]; then filter_scenario ebpf; else t_skip "filter on eBPF" "eBPF capture unavailable: $(tail -1 "$TMP/probe.err")"; fi
filter_scenario afpacket

# ---- -c N: capture stops by itself after N printed entries ----
if start_capture count --backend afpacket -o json -c 1; then
	refused 81; refused 82
	for i in $(seq 1 50); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.1; done
	t_check "-c 1: capture exits by itself" bash -c "! kill -0 $CAP_PID 2>/dev/null"
	stop_capture TERM
	t_check "-c 1: exit 0" [ "$CAP_RC" = 0 ]
	t_check "-c 1: exactly one entry" [ "$(wc -l <"$TMP/count.out")" = 1 ]
else
	t_fail "-c 1: capture starts"
fi

# ---- faultline top: a refused connect made 50 times is one row with count 50 ----
if command -v tmux >/dev/null && start_capture top --backend afpacket -o json; then
	TT="fltop-top-$$"
	t_on_exit "tmux kill-session -t $TT 2>/dev/null"
	ns_exec cli timeout 20 python3 -c '
import socket
for i in range(50):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("198.18.64.2", 81))
    except OSError:
        pass
    s.close()
'
	refused 82
	for i in $(seq 1 50); do
		[ "$(timeout 5 "$BIN" stats --json --socket "$SOCK" | jq '.tcp.SynSent')" -ge 51 ] 2>/dev/null && break
		sleep 0.1
	done
	timeout 10 "$BIN" top --once --socket "$SOCK" >"$TMP/top-live-once.txt" 2>&1
	t_check "top --once: one row with count 50 for the refused connects" \
		grep -qE "^ +50 +[0-9.]+ +[0-9.]+ +[0-9a-z]+ 198\.18\.64\.1 +198\.18\.64\.2:81 +tcp SynSent" "$TMP/top-live-once.txt"
	tmux new-session -d -s "$TT" -x 80 -y 24 "$BIN top --socket $SOCK 2>$TMP/top-tui.err; sleep 30"
	pane() { tmux capture-pane -p -t "$TT"; }
	wait_pane() { local i; for i in $(seq 1 100); do pane | grep -qE "$1" && return 0; sleep 0.1; done; return 1; }
	wait_pane "^ +50 .*198\.18\.64\.2:81 " && wait_pane "198\.18\.64\.2:82 "
	pane >"$TMP/top-pane.txt"
	t_check "top in tmux (80x24): one grouped row with count 50" \
		grep -qE "^ +50 +[0-9.]+ +[0-9.]+ +[0-9a-z]+ 198\.18\.64\.1 +198\.18\.64\.2:81 +tcp SynSent" "$TMP/top-pane.txt"
	t_check "top in tmux: the port-82 connect is its own row" grep -qE "^ +1 .*198\.18\.64\.2:82 +tcp SynSent" "$TMP/top-pane.txt"
	t_check "top in tmux: no line wider than 80" [ "$(awk '{ if (length($0) > m) m = length($0) } END { print m+0 }' "$TMP/top-pane.txt")" -le 80 ]
	t_check "top in tmux: the keys on the last line" bash -c "tail -1 '$TMP/top-pane.txt' | grep -q 'q quit  s sort  / filter  p pause'"
	tmux send-keys -t "$TT" s
	t_check "s: sorted by count" wait_pane "sort: count"
	tmux send-keys -t "$TT" p
	t_check "p: paused" wait_pane "PAUSED"
	tmux send-keys -t "$TT" p
	tmux send-keys -t "$TT" /
	tmux send-keys -t "$TT" -l 'dst.port == 82'
	tmux send-keys -t "$TT" Enter
	t_check "/ KFL filter: only the port-82 group" bash -c "
		for i in \$(seq 1 50); do tmux capture-pane -p -t $TT | grep -q 'filter: dst.port == 82' && break; sleep 0.1; done
		tmux capture-pane -p -t $TT | grep -q '198.18.64.2:82' && ! tmux capture-pane -p -t $TT | grep -q '198.18.64.2:81 '"
	tmux send-keys -t "$TT" Enter
	t_check "Enter: the group's recent entries" wait_pane "recent entries, newest first"
	tmux send-keys -t "$TT" Enter
	tmux send-keys -t "$TT" q
	for i in $(seq 1 50); do pane | grep -q "faultline top:" || break; sleep 0.1; done
	t_check "q: top exits, the terminal restored (the view is gone)" bash -c "! tmux capture-pane -p -t $TT | grep -q 'faultline top:'"
	t_check "top: sanitizers clean" sanitizers_clean "$TMP/top-tui.err"
	tmux kill-session -t "$TT" 2>/dev/null
	stop_capture TERM
else
	t_skip "faultline top in tmux" "tmux missing or the capture did not start"
fi

# ---- Ctrl-C on capture prints the summary (--summary forces it without a terminal) ----
if start_capture summary --backend afpacket -o json --summary; then
	for i in 1 2 3; do refused 81; done
	sleep 1
	stop_capture INT
	t_check "summary: exit 0 on SIGINT" [ "$CAP_RC" = 0 ]
	t_check "summary: the refused connects are one group of 3" \
		grep -qE '^ +3  198\.18\.64\.1 +198\.18\.64\.2:81 +tcp +tcp SynSent' "$TMP/summary.err"
	t_check "summary: drops said" grep -qE "failures.*, 0 dropped" "$TMP/summary.err"
else
	t_fail "summary: capture starts"
fi
if start_capture nosummary --backend afpacket -o json; then
	refused 81; sleep 1
	stop_capture INT
	t_check "no terminal, no --summary: no summary on SIGINT" bash -c "! grep -q 'top failures' '$TMP/nosummary.err'"
fi
# In a terminal (tmux): Ctrl-C prints it without --summary.
if command -v tmux >/dev/null; then
	TM="fltop-$$"
	t_on_exit "tmux kill-session -t $TM 2>/dev/null"
	tmux new-session -d -s "$TM" -x 100 -y 30 \
		"ip netns exec $NS_CLI $BIN capture -i c0 --backend afpacket -o json --socket $TMP/tmux.sock --duration 60 --set tap.tcpStreamChannelTimeoutMs=1000 2>&1; sleep 30"
	for i in $(seq 1 100); do [ -S "$TMP/tmux.sock" ] && break; sleep 0.1; done
	for i in 1 2; do refused 81; done
	sleep 1
	tmux send-keys -t "$TM" C-c
	for i in $(seq 1 50); do tmux capture-pane -p -t "$TM" | grep -q "top failures" && break; sleep 0.1; done
	tmux capture-pane -p -t "$TM" >"$TMP/tmux-summary.txt"
	t_check "Ctrl-C in a terminal: the summary with the group of 2" \
		grep -qE '^ +2  198\.18\.64\.1 +198\.18\.64\.2:81 +tcp +tcp SynSent' "$TMP/tmux-summary.txt"
	tmux kill-session -t "$TM" 2>/dev/null
else
	t_skip "Ctrl-C in tmux" "tmux missing"
fi

t_finish
