#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# safejson: entries a strict parser accepts and that leak no credentials.
#  1. Python's json.loads (strict: valid UTF-8 only) over every line of every
#     fixture and corpus capture read with --all.
#  2. fixtures/secrets.pcap (tests/safejson/record.sh: curl with a Bearer token,
#     -u user:pass, a Cookie, password=/token= query values; redis-cli AUTH and
#     HELLO 3 AUTH; bytes that are not UTF-8): redacted by default, kept with
#     --no-redact; the invalid bytes come out as \u00XX.
#  3. community_id against tshark's Community ID dissector, flow by flow.
#  4. capture (root, a namespace of its own): "node" is the hostname without
#     NODE_NAME, NODE_NAME with it; ids start at the start time in microseconds.
. "$(dirname "$0")/../lib/runner.sh"
t_begin safejson "$@"
t_need python3 || { t_skip "everything" "$T_MISSING is not installed"; t_finish; }
t_need jq || { t_skip "everything" "$T_MISSING is not installed"; t_finish; }
BIN=$T_BIN tmp=$T_TMP
FX=tests/safejson/fixtures/secrets.pcap

# ---- 1. strict JSON everywhere ----
# One python for every file (its start-up is slow on a loaded machine).
cat >"$tmp/strict.py" <<'PY'
import json, subprocess, sys
binary, files = sys.argv[1], sys.argv[2:]
bad_files = 0
lines = 0
for f in files:
    out = subprocess.run([binary, "read", "--all", "-o", "json", f], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout
    bad = 0
    for n, line in enumerate(out.split(b"\n"), 1):
        if not line:
            continue
        lines += 1
        try:
            json.loads(line.decode("utf-8", errors="strict"))
        except Exception as e:
            bad += 1
            if bad <= 2:
                print("%s: line %d: %s: %r" % (f, n, e, line[:160]))
    bad_files += bad > 0
print("files=%d lines=%d bad_files=%d" % (len(files), lines, bad_files))
sys.exit(1 if bad_files else 0)
PY
mapfile -t files < <(ls tests/golden/fixtures/*.pcap* tests/streams/fixtures/*.pcap* \
	tests/dnsredis/fixtures/*.pcap* tests/safejson/fixtures/*.pcap; \
	find ../shared/corpora -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.pcap.gz' \) | sort)
python3 "$tmp/strict.py" "$BIN" "${files[@]}" >"$tmp/strict.out" 2>&1
rc=$?
t_check_eval "json.loads accepts every line of every fixture and corpus capture (${#files[@]} files: $(tail -1 "$tmp/strict.out"))" \
	'[ $rc = 0 ] && [ ${#files[@]} -ge 190 ]'
[ "$T_LAST" = pass ] || head -20 "$tmp/strict.out" | t_note

# ---- 2. redaction ----
"$BIN" read --all -o json "$FX" >"$tmp/red.json"
"$BIN" read --all --no-redact -o json "$FX" >"$tmp/raw.json"
# The secrets as they travel: plain, and inside Basic credentials (base64 of user:pass).
secrets=(BEARER-S3CRET COOKIE-S3CRET QUERY-S3CRET TOKEN-S3CRET redis-S3CRET-pw wrong-S3CRET-pw
	"$(printf 'alice:BASIC-S3CRET' | base64)" "$(printf 'carol:URL-S3CRET' | base64)")
leaks=0 kept=0
for s in "${secrets[@]}"; do
	grep -qF -- "$s" "$tmp/red.json" && { leaks=$((leaks + 1)); t_note "leaked: $s"; }
	grep -qF -- "$s" "$tmp/raw.json" && kept=$((kept + 1))
done
t_check_eval "no credential in the entries by default (${#secrets[@]} secrets)" '[ $leaks = 0 ]'
t_check_eval "--no-redact keeps every one of them" '[ $kept = ${#secrets[@]} ]'
H='[.[] | select(.protocol == "http")] as $h | [.[] | select(.protocol == "redis")] as $r | '
t_jq "Authorization keeps its scheme: Bearer and Basic" \
	"$H"'([$h[].request.headers.Authorization // empty] | sort) == ["Basic (redacted)", "Basic (redacted)", "Bearer (redacted)"]' "$tmp/red.json"
t_jq "Cookie redacted" "$H"'[$h[].request.headers.Cookie // empty] == ["(redacted)"]' "$tmp/red.json"
t_jq "query values: password= and token= redacted, the others kept" \
	"$H"'any($h[]; .request.path == "/index.html?user=bob&password=(redacted)&token=(redacted)&page=2")' "$tmp/red.json"
t_jq "redis AUTH (twice) and HELLO 3 AUTH user pass redacted; the reply kept" \
	"$H"'([$r[] | select(.request.command == "AUTH") | .request.args] == [["(redacted)"], ["(redacted)"]]) and ([$r[] | select(.request.command == "HELLO") | .request.args] == [["3", "AUTH", "(redacted)", "(redacted)"]]) and any($r[]; .response.value | tostring | startswith("WRONGPASS"))' "$tmp/red.json"
t_jq "healthy traffic otherwise unchanged (PING, Host, status)" \
	"$H"'any($r[]; .request.command == "PING") and all($h[]; .request.headers.Host != null and .response.status != null)' "$tmp/red.json"
# Entries are the same with and without redaction but for the redacted values.
t_check "only the credential fields differ with --no-redact" bash -c "
	diff <(jq -c 'del(.request.headers.Authorization, .request.headers.Cookie, .request.path, .request.args)' '$tmp/red.json') \
	     <(jq -c 'del(.request.headers.Authorization, .request.headers.Cookie, .request.path, .request.args)' '$tmp/raw.json') >/dev/null"
# The python client's bytes: /caf\xe9/\xff\xfe and X-Bin: \xc0\xaf\xed\xa0\x80 end.
t_check "invalid UTF-8 bytes are written as \\u00XX, one per byte" bash -c "
	grep -qF '\"path\":\"/caf\\u00e9/\\u00ff\\u00fe\"' '$tmp/red.json' &&
	grep -qF '\"X-Bin\":\"\\u00c0\\u00af\\u00ed\\u00a0\\u0080 end\"' '$tmp/red.json'"

# ---- 3. community_id against tshark ----
if t_need tshark; then
	# faultline: the TCP connection's community_id by client port; tshark: by tcp.srcport of the SYN.
	"$BIN" read --all -o json "$FX" | jq -r 'select(.src.port) | "\(.src.port) \(.community_id)"' | sort -u >"$tmp/ours.txt"
	tshark -r "$FX" --enable-protocol communityid -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' \
		-T fields -e tcp.srcport -e communityid 2>/dev/null | tr '\t' ' ' | sort -u >"$tmp/theirs.txt"
	t_check_eval "community_id of every TCP flow equals tshark's ($(wc -l <"$tmp/theirs.txt") flows)" \
		'[ -s "$tmp/ours.txt" ] && [ "$(wc -l <"$tmp/theirs.txt")" -ge 9 ] && diff "$tmp/ours.txt" "$tmp/theirs.txt" >/dev/null'
	[ "$T_LAST" = pass ] || diff "$tmp/ours.txt" "$tmp/theirs.txt" | head | t_note
	# The same for DNS over UDP and ICMP (echo, errors) on the golden and dnsredis captures.
	for f in tests/dnsredis/fixtures/dns-nxdomain.pcap tests/golden/fixtures/echo-ts0.pcap tests/golden/fixtures/tcp-refused-v6.pcap; do
		"$BIN" read --all -o json "$f" | jq -r '.community_id // "none"' | sort -u >"$tmp/o.txt"
		tshark -r "$f" --enable-protocol communityid -T fields -e communityid 2>/dev/null | grep . | sort -u >"$tmp/t.txt"
		t_check_eval "$(basename "$f"): each entry's community_id is one tshark computes" \
			'[ -s "$tmp/o.txt" ] && [ -z "$(comm -23 "$tmp/o.txt" "$tmp/t.txt")" ]'
		[ "$T_LAST" = pass ] || comm -23 "$tmp/o.txt" "$tmp/t.txt" | t_note
	done
else
	t_skip "community_id against tshark" "$T_MISSING is not installed"
fi
t_jq "every entry of secrets.pcap has a community_id" 'all(.[]; .community_id | test("^1:[A-Za-z0-9+/]{27}=$"))' "$tmp/red.json"

# ---- 4. capture: node and ids ----
if [ "$(id -u)" != 0 ]; then
	t_skip "capture: node and id" "needs root"
	t_finish
fi
. tests/netns/lib.sh
ns_prefix fluxsjc
t_on_exit ns_teardown
ns_add a
ns_add b
ns_link a a0 198.18.61.1/24 b b0 198.18.61.2/24
cap() {  # cap OUT [ENV...]: capture on a0 while pinging b, every entry
	local out=$1; shift
	rm -f "$tmp/cap.err"
	ns_exec a env -u NODE_NAME "$@" timeout 60 "$BIN" capture -i a0 --backend afpacket --all -o json \
		--duration 30 --socket "$tmp/c.sock" >"$out" 2>"$tmp/cap.err" &
	local pid=$! i
	# Ping once the capture says it is capturing (bounded: 30 s), then stop it.
	for i in $(seq 1 300); do
		grep -q "capturing on" "$tmp/cap.err" 2>/dev/null && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	ns_exec a ping -c 2 -i 0.2 -W 1 198.18.61.2 >/dev/null 2>&1
	for i in $(seq 1 100); do [ -s "$out" ] && break; sleep 0.1; done
	kill -INT $pid 2>/dev/null
	wait $pid
}
before=$(date +%s%6N)
cap "$tmp/c1.json"
cap "$tmp/c2.json" NODE_NAME=node-a.test
host=$(hostname)
t_jq "capture: node is the hostname without NODE_NAME" "length > 0 and all(.[]; .node == \"$host\")" "$tmp/c1.json"
t_jq "capture: node is NODE_NAME when set" 'length > 0 and all(.[]; .node == "node-a.test")' "$tmp/c2.json"
t_jq "capture: ids start at the start time in microseconds" "length > 0 and .[0].id >= $before and .[0].id < $before + 60000000" "$tmp/c1.json"
t_check "capture: a restart's ids are all new and larger" bash -c "
	[ \$(jq -s 'max_by(.id).id' '$tmp/c1.json') -lt \$(jq -s 'min_by(.id).id' '$tmp/c2.json') ]"
t_finish
