#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pcapread: faultline reads plain classic pcap files with its own reader and
# everything else (gzip, pcapng, big-endian, unusual records) through libpcap.
# Both must give the same result: each file here is read plain and gzipped
# (which always goes through libpcap) and the outputs compared, for every
# golden fixture and for crafted files whose records the fast reader hands to
# libpcap (truncated tail, caplen above snaplen, caplen above the wire length).
. "$(dirname "$0")/../lib/runner.sh"
t_begin pcapread "$@"
BIN=${BIN:-$T_BIN}
tmp=$T_TMP

# same FILE: plain and gzipped reads agree (entries, exit code, stats, messages).
same() {
	local f=$1 name; name=$(basename "$1")
	cp "$f" "$tmp/$name" && gzip -c "$f" >"$tmp/$name.gz"
	local a b
	a=$("$BIN" read --all -o json "$tmp/$name" 2>&1; echo "rc=$?"; "$BIN" read --stats "$tmp/$name" 2>&1)
	b=$("$BIN" read --all -o json "$tmp/$name.gz" 2>&1; echo "rc=$?"; "$BIN" read --stats "$tmp/$name.gz" 2>&1)
	b=${b//"$tmp/$name.gz"/"$tmp/$name"}
	if [ "$a" == "$b" ]; then
		t_pass "$name"
	else
		t_fail "$name" "plain and gzipped reads differ"
		diff <(echo "$a") <(echo "$b") | T_NOTE_LINES=6 t_note
	fi
}

for f in tests/golden/fixtures/*.pcap; do same "$f"; done

# Crafted: a base file of a few packets, then damaged copies.
base=tests/golden/fixtures/tcp-refused.pcap
[ -f "$base" ] || base=$(ls tests/golden/fixtures/*.pcap | head -1)
mkdir -p "$tmp/src"
python3 - "$base" "$tmp/src" <<'PY'
import struct, sys
src, out = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
hdr, recs, off = data[:24], [], 24
while off + 16 <= len(data):
    ts, frac, cap, ln = struct.unpack("<IIII", data[off:off + 16])
    recs.append((ts, frac, data[off + 16:off + 16 + cap], ln)); off += 16 + cap
def write(name, records, header=hdr, tail=b""):
    with open(f"{out}/{name}", "wb") as f:
        f.write(header)
        for ts, frac, pkt, ln in records:
            f.write(struct.pack("<IIII", ts, frac, len(pkt), ln) + pkt)
        f.write(tail)
write("crafted-truncated-tail.pcap", recs, tail=struct.pack("<IIII", 1, 2, 100, 100) + b"x" * 10)
write("crafted-truncated-header.pcap", recs, tail=b"\0" * 7)
small = hdr[:16] + struct.pack("<I", 40) + hdr[20:]
write("crafted-caplen-over-snaplen.pcap", recs, header=small)
bad = list(recs)
if len(bad) > 1:
    ts, frac, pkt, ln = bad[1]; bad[1] = (ts, frac, pkt, len(pkt) - 4)
write("crafted-caplen-over-len.pcap", bad)
write("crafted-empty.pcap", [])
ns = struct.pack("<I", 0xa1b23c4d) + hdr[4:]
write("crafted-nanosecond.pcap", [(t, f * 1000 + 7, p, l) for t, f, p, l in recs], header=ns)
PY
[ $? = 0 ] || t_fail "craft the damaged files (python3)"
for f in "$tmp"/src/crafted-*.pcap; do same "$f"; done

# Each input is opened once: through a FIFO, the same as from the file.
mkfifo "$tmp/fifo"
want=$("$BIN" read --all -o json "$base" 2>&1)
(cat "$base" >"$tmp/fifo" &)
got=$(timeout 20 "$BIN" read --all -o json "$tmp/fifo" 2>&1)
t_check_eval "a FIFO reads like the file" '[ -n "$want" ] && [ "$want" == "$got" ]'
# A cut record: exit 1 with tcpdump's message, plain and gzipped alike.
out=$("$BIN" read -o json "$tmp/src/crafted-truncated-tail.pcap" 2>&1); rc=$?
t_check "truncated tail: exit 1" [ "$rc" = 1 ]
t_check "truncated tail: tcpdump's message" \
	grep -q "truncated dump file; tried to read 100 captured bytes, only got 10" <<<"$out"
# A link type the decoder does not know is an error naming it, not a silent empty run.
python3 - "$base" "$tmp/src/lt.pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(data[:20] + struct.pack("<I", 147) + data[24:])
PY
out=$("$BIN" read -o json "$tmp/src/lt.pcap" 2>&1); rc=$?
t_check_eval "unknown link type: exit 2, the file and the link type named" \
	'[ "$rc" = 2 ] && grep -q "lt.pcap: link type 147" <<<"$out"'
t_finish
