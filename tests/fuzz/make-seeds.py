#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the committed seed corpora under tests/fuzz/corpus/NAME/ (deterministic).

  tests/fuzz/make-seeds.py          rewrite every corpus from the sources below

Files named regress-* are inputs that once crashed a target: they are kept.

pipeline: a few recorded pcaps (tests/golden, tests/streams, tests/dnsredis
fixtures) turned into fuzz_pipeline records (see tests/fuzz/fuzz_pipeline.c),
plus variants with the timestamps zeroed, repeated or going backwards and a
tick; kfl: queries from tests/kfl/queries.tsv; config: YAML files, --set
assignments and command lines; stream: HTTP and Redis exchanges as
fuzz_stream records.  Classic pcap only (both byte orders, us or ns).
"""
import os
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")

# fuzz_pipeline.c's link_types[], by DLT number.
LINK_INDEX = {1: 0, 113: 1, 276: 2, 0: 3, 108: 4, 101: 5, 12: 6, 14: 7,
              228: 8, 229: 9, 9: 10, 50: 11, 51: 12, 242: 13, 127: 14}

PCAPS = [
    "tests/golden/fixtures/tcp-refused.pcap",
    "tests/golden/fixtures/tcp-refused-sll.pcap",
    "tests/golden/fixtures/tcp-refused-sll2.pcap",
    "tests/golden/fixtures/tcp-refused-null.pcap",
    "tests/golden/fixtures/tcp-refused-v6-raw.pcap",
    "tests/golden/fixtures/tcp-refused-qinq.pcap",
    "tests/golden/fixtures/tcp-close-wait.pcap",
    "tests/golden/fixtures/tcp-last-ack.pcap",
    "tests/golden/fixtures/tcp-syn-retry.pcap",
    "tests/golden/fixtures/mtu.pcap",
    "tests/golden/fixtures/param-problem-v6.pcap",
    "tests/golden/fixtures/ip-fragments.pcap",
    "tests/golden/fixtures/ipv6-ext.pcap",
    "tests/golden/fixtures/malformed.pcap",
    "tests/golden/fixtures/icmpv6-nd.pcap",
    "tests/streams/fixtures/http-get.pcap",
    "tests/streams/fixtures/http-chunked.pcap",
    "tests/streams/fixtures/http-cut.pcap",
    "tests/dnsredis/fixtures/dns-nxdomain.pcap",
    "tests/dnsredis/fixtures/dns-tcp.pcap",
    "tests/dnsredis/fixtures/redis-errors.pcap",
]


def read_pcap(path):
    """(linktype, [(ts_us, wire_len, frame)]) of a classic pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    order = {b"\xd4\xc3\xb2\xa1": ("<", 1), b"\x4d\x3c\xb2\xa1": ("<", 1000),
             b"\xa1\xb2\xc3\xd4": (">", 1), b"\xa1\xb2\x3c\x4d": (">", 1000)}.get(magic)
    if not order:
        raise ValueError(f"{path}: not a classic pcap")
    e, div = order
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    off, pkts = 24, []
    while off + 16 <= len(data):
        sec, frac, caplen, wire = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        pkts.append((sec * 1000000 + frac // div, wire, data[off:off + caplen]))
        off += caplen
    return linktype, pkts


def record(kind, tmode, frame, delta_us, extra64=0):
    return struct.pack("<BBHI", kind, tmode | (extra64 << 2), len(frame), delta_us) + frame


def pipeline_seed(linktype, pkts, times="forward"):
    out, prev = b"", None
    kind = LINK_INDEX[linktype]
    for i, (ts, wire, frame) in enumerate(pkts):
        delta = 0 if prev is None else max(ts - prev, 0)
        prev = ts
        extra = min((wire - len(frame) + 63) // 64, 63) if wire > len(frame) else 0
        if times == "zero":
            tmode, delta = 1, 0
        elif times == "equal" and i > 0:
            tmode, delta = 2, 0
        elif times == "backwards" and i % 2 == 1:
            tmode, delta = 3, 1000
        else:
            tmode = 0
        out += record(kind, tmode, frame, delta, extra)
    # a wall-clock tick 30 s on: every timeout fires
    return out + record(0x80, 0, b"", 30000000)


def write(name, seeds):
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if not f.startswith("regress-"):     # inputs that once crashed stay
            os.unlink(os.path.join(d, f))
    for seed_name, blob in seeds:
        with open(os.path.join(d, seed_name), "wb") as f:
            f.write(blob)
    print(f"{name}: {len(seeds)} seeds, {sum(len(b) for _, b in seeds)} bytes")


def pipeline_seeds():
    seeds = []
    for rel in PCAPS:
        path = os.path.join(ROOT, rel)
        if not os.path.exists(path):
            print(f"make-seeds: {rel} is missing, skipped", file=sys.stderr)
            continue
        linktype, pkts = read_pcap(path)
        base = os.path.basename(rel).replace(".pcap", "")
        seeds.append((base, pipeline_seed(linktype, pkts)))
    # time going wrong, on two short captures
    for rel in PCAPS[:1] + PCAPS[6:7]:
        linktype, pkts = read_pcap(os.path.join(ROOT, rel))
        base = os.path.basename(rel).replace(".pcap", "")
        for times in ("zero", "equal", "backwards"):
            seeds.append((f"{base}-ts-{times}", pipeline_seed(linktype, pkts, times)))
    return seeds


KFL_PICK = [
    "response.status > 400 or error or icmp or tcp",
    "!(response.status > 400 or error or icmp or tcp)",
    'request.headers["Host"] != null',
    'src.ip.startsWith("198.18.1.") and dst.ip == r"^198\\.18\\.2\\.\\d+$"',
    'error.type == r"half|tcp"',
    'icmp.version == 6 and icmp.code_name == r"(?i)^port unreachable$"',
    "tcp.reason == \"timeout\" and tcp.syn_retries >= 1",
    "dst.port < 1024 and dst.port != 0",
    'error.message.contains("reset")',
    "not (icmp or tcp)",
    "response.status ==",
    '"unterminated',
    'src.ip.foo("a")',
    "a === 1",
    'error.type == r"("',
]


def kfl_seeds():
    have = set()
    with open(os.path.join(ROOT, "tests", "kfl", "queries.tsv")) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 2 and not line.startswith("#"):
                have.add(cols[1])
    seeds = []
    for i, q in enumerate(KFL_PICK):
        if q not in have:
            print(f"make-seeds: KFL query not in queries.tsv any more: {q}", file=sys.stderr)
        seeds.append((f"query-{i:02d}", q.encode()))
    seeds.append(("extras", b'request.values[2] == "500" and request.headers["X-Bin"] != null'))
    return seeds


YAML = {
    "nested": "tap:\n  tcpStreamChannelTimeoutMs: 2000\n  snaplen: 1500\n",
    "dotted": "tap.maxFlows: 5000\ntap.reassemblyMemcapMb: 16\ntap.ringBufferMb: 8\n",
    "flow-style": "{tap: {snaplen: 65535, tcpStreamChannelTimeoutMs: 500}}\n",
    "bad-list": "tap:\n  snaplen: [1, 2]\n",
    "bad-key": "tap:\n  nope: 1\n",
    "bad-syntax": "tap: {snaplen: 9\n",
    "anchors": "base: &b\n  snaplen: 100\ntap: *b\n",
}
SETS = ["tap.snaplen=1500", "tap.tcpStreamChannelTimeoutMs=86400000", "tap.maxFlows=15",
        "tap.ringBufferMb=-1", "=1", "tap.snaplen", "nope=1"]
CLIS = [
    "--config\nx.yaml\n--set\ntap.snaplen=1500\n-o\njson\n-\n\n" + YAML["nested"],
    "--config=x.yaml\n--stats\nf.pcap\n\n" + YAML["dotted"],
    "-f\nerror\n-w\nout.pcap\n--write-max-mb\n10\n--write-files\n3\nf.pcap\n",
    "-i\neth0\n--backend\nebpf\n--hook\nxdp\n--duration\n1.5\n",
    "--bogus\n-o\n",
]


def config_seeds():
    seeds = [(f"yaml-{k}", b"\x00" + v.encode()) for k, v in YAML.items()]
    seeds += [(f"set-{i}", b"\x01" + s.encode()) for i, s in enumerate(SETS)]
    for i, c in enumerate(CLIS):
        first = b"\x03" if c.startswith("-i") else b"\x02"   # odd: capture
        seeds.append((f"cli-{i}", first + c.encode()))
    return seeds


def stream_rec(ctl, data):
    out = b""
    while True:
        out += bytes([ctl, min(len(data), 255)]) + data[:255]
        data = data[255:]
        if not data:
            return out


def stream_seeds():
    get = b"GET /x HTTP/1.1\r\nHost: a.internal\r\n\r\n"
    resp = b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope!"
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
    return [
        ("http", stream_rec(0x00, get) + stream_rec(0x01, resp)),
        ("http-chunked-fin", stream_rec(0x00, get) + stream_rec(0x01, chunked) + stream_rec(0x03, b"")),
        ("http-cut-rst", stream_rec(0x00, get) + stream_rec(0x01, resp[:20]) + stream_rec(0x05, b"")),
        ("http-hole", stream_rec(0x00, get) + stream_rec(0x09, resp)),
        ("http-idle", stream_rec(0x00, get) + stream_rec(0x10, b"")),
        ("redis", stream_rec(0x40, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") + stream_rec(0x41, b"-ERR no\r\n")),
        ("other-midstream", stream_rec(0xa0, b"hello") + stream_rec(0x81, b"world")),
    ]


def main():
    write("pipeline", pipeline_seeds())
    write("kfl", kfl_seeds())
    write("config", config_seeds())
    write("stream", stream_seeds())


if __name__ == "__main__":
    main()
