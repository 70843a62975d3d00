#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Suite "recorder": the pcap files faultline writes, checked with tshark/capinfos.
#   1. the writer itself (bench/recorder_bench.c built with sanitizers): packets,
#      lengths and nanosecond times survive; gzip; rotation keeps the newest K.
#   2. `faultline read -w` (skipped with a message while `read` is not there):
#      re-reading the recording gives the same entries and tshark the same
#      packets; gzip; rotation; `--write-filter error` holds exactly the flows
#      with error entries; the golden fixtures round-trip.
#   3. `faultline capture -w` on a veth in network namespaces (root only):
#      an Ethernet, nanosecond pcap that reaches the disk while the capture
#      runs, and `--write-filter error` keeping only the refused connection.
. "$(dirname "$0")/../lib/runner.sh"
t_begin recorder "$@"
# t_check WHAT COMMAND...; t_check_eval WHAT 'shell condition' (for && and ||).

tmp=$(mktemp -d /tmp/recorder-suite.XXXXXX)
CAP_PID=
cleanup() {
	[ -n "$CAP_PID" ] && kill -KILL "$CAP_PID" 2>/dev/null
	[ -n "${KEEP_TMP:-}" ] && cp -r "$tmp" /tmp/recorder-suite-kept
	declare -F ns_teardown >/dev/null && ns_teardown
	rm -rf "$tmp"
}
t_on_exit cleanup
PY=/usr/bin/python3
FL=./faultline-asan

for tool in tshark capinfos editcap jq; do
	if ! command -v "$tool" >/dev/null; then
		t_skip "everything: $tool is not installed"
		t_finish
	fi
done
if ! "$PY" -c 'import scapy' 2>/dev/null; then
	t_skip "everything: python3 scapy is not installed"
	t_finish
fi

# Per packet: time (ns digits), length on the wire, captured length, link type.
fields() {
	tshark -r "$1" -T fields -e frame.time_epoch -e frame.len -e frame.cap_len \
		-e frame.encap_type 2>/dev/null
}
same_packets() { [ -n "$(fields "$1")" ] && diff <(fields "$1") <(fields "$2") >/dev/null; }
is_gzip() { [ "$(head -c 2 "$1" | od -An -tx1 | tr -d ' ')" = "1f8b" ]; }
count() { capinfos -Mc "$1" 2>/dev/null | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}'; }
nano_pcap() { capinfos -t "$1" 2>/dev/null | grep -q 'nanosecond pcap'; }

"$PY" tests/recorder/make_fixture.py "$tmp/fx.pcap" || { t_fail "make the fixture"; t_finish; }
editcap -s 60 "$tmp/fx.pcap" "$tmp/fx60.pcap" >/dev/null 2>&1
echo "recorder: fixture of $(count "$tmp/fx.pcap") packets"

# ---- 1. the writer ----
echo "recorder: the writer (bench/recorder_bench.c)"
bench="$tmp/recorder_bench"
if cc -O1 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iuser -Iinclude \
	-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
	-o "$bench" bench/recorder_bench.c user/sink/recorder.c user/sink/recorder_file.c user/report/stats.c \
	user/report/doc.c -lpcap -lz; then
	"$bench" "$tmp/fx.pcap" "$tmp/w.pcap" >/dev/null
	t_check "plain pcap: same packets, lengths and ns times as the source" \
		same_packets "$tmp/fx.pcap" "$tmp/w.pcap"
	t_check "plain pcap: a nanosecond pcap" nano_pcap "$tmp/w.pcap"
	"$bench" "$tmp/fx60.pcap" "$tmp/w60.pcap" >/dev/null
	t_check "cut packets: original lengths kept beside the captured ones" \
		same_packets "$tmp/fx60.pcap" "$tmp/w60.pcap"
	"$bench" "$tmp/fx.pcap" "$tmp/w.pcap.gz" >/dev/null
	t_check "gzip: the file is gzip" is_gzip "$tmp/w.pcap.gz"
	t_check "gzip: tshark reads the same packets" same_packets "$tmp/fx.pcap" "$tmp/w.pcap.gz"
	# ~4.9 KB x 700 loops = 3.4 MB: 4 files of 1 MB, the newest 2 kept.
	mkdir "$tmp/rot"
	out=$("$bench" "$tmp/fx.pcap" "$tmp/rot/r.pcap" 700 1 2)
	files=$(sed -nE 's/.* ([0-9]+) files.*/\1/p' <<<"$out")
	t_check "rotation: 4 files written" [ "$files" = 4 ]
	t_check "rotation: the newest 2 kept, the oldest deleted" \
		[ "$(cd "$tmp/rot" && echo *)" = "r-00003.pcap r-00004.pcap" ]
	big=$(find "$tmp/rot" -name 'r-*.pcap' -size +1000000c | wc -l)
	t_check "rotation: no file over 1 MB" [ "$big" = 0 ]
	n3=$(count "$tmp/rot/r-00003.pcap")
	t_check_eval "rotation: every kept file reads in tshark" \
		'[ -n "$n3" ] && [ "$n3" -gt 0 ] && [ "$(count "$tmp/rot/r-00004.pcap")" -gt 0 ]'
