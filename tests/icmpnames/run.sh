#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ICMP names as Wireshark prints them: a capture with every ICMPv4 type 0-43
# and ICMPv6 type 1-4/128-161, each with codes 0-16 (v6: 0-10), goes through
# faultline and through tshark, and every type and code name tshark knows must
# match ours.
# Passes print nothing (about a thousand of them; VERBOSE=1 shows them).
. "$(dirname "$0")/../lib/runner.sh"
t_begin icmpnames "$@"
T_QUIET=1
BIN=$T_BIN
if ! command -v tshark >/dev/null || ! /usr/bin/python3 -c 'import scapy' 2>/dev/null; then
	t_skip "icmp names" "tshark or python3-scapy missing"
	t_finish
fi
tmp=$T_TMP

/usr/bin/python3 - "$tmp/all.pcap" <<'PY'
import sys
from scapy.all import Ether, IP, IPv6, ICMP, UDP, Raw, wrpcap
mac = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
pk = []
quote = bytes(IP(src="198.18.0.2", dst="198.18.0.3")/UDP(sport=1, dport=2))
for t in range(0, 44):
    for c in range(0, 17):
        pk.append(Ether(**mac)/IP(src="198.18.0.1", dst="198.18.0.2")/ICMP(type=t, code=c)/Raw(quote))
quote6 = bytes(IPv6(src="fd18::2", dst="fd18::3")/UDP(sport=1, dport=2))
for t in [1, 2, 3, 4] + list(range(128, 162)):
    for c in range(0, 11):
        pk.append(Ether(**mac)/IPv6(src="fd18::1", dst="fd18::2", nh=58)/Raw(bytes([t, c, 0, 0, 0, 0, 0, 0]) + quote6))
wrpcap(sys.argv[1], pk)
PY

# tshark's names: "type<TAB>code<TAB>type name<TAB>code name" per packet.
tshark -r "$tmp/all.pcap" -T pdml 2>/dev/null | /usr/bin/python3 -c '
import sys, re, xml.etree.ElementTree as ET
for ev, el in ET.iterparse(sys.stdin):
    if el.tag != "packet":
        continue
    for proto in ("icmp", "icmpv6"):
        p = el.find("proto[@name=\"%s\"]" % proto)
        if p is None:
            continue
        t = p.find("field[@name=\"%s.type\"]" % proto); c = p.find("field[@name=\"%s.code\"]" % proto)
        tn = re.sub(r"^Type: (\d+ \((.*)\)|(.*) \(\d+\))$", lambda m: m.group(2) or m.group(3), t.get("showname"))
        m = re.match(r"^Code: \d+ \((.*)\)$", c.get("showname"))
        print("%s\t%s\t%s\t%s\t%s" % (4 if proto == "icmp" else 6, t.get("show"), c.get("show"), tn, m.group(1) if m else ""))
        break
    el.clear()' | sort -u >"$tmp/tshark.tsv"

"$BIN" read --all -o json "$tmp/all.pcap" |
	jq -r 'select(.icmp) | [.icmp.version, .icmp.type, .icmp.code, .icmp.type_name, (.icmp.code_name // "")] | @tsv' |
	sort -u >"$tmp/ours.tsv"

[ -s "$tmp/tshark.tsv" ] || t_fail "tshark names the test capture's messages"
[ -s "$tmp/ours.tsv" ] || t_fail "faultline reports the test capture's messages"
# Compare by (type, code): faultline reports echo pairs when they end, so order differs.
while IFS=$'\t' read -r v t c tn cn; do
	# Echo request and reply become one entry per exchange (code 0): covered by the fixtures.
	case "$t" in 0|8|128|129) continue ;; esac
	line=$(awk -F'\t' -v v="$v" -v t="$t" -v c="$c" '$1 == v && $2 == t && $3 == c' "$tmp/ours.tsv" | head -1)
	if [ -z "$line" ]; then
		t_fail "v$v type $t code $c" "no faultline entry"; continue
	fi
	IFS=$'\t' read -r _ _ _ otn ocn <<<"$line"
	# Wireshark calls a router advertisement "Mobile IP Advertisement" when it guesses
	# a mobility extension, and says "Unknown" where it has no name.
	case "$tn" in "Mobile IP Advertisement"|Unknown*) ;; *)
		if [ "$tn" = "$otn" ]; then t_pass "v$v type $t code $c: type name '$tn'"; else
			t_fail "v$v type $t" "tshark '$tn', faultline '$otn'"; fi ;;
	esac
	case "$cn" in ""|Unknown*) ;; *)
		if [ "$cn" = "$ocn" ]; then t_pass "v$v type $t code $c: code name '$cn'"; else
			t_fail "v$v type $t code $c" "tshark '$cn', faultline '$ocn'"; fi ;;
	esac
done <"$tmp/tshark.tsv"
t_finish
