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

# The in-place reader also takes big-endian pcap and pcapng (either byte
# order), and may map the file (FAULTLINE_READ_MMAP=1): each must read like
# libpcap reading the same file through gzip (and the first three like the
# classic little-endian original).
# other KIND FILE: reads of FILE (plain, and mapped) agree with libpcap's of FILE.gz.
other() {
	local kind=$1 f=$2 name; name=$(basename "$f")
	local a b c
	gzip -c "$f" >"$tmp/$name.gz"
	a=$("$BIN" read -o json --all "$tmp/$name.gz" 2>&1; echo "rc=$?"; "$BIN" read --stats "$tmp/$name.gz" 2>&1)
	a=${a//"$tmp/$name.gz"/"$f"}
	b=$("$BIN" read -o json --all "$f" 2>&1; echo "rc=$?"; "$BIN" read --stats "$f" 2>&1)
	c=$(FAULTLINE_READ_MMAP=1 "$BIN" read -o json --all "$f" 2>&1; echo "rc=$?"; FAULTLINE_READ_MMAP=1 "$BIN" read --stats "$f" 2>&1)
	if [[ $name == two-interfaces* ]]; then
		# libpcap does not say a packet's pcapng interface: only the in-place reader
		# knows there are two, and takes the duplicate table (core/dedup.h) from the start.
		local strip='s/"dedup_bytes":[0-9]*,//; s/"total_bytes":[0-9]*,//; s/"peak_bytes":[0-9]*,//'
		a=$(sed -E "$strip" <<<"$a") b=$(sed -E "$strip" <<<"$b") c=$(sed -E "$strip" <<<"$c")
	fi
	if [ -n "$a" ] && [ "$a" == "$b" ] && [ "$a" == "$c" ]; then
		t_pass "$kind: $name reads like libpcap"
	else
		t_fail "$kind: $name" "differs from libpcap's read of the same packets"
		diff <(echo "$a") <(echo "$b") | T_NOTE_LINES=6 t_note
		diff <(echo "$a") <(echo "$c") | T_NOTE_LINES=6 t_note
	fi
}
python3 - "$base" "$tmp/src" <<'PY'
import struct, sys
src, out = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
recs, off = [], 24
while off + 16 <= len(data):
    ts, frac, cap, ln = struct.unpack("<IIII", data[off:off + 16])
    recs.append((ts, frac, data[off + 16:off + 16 + cap], ln)); off += 16 + cap
magic, vmaj, vmin, tz, sig, snap, lt = struct.unpack("<IHHiIII", data[:24])
# Big-endian classic pcap.
with open(f"{out}/be.pcap", "wb") as f:
    f.write(struct.pack(">IHHiIII", magic, vmaj, vmin, tz, sig, snap, lt))
    for ts, frac, pkt, ln in recs:
        f.write(struct.pack(">IIII", ts, frac, len(pkt), ln) + pkt)
def pad(b): return b + b"\0" * (-len(b) % 4)
def block(e, t, body): return struct.pack(e + "II", t, len(body) + 12) + body + struct.pack(e + "I", len(body) + 12)
def ng(name, e, tsresol=None, extra_if=False, stats=True):
    opts = b""
    if tsresol is not None:
        opts = struct.pack(e + "HH", 9, 1) + pad(bytes([tsresol])) + struct.pack(e + "HH", 0, 0)
    with open(f"{out}/{name}", "wb") as f:
        f.write(block(e, 0x0a0d0d0a, struct.pack(e + "IHHq", 0x1a2b3c4d, 1, 0, -1)))
        f.write(block(e, 1, struct.pack(e + "HHI", lt, 0, snap) + opts))
        if extra_if:
            f.write(block(e, 1, struct.pack(e + "HHI", lt, 0, 0)))
        for i, (ts, frac, pkt, ln) in enumerate(recs):
            t = ts * 1000000 + frac if tsresol != 9 else ts * 1000000000 + frac * 1000
            f.write(block(e, 6, struct.pack(e + "IIIII", i % 2 if extra_if else 0, t >> 32, t & 0xffffffff, len(pkt), ln) + pad(pkt)))
            if stats and i == 1:
                f.write(block(e, 5, struct.pack(e + "III", 0, 0, 0)))   # statistics: skipped
ng("le.pcapng", "<")
ng("be.pcapng", ">")
ng("ns.pcapng", "<", tsresol=9)
ng("two-interfaces.pcapng", "<", extra_if=True)
ng("millis.pcapng", "<", tsresol=3)     # a resolution libpcap scales: its own reader
PY
[ $? = 0 ] || t_fail "craft the pcapng files (python3)"
for f in "$tmp"/src/be.pcap "$tmp"/src/*.pcapng; do other in-place "$f"; done
want=$("$BIN" read -o json --all "$base" 2>&1)
for f in be.pcap le.pcapng be.pcapng; do
	t_check_eval "in-place: $f has the original's entries" \
		'[ -n "$want" ] && [ "$want" == "$("$BIN" read -o json --all "$tmp/src/$f" 2>&1)" ]'
done

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