else
	t_fail "build bench/recorder_bench.c"
fi

# ---- 2. faultline read -w ----
echo "recorder: faultline read -w"
if [ ! -x "$FL" ] || ! "$FL" read -o json "$tmp/fx.pcap" >"$tmp/e.json" 2>"$tmp/e.err"; then
	t_skip "faultline read -w: \`$FL read\` does not run here yet ($(head -c 120 "$tmp/e.err" 2>/dev/null | head -1))"
	t_finish
fi

# Plain: the recording holds every packet and gives the same entries.
"$FL" read --all -o json -w "$tmp/r.pcap" "$tmp/fx.pcap" >"$tmp/e1.json" 2>"$tmp/err"
rc=$?
t_check_eval "read -w: exit 0, nothing on stderr" '[ $rc = 0 ] && [ ! -s "$tmp/err" ]'
t_check "read -w: tshark sees the same packets" same_packets "$tmp/fx.pcap" "$tmp/r.pcap"
"$FL" read --all -o json "$tmp/r.pcap" >"$tmp/e2.json" 2>/dev/null
t_check_eval "read -w: re-reading the recording gives the same entries" \
	'[ -s "$tmp/e1.json" ] && diff -q "$tmp/e1.json" "$tmp/e2.json" >/dev/null'
t_check "read -w: --stats counts the recorded packets" \
	[ "$("$FL" read --stats -w "$tmp/r.pcap" "$tmp/fx.pcap" | jq .recorder.packets)" = \
	  "$(count "$tmp/fx.pcap")" ]

# Gzip.
"$FL" read -o json -w "$tmp/r.pcap.gz" "$tmp/fx.pcap" >/dev/null 2>&1
t_check "read -w x.gz: gzip that tshark reads" is_gzip "$tmp/r.pcap.gz"
t_check "read -w x.gz: the same packets" same_packets "$tmp/fx.pcap" "$tmp/r.pcap.gz"
"$FL" read --all -o json "$tmp/r.pcap.gz" >"$tmp/e3.json" 2>/dev/null
t_check "read -w x.gz: re-read, the same entries" diff -q "$tmp/e1.json" "$tmp/e3.json"

# Rotation: ~3.4 MB of the fixture repeated, 1 MB files, keep 2.
"$PY" tests/recorder/make_fixture.py "$tmp/big.pcap" 700
mkdir "$tmp/rot2"
"$FL" read -o json --write-max-mb 1 --write-files 2 -w "$tmp/rot2/r.pcap" "$tmp/big.pcap" \
	>/dev/null 2>&1
t_check "read rotation: the newest 2 of 4 files kept" \
	[ "$(cd "$tmp/rot2" && echo *)" = "r-00003.pcap r-00004.pcap" ]
t_check "read rotation: files readable" [ "$(count "$tmp/rot2/r-00004.pcap")" -gt 0 ]

"$FL" read -o json --write-files 2 -w "$tmp/rot2/x.pcap" "$tmp/fx.pcap" >/dev/null 2>&1
t_check "read: --write-files without --write-max-mb is a usage error (exit 2)" [ $? = 2 ]
"$FL" read -o json -w "$tmp/no/such/dir/x.pcap" "$tmp/fx.pcap" >/dev/null 2>"$tmp/err5"
rc=$?
t_check_eval "read -w into a missing directory: exit 2, the path named" \
	'[ $rc = 2 ] && grep -q "$tmp/no/such/dir/x.pcap" "$tmp/err5"'

