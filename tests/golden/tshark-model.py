#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A rough model of `faultline read` on top of tshark's dissection, for checking
golden fixtures' checks themselves (not faultline): after re-recording the
fixtures or editing gen-checks.py, run

    tests/golden/check-checks.sh tests/golden/tshark-model.sh

and every line should pass, which shows the expectations match what Wireshark
sees in the captures.  It takes the same arguments as the binary:

    tshark-model.py read [--set tap.tcpStreamChannelTimeoutMs=N] [--stats] -o json FILE

It models only what the checks look at (TCP SynSent/Reset/CloseWait/LastAck,
ICMP entries with names from Wireshark, echo pairing, a few stats), crudely:
it is a cross-check of the checks, not a reference implementation."""
import json, subprocess, sys, xml.etree.ElementTree as ET, datetime

args = sys.argv[1:]
assert args[0] == "read"
timeout = 10000
stats_mode = False
files = []
i = 1
while i < len(args):
    a = args[i]
    if a == "--set":
        k, v = args[i + 1].split("="); assert k == "tap.tcpStreamChannelTimeoutMs"; timeout = int(v); i += 2; continue
    if a == "--stats": stats_mode = True; i += 1; continue
    if a == "--all": i += 1; continue
    if a == "-o": i += 2; continue
    files.append(a); i += 1

f = files[0]
if f.endswith(".gz"):
    import gzip, tempfile
    t = tempfile.NamedTemporaryFile(suffix=".pcap", delete=False); t.write(gzip.open(f).read()); t.close(); f = t.name
x = subprocess.run(["tshark", "-r", f, "-T", "pdml"], capture_output=True).stdout
root = ET.fromstring(x)

entries = []
stats = {"seen": 0, "decode_errors": 0, "icmp_msgs": 0, "icmp_err": 0}


def fields(p):
    d = {}
    for fl in p.iter("field"):
        d.setdefault(fl.get("name"), fl)
    return d


def top_fields(p):
    return {fl.get("name"): fl for fl in p.findall("field")}


def ts_str(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


conns = {}
echoes = {}
ERR4 = {3, 4, 5, 11, 12}
ERR6 = {1, 2, 3, 4, 137}


def emit(e):
    entries.append(e)


def tcp_check_time(now):
    for k, c in conns.items():
        if c.get("done"):
            continue
        if c["fin1"] is not None and c["fin2"] is None and not c.get("cw") and now - c["fin1"] >= timeout / 1000:
            c["cw"] = True
            emit({"ts": c["ts"], "protocol": "tcp", "src": c["cli"], "dst": c["srv"],
                  "error": {"type": "tcp", "message": "CloseWait"},
                  "tcp": {"closed_by": c["fin1_by"], "waited_ms": int((now - c["fin1"]) * 1000)}})
        if c["fin2"] is not None and not c["finack"] and not c.get("la") and now - c["fin2"] >= timeout / 1000:
            c["la"] = True
            emit({"ts": c["ts"], "protocol": "tcp", "src": c["cli"], "dst": c["srv"],
                  "error": {"type": "tcp", "message": "LastAck"},
                  "tcp": {"fin_retransmissions": c["finretx"], "waited_ms": int((now - c["fin2"]) * 1000)}})


now = 0
for pkt in root.findall("packet"):
    stats["seen"] += 1
    g = pkt.find("proto[@name='geninfo']")
    now = float(g.find("field[@name='timestamp']").get("value"))
    allf = [fl.get("name") for fl in pkt.iter("field")] + [p.get("name") for p in pkt.iter("proto")]
    if any("malformed" in n or "bogus" in n for n in allf) or b"Invalid IPv6" in ET.tostring(pkt):
        stats["decode_errors"] += 1
        continue
    protos = [p for p in pkt.findall("proto")]
    names = [p.get("name") for p in protos]
    ipp = next((p for p in protos if p.get("name") in ("ip", "ipv6")), None)
    if ipp is None:
        tcp_check_time(now); continue
    ipf = top_fields(ipp)
    v = 4 if ipp.get("name") == "ip" else 6
    src = ipf["ip.src" if v == 4 else "ipv6.src"].get("show")
    dst = ipf["ip.dst" if v == 4 else "ipv6.dst"].get("show")
    if "tcp" in names:
        tp = top_fields(protos[names.index("tcp")])
        sp, dp = int(tp["tcp.srcport"].get("show")), int(tp["tcp.dstport"].get("show"))
        flags = int(tp["tcp.flags"].get("show"), 16)
        seq = int(tp["tcp.seq_raw"].get("show")); ack = int(tp["tcp.ack_raw"].get("show"))
        plen = int(tp["tcp.len"].get("show"))
        key = frozenset([(src, sp), (dst, dp)])
        SYN, ACK, RST, FIN = 2, 16, 4, 1
        c = conns.get(key)
        if flags & SYN and not flags & ACK:
            if c is None or (c.get("done") and c["synseq"] != seq):
                c = conns[key] = {"ts": ts_str(now), "cli": {"ip": src, "port": sp}, "srv": {"ip": dst, "port": dp},
                                  "state": "synsent", "retries": 0, "fin1": None, "fin2": None, "finack": False,
                                  "finretx": 0, "synseq": seq}
            else:
                c["retries"] += 1
        elif c is not None:
            from_cli = (src, sp) == (c["cli"]["ip"], c["cli"]["port"])
            side = "client" if from_cli else "server"
            if flags & RST:
                if c["state"] == "synsent" and not from_cli:
                    emit({"ts": c["ts"], "protocol": "tcp", "src": c["cli"], "dst": c["srv"],
                          "error": {"type": "tcp", "message": "SynSent"},
                          "tcp": {"reason": "refused", "syn_retries": c["retries"]}})
                    c["done"] = True
                elif c["state"] == "est":
                    emit({"ts": c["ts"], "protocol": "tcp", "src": c["cli"], "dst": c["srv"],
                          "error": {"type": "tcp", "message": "Reset"}, "tcp": {"reset_by": side}})
                    c["done"] = True
            elif flags & SYN and flags & ACK:
                c["state"] = "est"
            else:
                if flags & FIN:
                    endseq = seq + plen + 1
                    if c["fin1"] is None:
                        c["fin1"] = now; c["fin1_by"] = side; c["fin1_end"] = endseq
                    elif side != c["fin1_by"]:
                        if c["fin2"] is None:
                            c["fin2"] = now; c["fin2_end"] = endseq
                        else:
                            c["finretx"] += 1
                if c["fin2"] is not None and side == c["fin1_by"] and flags & ACK and ack == c["fin2_end"]:
                    c["finack"] = True
    tcp_check_time(now)
    icp = next((p for p in protos if p.get("name") in ("icmp", "icmpv6")), None)
    if icp is None:
        continue
    stats["icmp_msgs"] += 1
    pre = icp.get("name")
    tf = top_fields(icp)
    typ = int(tf[pre + ".type"].get("show")); code = int(tf[pre + ".code"].get("show"))
    tname = tf[pre + ".type"].get("showname").split(": ", 1)[1]
    tname = tname.rsplit(" (", 1)[0] if v == 6 else tname.split(" (", 1)[1][:-1]
    cs = tf[pre + ".code"].get("showname")
    cname = cs.split(" (", 1)[1][:-1] if "(" in cs else None
    ic = {"version": v, "type": typ, "code": code, "type_name": tname, "code_name": cname}
    allf = fields(icp)
    for n, k in (("icmp.mtu", "mtu"), ("icmpv6.mtu", "mtu"), ("icmp.pointer", "pointer"), ("icmpv6.pointer", "pointer"),
                 ("icmp.redir_gw", "gateway"), ("icmpv6.nd.rd.target_address", "gateway")):
        if n in allf:
            val = allf[n].get("show")
            ic[k] = int(val) if k != "gateway" else val
    inner = [p for p in icp.iter("proto") if p.get("name") in ("ip", "ipv6")]
    orig = None
    if inner:
        ip2 = top_fields(inner[0])
        v2 = 4 if inner[0].get("name") == "ip" else 6
        o = {"src": {"ip": ip2["ip.src" if v2 == 4 else "ipv6.src"].get("show")},
             "dst": {"ip": ip2["ip.dst" if v2 == 4 else "ipv6.dst"].get("show")}}
        sub = [p.get("name") for p in icp.iter("proto")]
        for pn in ("tcp", "udp"):
            if pn in sub:
                pp = [p for p in icp.iter("proto") if p.get("name") == pn][0]
                pf = fields(pp)
                o["protocol"] = pn
                o["src"]["port"] = int(pf[pn + ".srcport"].get("show")); o["dst"]["port"] = int(pf[pn + ".dstport"].get("show"))
        if "protocol" not in o:
            if any(p.get("name") in ("icmp", "icmpv6") for p in icp.iter("proto") if p is not icp):
                o["protocol"] = "icmp"
        ic["original"] = o
        orig = o
    is_err = (typ in ERR4) if v == 4 else (typ in ERR6)
    if typ in (8, 128, 0, 129):
        ident = int(allf[pre + (".ident" if v == 4 else ".echo.identifier")].get("show"), 0)
        sq = int(allf[pre + (".seq" if v == 4 else ".echo.sequence_number")].get("show"), 0)
        if typ in (8, 128):
            e = {"ts": ts_str(now), "protocol": "icmp", "src": {"ip": src}, "dst": {"ip": dst}, "icmp": ic,
                 "elapsed_ms": None, "error": None}
            k = (src, dst, ident, sq)
            if k not in echoes:
                echoes[k] = (e, now); emit(e)
        else:
            k = (dst, src, ident, sq)
            if k in echoes and echoes[k][0]["elapsed_ms"] is None:
                echoes[k][0]["elapsed_ms"] = round((now - echoes[k][1]) * 1000, 3)
            elif k not in echoes:
                emit({"ts": ts_str(now), "protocol": "icmp", "src": {"ip": src}, "dst": {"ip": dst}, "icmp": ic,
                      "error": None})
        continue
    e = {"ts": ts_str(now), "protocol": "icmp", "src": {"ip": src}, "dst": {"ip": dst}, "icmp": ic,
         "error": {"type": "icmp", "message": tname} if is_err else None}
    if is_err:
        stats["icmp_err"] += 1
    emit(e)
    if is_err and orig and orig.get("protocol") == "tcp":
        key = frozenset([(orig["src"]["ip"], orig["src"]["port"]), (orig["dst"]["ip"], orig["dst"]["port"])])
        c = conns.get(key)
        if c and c["state"] == "synsent" and not c.get("done"):
            emit({"ts": c["ts"], "protocol": "tcp", "src": c["cli"], "dst": c["srv"],
                  "error": {"type": "tcp", "message": "SynSent"},
                  "tcp": {"reason": "unreachable", "syn_retries": c["retries"]}, "icmp": ic})
            c["done"] = True

tcp_check_time(now)
for c in conns.values():
    if c["state"] == "synsent" and not c.get("done"):
        emit({"ts": c["ts"], "protocol": "tcp", "src": c["cli"], "dst": c["srv"],
              "error": {"type": "tcp", "message": "SynSent"}, "tcp": {"reason": "timeout", "syn_retries": c["retries"]}})

if stats_mode:
    cnt = lambda m: sum(1 for e in entries if e["protocol"] == "tcp" and e["error"]["message"] == m)
    print(json.dumps({"packets": {"seen": stats["seen"], "bytes": 0, "dropped": 0, "decode_errors": stats["decode_errors"]},
                      "capture": {"backend": "file"},
                      "tcp": {m: cnt(m) for m in ("SynSent", "Reset", "CloseWait", "LastAck")},
                      "icmp": {"messages": stats["icmp_msgs"], "errors": stats["icmp_err"]},
                      "entries": {"total": len(entries), "errors": {
                          "tcp": sum(1 for e in entries if (e.get("error") or {}).get("type") == "tcp"),
                          "icmp": sum(1 for e in entries if (e.get("error") or {}).get("type") == "icmp")}}}))
else:
    for n, e in enumerate(entries, 1):
        e["id"] = n
        print(json.dumps(e))