cp "$tmp/fx.pcap" "$tmp/same.pcap"
"$FL" read -o json -w "$tmp/same.pcap" "$tmp/same.pcap" >/dev/null 2>&1
rc=$?
t_check_eval "read -w onto its own input: exit 2, the input left alone" \
	'[ $rc = 2 ] && cmp -s "$tmp/fx.pcap" "$tmp/same.pcap"'
# The same file by another name: a hard link, and a name the rotation would write or delete.
mkdir "$tmp/in"
cp "$tmp/fx.pcap" "$tmp/in/a.pcap"
ln "$tmp/in/a.pcap" "$tmp/in/hard.pcap"
"$FL" read -o json -w "$tmp/in/hard.pcap" "$tmp/in/a.pcap" >/dev/null 2>"$tmp/err6"
rc=$?
t_check_eval "read -w onto a hard link of its input: exit 2, said, the input left alone" \
	'[ $rc = 2 ] && grep -q "input" "$tmp/err6" && cmp -s "$tmp/fx.pcap" "$tmp/in/a.pcap"'
cp "$tmp/fx.pcap" "$tmp/in/r-00001.pcap"
"$FL" read -o json -w "$tmp/in/r.pcap" --write-max-mb 1 "$tmp/in/r-00001.pcap" >/dev/null 2>"$tmp/err7"
rc=$?
t_check_eval "read r-00001.pcap -w r.pcap --write-max-mb 1: exit 2, the input left alone" \
	'[ $rc = 2 ] && grep -q "r-00001.pcap is an input" "$tmp/err7" && cmp -s "$tmp/fx.pcap" "$tmp/in/r-00001.pcap"'
# A symbolic link is not followed unless asked (a root process would write where it points).
cp "$tmp/fx.pcap" "$tmp/in/precious"
ln -s "$tmp/in/precious" "$tmp/in/link.pcap"
"$FL" read -o json -w "$tmp/in/link.pcap" "$tmp/fx.pcap" >/dev/null 2>"$tmp/err8"
rc=$?
t_check_eval "read -w SYMLINK: exit 2, said, the target left alone" \
	'[ $rc = 2 ] && grep -q "symbolic link" "$tmp/err8" && cmp -s "$tmp/fx.pcap" "$tmp/in/precious"'
"$FL" read -o json -w "$tmp/in/link.pcap" --write-follow-symlinks "$tmp/big.pcap" >/dev/null 2>&1
t_check "read -w SYMLINK --write-follow-symlinks: written through the link" \
	same_packets "$tmp/big.pcap" "$tmp/in/precious"
# Restarts: the numbering goes on and the ring keeps exactly K files.
mkdir "$tmp/rot3"
for run in 1 2 3; do
	"$FL" read -o json --write-max-mb 1 --write-files 2 -w "$tmp/rot3/r.pcap" "$tmp/big.pcap" >/dev/null 2>&1
done
t_check "rotation across 3 runs: numbering goes on, exactly 2 files kept" \
	[ "$(cd "$tmp/rot3" && echo *)" = "r-00011.pcap r-00012.pcap" ]

# A disk that cannot take it: reported on stderr, the entries still come.
if [ -w /dev/full ]; then
	"$FL" read --all -o json -w /dev/full "$tmp/fx.pcap" >"$tmp/e4.json" 2>"$tmp/err4"
	rc=$?
	t_check_eval "read -w /dev/full: the analysis goes on (same entries), exit 1" \
		'[ $rc = 1 ] && diff -q "$tmp/e1.json" "$tmp/e4.json" >/dev/null'
	t_check "read -w /dev/full: one message naming the file" \
		[ "$(grep -c '/dev/full' "$tmp/err4")" = 1 ]
	t_check "read -w /dev/full: counted in stats" \
		[ "$("$FL" read --stats -w /dev/full "$tmp/fx.pcap" 2>/dev/null | jq .recorder.write_errors)" -ge 1 ]
	t_check "read -w /dev/full: recorder.packets counts only what was written (0)" \
		[ "$("$FL" read --stats -w /dev/full "$tmp/fx.pcap" 2>/dev/null | jq .recorder.packets)" = 0 ]
fi

# --write-filter error: exactly the TCP/UDP conversations of flows with error entries.
conv_of_pcap() {   # one "a:port b:port" line per TCP/UDP packet, sides sorted; ICMP quotes excluded
	tshark -r "$1" -Y '(tcp or udp) and not icmp' -T fields -E separator=' ' \
		-e ip.src -e ipv6.src -e tcp.srcport -e udp.srcport \
		-e ip.dst -e ipv6.dst -e tcp.dstport -e udp.dstport 2>/dev/null |
	awk '{ a = $1 ":" $2; b = $3 ":" $4; print (a < b ? a " " b : b " " a) }'
}
"$FL" read -o json --write-filter error -w "$tmp/err.pcap" "$tmp/fx.pcap" >/dev/null 2>"$tmp/errf"
rc=$?
t_check_eval "--write-filter error: exit 0, nothing on stderr" '[ $rc = 0 ] && [ ! -s "$tmp/errf" ]'
# A flow has an error entry when an entry names it, or when an ICMP error quotes it
# (the pipeline attaches the ICMP error to the flow it quotes).
conv_of_pcap "$tmp/fx.pcap" | sort -u >"$tmp/all"
jq -r 'select(.error != null) | (if .src.port != null then . else .icmp.original end) |
	select(. != null and .src.port != null) |
	(.src.ip + ":" + (.src.port|tostring)) as $a | (.dst.ip + ":" + (.dst.port|tostring)) as $b |
	if $a < $b then "\($a) \($b)" else "\($b) \($a)" end' "$tmp/e1.json" |
	sort -u | comm -12 - "$tmp/all" >"$tmp/want"
conv_of_pcap "$tmp/err.pcap" | sort -u >"$tmp/got"
echo "recorder: $(wc -l <"$tmp/want") flows with error entries"
t_check "--write-filter error: some failing flows in the fixture" [ -s "$tmp/want" ]
t_check "--write-filter error: the conversations are exactly the failing flows" \
	diff "$tmp/want" "$tmp/got"
# Whole flows: every packet the source has of those conversations.
want_n=$(conv_of_pcap "$tmp/fx.pcap" | grep -cxFf "$tmp/want")
got_n=$(conv_of_pcap "$tmp/err.pcap" | wc -l)
t_check "--write-filter error: every packet of those flows ($want_n)" [ "$want_n" = "$got_n" ]
if jq -se 'any(.[]; .protocol == "icmp" and .error != null)' "$tmp/e1.json" >/dev/null; then
	t_check "--write-filter error: the ICMP error itself is recorded" \
		[ "$(tshark -r "$tmp/err.pcap" -Y 'icmp.type == 3' 2>/dev/null | wc -l)" -ge 1 ]
fi
t_check "--write-filter error: no healthy flow's packet (40001, 40007)" \
	[ "$(tshark -r "$tmp/err.pcap" -Y 'tcp.port == 40001 or tcp.port == 40007' 2>/dev/null | wc -l)" = 0 ]
"$FL" read -o json --write-filter 'protocol == "none-such"' -w "$tmp/none.pcap" "$tmp/fx.pcap" \
	>/dev/null 2>&1
t_check "--write-filter: no match, an empty but valid pcap" [ "$(count "$tmp/none.pcap")" = 0 ]
"$FL" read -o json --write-filter 'error ==' -w "$tmp/bad.pcap" "$tmp/fx.pcap" >/dev/null 2>&1
t_check "--write-filter: a KFL syntax error is a usage error (exit 2)" [ $? = 2 ]

# The golden fixtures (another suite's files): each round-trips, and its error-only
# recording re-reads to the same error entries.  Bounded to 200 files.
errors_of() { jq -c 'select(.error != null) | del(.id)' "$1" | sort; }
n=0
for fx in ${SKIP_GOLDEN:+/nonexistent/}tests/golden/fixtures/*.pcap tests/golden/fixtures/*.pcap.gz tests/golden/fixtures/*.pcapng; do
	[ -f "$fx" ] || continue
	n=$((n + 1)); [ "$n" -le 200 ] || break
	name=$(basename "$fx")
	"$FL" read -o json -w "$tmp/g.pcap" "$fx" >"$tmp/g1.json" 2>/dev/null
	"$FL" read -o json "$tmp/g.pcap" >"$tmp/g2.json" 2>/dev/null
	if diff -q "$tmp/g1.json" "$tmp/g2.json" >/dev/null && same_packets "$fx" "$tmp/g.pcap"; then
		t_pass "round trip $name"
	else
		t_fail "round trip $name"
	fi
	"$FL" read -o json --write-filter error -w "$tmp/ge.pcap" "$fx" >/dev/null 2>&1
	"$FL" read -o json "$tmp/ge.pcap" >"$tmp/g3.json" 2>/dev/null
	t_check "error-only recording of $name: the same error entries" \
		diff -q <(errors_of "$tmp/g1.json") <(errors_of "$tmp/g3.json")
done
[ "$n" -gt 0 ] || t_skip "golden fixtures round trip: tests/golden/fixtures/ is empty"

# ---- 3. faultline capture -w ----
echo "recorder: faultline capture -w"
if [ "$(id -u)" != 0 ] || ! command -v curl >/dev/null; then
	t_skip "capture -w: needs root and curl"
	t_finish
fi
. tests/netns/lib.sh
ns_prefix flt-rec
ns_add client && ns_add server &&
	ns_link client c0 198.18.1.1/24 server s0 198.18.1.2/24 2>/dev/null || { t_fail "namespaces"; t_finish; }
ns_bg server timeout 60 "$PY" -m http.server 8080 --bind 198.18.1.2 >/dev/null 2>&1
ns_wait_port server 8080 || { t_fail "http server starts"; t_finish; }

# capture_w NAME ARGS...: capture on c0 until the traffic is done; then stopped with SIGTERM.
capture_w() {
	local name=$1 i; shift
	ip netns exec "$(ns_name client)" "$FL" capture -i c0 --socket "$tmp/$name.sock" -o json \
		--duration 60 --set tap.tcpStreamChannelTimeoutMs=1000 "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" &
	CAP_PID=$!
	fl_capture_wait "$tmp/$name.err" "" && return 0
	cat "$tmp/$name.err" >&2
	return 1
}
stop_capture() {
	local i
	kill -TERM "$CAP_PID" 2>/dev/null
	for i in $(seq 1 100); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$CAP_PID" 2>/dev/null
	CAP_RC=$?
	CAP_PID=
}
traffic() {
	ns_exec client timeout 5 curl -s -o /dev/null http://198.18.1.2:8080/
	ns_exec client timeout 5 curl -s -o /dev/null http://198.18.1.2:81/     # closed: RST
}

if capture_w all -w "$tmp/cap.pcap"; then
	traffic
	# The once-a-second flush: the packets are on disk while the capture still runs.
	for i in $(seq 1 30); do [ "$(count "$tmp/cap.pcap")" -gt 0 ] 2>/dev/null && break; sleep 0.2; done
	t_check_eval "capture -w: packets on disk within seconds, capture still running" \
		'[ "$(count "$tmp/cap.pcap")" -gt 0 ] && kill -0 "$CAP_PID"'
	stop_capture
	t_check "capture -w: exit 0 on SIGTERM" [ "$CAP_RC" = 0 ]
	t_check "capture -w: an Ethernet pcap" eval 'capinfos -E "$tmp/cap.pcap" | grep -q Ethernet'
	t_check "capture -w: nanosecond timestamps" nano_pcap "$tmp/cap.pcap"
	t_check "capture -w: the HTTP exchange and the refused SYN are in it" \
		eval '[ "$(tshark -r "$tmp/cap.pcap" -Y "tcp.port == 8080" 2>/dev/null | wc -l)" -ge 6 ] &&
		      [ "$(tshark -r "$tmp/cap.pcap" -Y "tcp.port == 81 and tcp.flags.reset == 1" 2>/dev/null | wc -l)" -ge 1 ]'
	"$FL" read -o json "$tmp/cap.pcap" >"$tmp/cap.json" 2>/dev/null
	t_check "capture -w: re-read, the refused connection is there (SynSent refused)" \
		eval 'jq -se "any(.[]; .error.message == \"SynSent\" and .dst.port == 81)" "$tmp/cap.json" >/dev/null'
else
	t_fail "capture -w: starts"
	stop_capture
fi

if capture_w err -w "$tmp/cap-err.pcap" --write-filter error; then
	traffic
	sleep 1.5
	stop_capture
	conv_of_pcap "$tmp/cap-err.pcap" | awk '{print $2}' | sort -u >"$tmp/cap-err.conv"
	t_check "capture --write-filter error: only the refused flow (port 81)" \
		eval '[ "$(cat "$tmp/cap-err.conv")" = "198.18.1.2:81" ]'
	t_check "capture --write-filter error: no packet of the healthy HTTP flow" \
		eval '[ "$(tshark -r "$tmp/cap-err.pcap" -Y "tcp.port == 8080" 2>/dev/null | wc -l)" = 0 ]'
else
	t_fail "capture --write-filter: starts"
	stop_capture
fi

t_finish
