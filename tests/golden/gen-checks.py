#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the golden fixtures' checks: edit the expectations here, then run
#   python3 tests/golden/gen-checks.py tests/golden/fixtures
# Each row: a capture, its options ("-" = none), a jq program for `jq -s` over
# the JSON lines of `faultline read OPTIONS -o json CAPTURE` that must print
# true, and a description.  A row becomes one line of STEM.checks (options
# "-"), or of STEM.CASE.checks with STEM.CASE.opts for another option set (see
# CASES and tests/README.md).  Written from what each recording contains
# (checked with tshark); exact counts only where the traffic fixes them.
import glob, os, sys

C, R1, R2, S = "198.18.1.2", "198.18.1.1", "198.18.2.1", "198.18.2.2"
C6, R16, S6 = "fd18:1::2", "fd18:1::1", "fd18:2::2"
T2000 = "--set tap.tcpStreamChannelTimeoutMs=2000"
rows = []


def row(fixture, options, expect, description):
    for col in (fixture, options, expect, description):
        assert "\t" not in col and "\n" not in col, col
    rows.append((fixture, options, expect, description))


def icmp_errors(cond_count, cond_each):
    return f'(map(select(.error.type == "icmp")) | {cond_count} and all(.[]; {cond_each}))'


def no_tcp_errors():
    return '(map(select(.error.type == "tcp")) | length == 0)'


def synsent_unreach(dst, port):
    return ('(map(select(.error.type == "tcp")) | length == 1 and (.[0] | .protocol == "tcp" and '
            f'.error.message == "SynSent" and .tcp.reason == "unreachable" and .dst.ip == "{dst}" '
            f'and .dst.port == {port}))')


def quoted_echo():
    return '(.icmp.original.protocol == "icmp" or .icmp.original.protocol == "icmpv6")'


# ---------------------------------------------------------------- TCP
def refused(c, s):
    return ('map(select(.error != null)) | length == 1 and (.[0] | .protocol == "tcp" and '
            '.error.type == "tcp" and .error.message == "SynSent" and .tcp.reason == "refused" and '
            f'(.tcp.syn_retries // 0) == 0 and .src.ip == "{c}" and .src.port > 1024 and '
            f'.dst.ip == "{s}" and .dst.port == 9999)')


row("tcp-healthy.pcap", "-",
    '(map(select(.error != null)) | length == 0) and (map(select(.protocol == "icmp")) | length == 2 and '
    f'all(.[]; .elapsed_ms != null and .icmp.version == 4 and .src.ip == "{C}" and .dst.ip == "{S}"))',
    "two HTTP GETs (python http.server, server closes first, normal 4-way close) and two answered pings: "
    "no error entry, two echo entries with elapsed_ms")
row("tcp-refused.pcap", "-", refused(C, S),
    "curl to a closed port: SYN answered by RST,ACK -> one SynSent refused, no retries")
row("tcp-refused-v6.pcap", "-", refused(C6, S6), "IPv6 twin of tcp-refused (with the NS/NA before it)")
for v, d in (("-sll.pcap", "recorded with tcpdump -i any -y LINUX_SLL (Linux cooked v1, SYN and RST only)"),
             ("-sll2.pcap", "recorded with tcpdump -i any -y LINUX_SLL2 (Linux cooked v2, SYN and RST only)"),
             ("-raw.pcap", "derived: LINKTYPE_RAW (101), bare IPv4, ARP left out"),
             ("-null.pcap", "derived: DLT_NULL (0), 4-byte little-endian AF_INET (2), ARP left out"),
             ("-vlan.pcap", "derived: Ethernet with an 802.1Q tag, VLAN 100 (ARP tagged too)"),
             ("-qinq.pcap", "derived: Ethernet with 802.1ad S-tag 200 + 802.1Q C-tag 100"),
             ("-be.pcap", "derived: the same Ethernet capture in a big-endian pcap file"),
             ("-nsec.pcap", "derived: nanosecond-resolution pcap (editcap -F nsecpcap)"),
             ("-pcapng.pcapng", "derived: pcapng (editcap -F pcapng)"),
             ("-gzip.pcap.gz", "derived: gzip-compressed pcap")):
    row("tcp-refused" + v, "-", refused(C, S), d)
row("tcp-refused-v6-raw.pcap", "-", refused(C6, S6), "derived: LINKTYPE_RAW (101), bare IPv6")
row("tcp-refused-v6-null.pcap", "-", refused(C6, S6),
    "derived: DLT_NULL (0), 4-byte little-endian address family 30 (AF_INET6 as on Darwin)")
row("tcp-refused.pcap", "--stats",
    '.[0].tcp.SynSent == 1 and .[0].tcp.Reset == 0 and .[0].packets.seen == 4 and '
    '.[0].packets.decode_errors == 0 and .[0].entries.errors.tcp == 1 and .[0].capture.backend == "file"',
    "stats of tcp-refused: 4 packets (ARP request/reply, SYN, RST), one SynSent")
row("tcp-syn-retry.pcap", "-", 'map(select(.error != null)) | length == 0',
    "first SYN dropped on the router (nft numgen), retransmitted after 1 s and answered; full HTTP GET "
    "and normal close: no error entry")
row("tcp-syn-timeout.pcap", "-",
    'map(select(.error != null)) | length == 1 and (.[0] | .protocol == "tcp" and .error.type == "tcp" and '
    '.error.message == "SynSent" and .tcp.reason == "timeout" and .tcp.syn_retries >= 2 and '
    f'.src.ip == "{C}" and .dst.ip == "{S}" and .dst.port == 8080)',
    "every SYN to port 8080 dropped on the router, curl --connect-timeout 3.5: SYN + 3 retransmissions "
    "(1 s apart on this kernel), nothing answers -> SynSent timeout at end of file")
row("tcp-reset.pcap", "-",
    'map(select(.error.type == "tcp" or .error.type == "icmp")) | length == 1 and (.[0] | .protocol == "tcp" and '
    f'.error.message == "Reset" and .tcp.reset_by == "server" and .src.ip == "{C}" and .dst.ip == "{S}" and '
    '.dst.port == 8080)',
    "python server accepts, reads the GET and closes with SO_LINGER 0: RST,ACK from the server on the "
    "established connection")
row("tcp-reset-twice.pcap", "-",
    'map(select(.error.type == "tcp")) | length == 1 and (.[0] | .error.message == "Reset" and '
    f'.tcp.reset_by == "server" and .tcp.resets == 2 and .src.ip == "{C}" and .dst.port == 8080)',
    "captured at the server: it aborts with SO_LINGER 0 (the router drops that RST), the client sends again "
    "0.5 s later and the server's stack answers with a second RST: one Reset, two RSTs counted on it")
row("tcp-reset-both.pcap", "-",
    'map(select(.error.type == "tcp")) | length == 1 and (.[0] | .error.message == "Reset" and '
    f'.tcp.reset_by == "client" and .tcp.resets == 2 and .src.ip == "{C}" and .dst.port == 8080)',
    "captured at the client: the client aborts 0.3 s after its request (the router drops its RST), the "
    "server aborts 0.3 s later: an RST each way, one Reset by the client (the first) with two RSTs")
row("tcp-reset-late.pcap", T2000,
    'map(select(.error.type == "tcp")) | length == 1 and (.[0] | .error.message == "Reset" and '
    '.tcp.reset_by == "server")',
    "as tcp-reset-twice, the second RST 3 s after the first: past a 2000 ms timeout the reset connection "
    "is still remembered (as TIME-WAIT is, 60 s), so the late RST is no second midstream Reset")
row("tcp-close-wait.pcap", T2000,
    'map(select(.error.type == "tcp" or .error.type == "icmp")) | length == 1 and (.[0] | .protocol == "tcp" and '
    '.error.message == "CloseWait" and .tcp.closed_by == "client" and .tcp.waited_ms >= 2000 and '
    f'.src.ip == "{C}" and .dst.ip == "{S}" and .dst.port == 8080)',
    "client sends 22 bytes and FIN; the server ACKs the FIN but never sends its own; a ping 2.6 s later "
    "moves packet time past the 2000 ms timeout")
row("tcp-close-wait.pcap", "-", no_tcp_errors(),
    "same file at the default timeout (10000 ms): the 2.6 s wait never reached it, so no CloseWait")
row("tcp-last-ack.pcap", T2000,
    'map(select(.error.type == "tcp" or .error.type == "icmp")) | length == 1 and (.[0] | .protocol == "tcp" and '
    '.error.message == "LastAck" and .tcp.fin_retransmissions >= 4 and .tcp.waited_ms >= 2000 and '
    f'.src.ip == "{C}" and .dst.ip == "{S}" and .dst.port == 8080)',
    "recorded on the router's server-side interface: request, response, client FIN, server FIN; the "
    "router drops the client's final ACKs, so the server's FIN is retransmitted 5 times "
    "(0.2/0.4/0.8/1.7/3.3 s) with no ACK in 3.3 s")
row("tcp-last-ack.pcap", "-", no_tcp_errors(),
    "same file at the default timeout (10000 ms): no LastAck")

# ---------------------------------------------------------------- nft reject
REJ4 = [("net-unreachable", 0, "Network unreachable"), ("host-unreachable", 1, "Host unreachable"),
        ("prot-unreachable", 2, "Protocol unreachable"), ("port-unreachable", 3, "Port unreachable"),
        ("net-prohibited", 9, "Network administratively prohibited"),
        ("host-prohibited", 10, "Host administratively prohibited"),
        ("admin-prohibited", 13, "Communication administratively filtered")]
for name, code, cname in REJ4:
    each = (f'.protocol == "icmp" and .src.ip == "{R1}" and .dst.ip == "{C}" and .icmp.version == 4 and '
            f'.icmp.type == 3 and .icmp.code == {code} and .icmp.type_name == "Destination unreachable" and '
            f'.icmp.code_name == "{cname}" and .icmp.original.protocol == "tcp" and '
            f'.icmp.original.src.ip == "{C}" and .icmp.original.src.port > 1024 and '
            f'.icmp.original.dst.ip == "{S}" and .icmp.original.dst.port == 8080')
    row(f"icmp-reject-{name}.pcap", "-", icmp_errors("length == 1", each) + " and " + synsent_unreach(S, 8080),
        f"nft on the router: tcp dport 8080 reject with icmp type {name}; curl's SYN answered by one "
        f"ICMP type 3 code {code} from the router -> the SynSent turns unreachable")
REJ6 = [("no-route", 0, "no route to destination"), ("admin-prohibited", 1, "Administratively prohibited"),
        ("addr-unreachable", 3, "Address unreachable"), ("port-unreachable", 4, "Port unreachable"),
        ("policy-fail", 5, "Source address failed ingress/egress policy"),
        ("reject-route", 6, "Reject route to destination")]
for name, code, cname in REJ6:
    each = (f'.protocol == "icmp" and .src.ip == "{R16}" and .dst.ip == "{C6}" and .icmp.version == 6 and '
            f'.icmp.type == 1 and .icmp.code == {code} and .icmp.type_name == "Destination Unreachable" and '
            f'.icmp.code_name == "{cname}" and .icmp.original.protocol == "tcp" and '
            f'.icmp.original.src.ip == "{C6}" and .icmp.original.dst.ip == "{S6}" and '
            f'.icmp.original.dst.port == 8080')
    row(f"icmp-reject-{name}-v6.pcap", "-", icmp_errors("length >= 1", each) + " and " + synsent_unreach(S6, 8080),
        f"nft on the router: reject with icmpv6 type {name}; the kernel retried the SYN once, so two "
        f"ICMPv6 type 1 code {code} (both quote the same SYN) and one SynSent unreachable")
each = (f'.src.ip == "{R1}" and .icmp.version == 4 and .icmp.type == 3 and .icmp.code == 3 and '
        '.icmp.code_name == "Port unreachable" and .icmp.original.protocol == "udp" and '
        f'.icmp.original.src.ip == "{C}" and .icmp.original.dst.ip == "{S}" and .icmp.original.dst.port == 53')
row("icmp-reject-port-unreachable-udp.pcap", "-", icmp_errors("length == 1", each) + " and " + no_tcp_errors(),
    "nft on the router: udp dport 53 reject with icmp type port-unreachable; one dig query, one ICMP quoting it")
each = (f'.src.ip == "{R16}" and .icmp.version == 6 and .icmp.type == 1 and .icmp.code == 4 and '
        '.icmp.code_name == "Port unreachable" and .icmp.original.protocol == "udp" and '
        f'.icmp.original.src.ip == "{C6}" and .icmp.original.dst.ip == "{S6}" and .icmp.original.dst.port == 53')
row("icmp-reject-port-unreachable-udp-v6.pcap", "-", icmp_errors("length == 1", each) + " and " + no_tcp_errors(),
    "IPv6 twin: reject with icmpv6 type port-unreachable for a dig AAAA query")

# ---------------------------------------------------------------- routes


def route_fixture(fname, ver, src, dst_ip, type_, code, tname, cname, count, desc):
    each = (f'.src.ip == "{src}" and .icmp.version == {ver} and .icmp.type == {type_} and '
            f'.icmp.code == {code} and .icmp.type_name == "{tname}" and .icmp.code_name == "{cname}" and '
            f'.icmp.original.dst.ip == "{dst_ip}"')
    exp = (icmp_errors(count, each) +
           ' and (map(select(.error.type == "icmp" and .icmp.original.protocol == "tcp" and '
           '.icmp.original.dst.port == 80)) | length >= 1)'
           f' and (map(select(.error.type == "icmp" and {quoted_echo()})) | length == 1)'
           " and " + synsent_unreach(dst_ip, 80))
    row(fname, "-", exp, desc)


route_fixture("route-unreachable.pcap", 4, R1, "198.18.9.1", 3, 1, "Destination unreachable", "Host unreachable",
              "length == 2", "router: ip route add unreachable 198.18.9.0/24; ping and curl to 198.18.9.1 each "
              "get ICMP host unreachable")
route_fixture("route-unreachable-v6.pcap", 6, R16, "fd18:9::1", 1, 0, "Destination Unreachable",
              "no route to destination", "length >= 2",
              "router: ip -6 route add unreachable fd18:9::/64; ping and curl (SYN retried once) get "
              "ICMPv6 no route (3 messages)")
route_fixture("route-prohibit.pcap", 4, R1, "198.18.9.1", 3, 13, "Destination unreachable",
              "Communication administratively filtered", "length == 2",
              "router: ip route add prohibit 198.18.9.0/24; ping and curl get code 13")
route_fixture("route-prohibit-v6.pcap", 6, R16, "fd18:9::1", 1, 1, "Destination Unreachable",
              "Administratively prohibited", "length >= 2",
              "router: ip -6 route add prohibit fd18:9::/64; ping and curl (SYN retried once) get "
              "ICMPv6 administratively prohibited (3 messages)")
route_fixture("route-missing.pcap", 4, R1, "198.18.8.1", 3, 0, "Destination unreachable", "Network unreachable",
              "length == 2", "the router has no route to 198.18.8.0/24: ping and curl get ICMP net unreachable")
route_fixture("route-missing-v6.pcap", 6, R16, "fd18:8::1", 1, 0, "Destination Unreachable",
              "no route to destination", "length >= 2",
              "the router has no route to fd18:8::/64: ping and curl (SYN retried once) get ICMPv6 no route")

# ---------------------------------------------------------------- TTL, MTU, DNS, host unreachable
row("ttl-exceeded.pcap", "-",
    '(map(select(.error.type == "icmp")) | length == 3) and '
    '(map(select(.error.type == "icmp" and .icmp.type == 11)) | length == 2 and '
    f'all(.[]; .src.ip == "{R1}" and .icmp.version == 4 and .icmp.code == 0 and '
    '.icmp.type_name == "Time-to-live exceeded" and .icmp.code_name == "Time to live exceeded in transit" and '
    f'.icmp.original.dst.ip == "{S}") and any(.[]; .icmp.original.protocol == "udp" and '
    '.icmp.original.dst.port == 33434) and any(.[]; .icmp.original.protocol == "icmp")) and '
    '(map(select(.error.type == "icmp" and .icmp.type == 3)) | length == 1 and '
    f'(.[0] | .src.ip == "{S}" and .icmp.code == 3 and .icmp.original.protocol == "udp" and '
    '.icmp.original.dst.port == 33435)) and ' + no_tcp_errors(),
    "traceroute -q 1 -m 2 (UDP 33434 with TTL 1 -> time exceeded from the router; 33435 with TTL 2 -> port "
    "unreachable from the server) and ping -t 1 (time exceeded quoting the echo)")
row("ttl-exceeded-v6.pcap", "-",
    '(map(select(.error.type == "icmp")) | length == 3) and '
    '(map(select(.error.type == "icmp" and .icmp.type == 3)) | length == 2 and '
    f'all(.[]; .src.ip == "{R16}" and .icmp.version == 6 and .icmp.code == 0 and '
    '.icmp.type_name == "Time Exceeded" and .icmp.code_name == "hop limit exceeded in transit" and '
    f'.icmp.original.dst.ip == "{S6}") and any(.[]; .icmp.original.protocol == "udp" and '
    f'.icmp.original.dst.port == 33434) and any(.[]; {quoted_echo()})) and '
    '(map(select(.error.type == "icmp" and .icmp.type == 1)) | length == 1 and '
    f'(.[0] | .src.ip == "{S6}" and .icmp.code == 4 and .icmp.code_name == "Port unreachable" and '
    '.icmp.original.protocol == "udp" and .icmp.original.dst.port == 33435)) and ' + no_tcp_errors(),
    "IPv6 twin: traceroute -6 and ping -6 -t 1 -> hop limit exceeded from the router, port unreachable "
    "from the server")
row("mtu.pcap", "-",
    'map(select(.error.type == "icmp")) | length == 1 and (.[0] | .protocol == "icmp" and '
    f'.src.ip == "{R1}" and .dst.ip == "{C}" and .icmp.version == 4 and .icmp.type == 3 and .icmp.code == 4 and '
    '.icmp.type_name == "Destination unreachable" and .icmp.code_name == "Fragmentation needed" and '
    f'.icmp.mtu == 1000 and .icmp.original.protocol == "icmp" and .icmp.original.src.ip == "{C}" and '
    f'.icmp.original.dst.ip == "{S}")',
    "router-server link MTU 1000; ping -M do -s 1400 -> fragmentation needed, next-hop MTU 1000")
row("mtu-v6.pcap", "-",
    'map(select(.error.type == "icmp")) | length == 1 and (.[0] | .protocol == "icmp" and '
    f'.src.ip == "{R16}" and .dst.ip == "{C6}" and .icmp.version == 6 and .icmp.type == 2 and '
    f'.icmp.code == 0 and .icmp.type_name == "Packet Too Big" and .icmp.mtu == 1280 and {quoted_echo()} and '
    f'.icmp.original.dst.ip == "{S6}")',
    "router-server link MTU 1280; ping -6 -M do -s 1400 -> packet too big, MTU 1280")
row("dns-no-server.pcap", "-",
    'map(select(.error.type == "icmp")) | length == 1 and (.[0] | .protocol == "icmp" and '
    f'.src.ip == "{S}" and .dst.ip == "{C}" and .icmp.version == 4 and .icmp.type == 3 and .icmp.code == 3 and '
    '.icmp.type_name == "Destination unreachable" and .icmp.code_name == "Port unreachable" and '
    f'.icmp.original.protocol == "udp" and .icmp.original.src.ip == "{C}" and .icmp.original.src.port > 1024 and '
    f'.icmp.original.dst.ip == "{S}" and .icmp.original.dst.port == 53) and ' + no_tcp_errors(),
    "dig @198.18.2.2 with nothing on port 53: the server's kernel answers port unreachable quoting the query")
row("host-unreachable.pcap", "-",
    icmp_errors("length >= 2", f'.src.ip == "{R1}" and .icmp.version == 4 and .icmp.type == 3 and '
                '.icmp.code == 1 and .icmp.code_name == "Host unreachable" and '
                '.icmp.original.dst.ip == "198.18.2.99"') +
    ' and (map(select(.error.type == "icmp" and .icmp.original.protocol == "tcp" and '
    '.icmp.original.dst.port == 8080)) | length >= 1)'
    ' and (map(select(.error.type == "icmp" and .icmp.original.protocol == "icmp")) | length == 1)'
    ' and ' + synsent_unreach("198.18.2.99", 8080) +
    ' and (map(select(.error.type == "tcp"))[0].tcp.syn_retries >= 1)',
    "ping and curl to 198.18.2.99 (no such host on the server link): the router's ARP fails after ~3 s "
    "and every queued packet (the echo, the SYN and its 3 retransmissions) gets host unreachable")
row("host-unreachable-v6.pcap", "-",
    icmp_errors("length >= 2", f'.src.ip == "{R16}" and .icmp.version == 6 and .icmp.type == 1 and '
                '.icmp.code == 3 and .icmp.code_name == "Address unreachable" and '
                '.icmp.original.dst.ip == "fd18:2::99"') +
    ' and (map(select(.error.type == "icmp" and .icmp.original.protocol == "tcp" and '
    '.icmp.original.dst.port == 8080)) | length >= 1)'
    f' and (map(select(.error.type == "icmp" and {quoted_echo()})) | length == 1)'
    ' and ' + synsent_unreach("fd18:2::99", 8080) +
    ' and (map(select(.error.type == "tcp"))[0].tcp.syn_retries >= 1)',
    "IPv6 twin: neighbour discovery for fd18:2::99 fails -> address unreachable for the echo and each SYN")

# ---------------------------------------------------------------- ND, redirect, parameter problem, fragments
row("icmpv6-nd.pcap", "-",
    '(map(select(.error != null)) | length == 0) and '
    '(map(select(.icmp.type == 133)) | length == 1 and all(.[]; .protocol == "icmp" and .icmp.version == 6 and '
    '.icmp.type_name == "Router Solicitation")) and '
    '(map(select(.icmp.type == 134)) | length == 1 and all(.[]; .icmp.type_name == "Router Advertisement")) and '
    '(map(select(.icmp.type == 135)) | length >= 1 and all(.[]; .icmp.type_name == "Neighbor Solicitation")) and '
    '(map(select(.icmp.type == 136)) | length >= 1 and all(.[]; .icmp.type_name == "Neighbor Advertisement")) and '
    'any(.[]; .icmp.type == 143) and '
    '(map(select(.icmp.type == 128 or .icmp.type == 129)) | length == 1 and .[0].elapsed_ms != null)',
    "on the router's client-side link: MLDv2 reports (hop-by-hop header), the client's router "
    "solicitation after its link bounced, a router advertisement sent by scapy, NS/NA and an answered ping6")
row("redirect.pcap", "-",
    'map(select(.error.type == "icmp")) | length == 1 and (.[0] | .protocol == "icmp" and '
    f'.src.ip == "{R1}" and .dst.ip == "{C}" and .icmp.version == 4 and .icmp.type == 5 and .icmp.code == 1 and '
    '.icmp.type_name == "Redirect" and .icmp.code_name == "Redirect for host" and '
    '.icmp.gateway == "198.18.1.3" and .icmp.original.protocol == "icmp" and '
    '.icmp.original.dst.ip == "198.18.7.1")',
    "the router's route to 198.18.7.0/24 points back to 198.18.1.3 on the client link: it forwards the ping "
    "back out and sends a host redirect (gateway 198.18.1.3)")
row("redirect-v6.pcap", "-",
    'map(select(.error.type == "icmp")) | length == 1 and (.[0] | .protocol == "icmp" and '
    f'(.src.ip | startswith("fe80:")) and .dst.ip == "{C6}" and .icmp.version == 6 and .icmp.type == 137 and '
    '.icmp.code == 0 and .icmp.type_name == "Redirect" and .icmp.gateway == "fe80::3" and '
    '.icmp.original.dst.ip == "fd18:7::1")',
    "IPv6 twin: route fd18:7::/64 via fe80::3 on the client link -> ICMPv6 redirect (target fe80::3, "
    "redirected header quoting the ping6)")
row("param-problem.pcap", "-",
    'map(select(.error.type == "icmp")) | length == 1 and (.[0] | .protocol == "icmp" and '
    f'.src.ip == "{R1}" and .dst.ip == "{C}" and .icmp.version == 4 and .icmp.type == 12 and .icmp.code == 0 and '
    '.icmp.type_name == "Parameter problem" and .icmp.code_name == "Pointer indicates the error" and '
    f'.icmp.pointer == 21 and .icmp.original.protocol == "udp" and .icmp.original.src.ip == "{C}" and '
    '.icmp.original.src.port == 40000 and .icmp.original.dst.port == 33333)',
    "scapy sends a UDP packet whose record-route option has length 2; the router answers parameter problem "
    "pointing at byte 21 (the quoted header has IHL 6)")
row("param-problem-v6.pcap", "-",
    '(map(select(.error.type == "icmp")) | length == 2 and all(.[]; .protocol == "icmp" and '
    f'.src.ip == "{S6}" and .icmp.version == 6 and .icmp.type == 4 and .icmp.type_name == "Parameter Problem" and '
    f'.icmp.original.src.ip == "{C6}" and .icmp.original.dst.ip == "{S6}")) and '
    'any(.[]; .icmp.code == 1 and .icmp.code_name == "unrecognized Next Header type encountered" and '
    '.icmp.pointer == 6) and '
    'any(.[]; .icmp.code == 2 and .icmp.code_name == "unrecognized IPv6 option encountered" and '
    '.icmp.pointer == 42 and .icmp.original.protocol == "udp" and .icmp.original.dst.port == 33333)',
    "scapy sends next header 253 (-> code 1, pointer 6) and a destination option 0x8f (-> code 2, pointer 42, "
    "quoted UDP behind the destination options header); the server answers both")
row("frag-timeout.pcap", "-",
    'map(select(.error.type == "icmp")) | length == 1 and (.[0] | .protocol == "icmp" and '
    f'.src.ip == "{S}" and .dst.ip == "{C}" and .icmp.version == 4 and .icmp.type == 11 and .icmp.code == 1 and '
    '.icmp.type_name == "Time-to-live exceeded" and .icmp.code_name == "Fragment reassembly time exceeded" and '
    f'.icmp.original.protocol == "icmp" and .icmp.original.dst.ip == "{S}")',
    "only the first fragment of an echo request (scapy); the server's reassembly times out (ipfrag_time 1) "
    "-> time exceeded code 1")
row("frag-timeout-v6.pcap", "-",
    'map(select(.error.type == "icmp")) | length == 1 and (.[0] | .protocol == "icmp" and '
    f'.src.ip == "{S6}" and .dst.ip == "{C6}" and .icmp.version == 6 and .icmp.type == 3 and .icmp.code == 1 and '
    '.icmp.type_name == "Time Exceeded" and .icmp.code_name == "fragment reassembly time exceeded" and '
    f'.icmp.original.dst.ip == "{S6}")',
    "IPv6 twin: first fragment only, ip6frag_time 1 -> ICMPv6 time exceeded code 1")
row("ip-options.pcap", "-",
    '(map(select(.error != null)) | length == 0) and (map(select(.protocol == "icmp")) | length == 1 and '
    f'(.[0] | .elapsed_ms != null and .src.ip == "{C}" and .dst.ip == "{S}"))',
    "ping -R: echo request and reply carry a record-route IP option (IHL 15): one echo entry")
row("ip-fragments.pcap", "-",
    '(map(select(.error != null)) | length == 0) and (map(select(.protocol == "icmp")) | length == 1 and '
    f'(.[0] | .elapsed_ms != null and .src.ip == "{C}" and .dst.ip == "{S}"))',
    "ping -s 3000 -M dont: the request in 3 fragments (MTU 1500), the reply in 4 (server link MTU 1000): one "
    "echo entry")
row("ip-fragments.pcap", "--stats", '.[0].packets.decode_errors == 0',
    "fragments are not decode errors")
row("ipv6-ext.pcap", "-",
    '(map(select(.error != null)) | length == 0) and '
    '(map(select(.icmp.type == 128 or .icmp.type == 129)) | length == 3 and all(.[]; .elapsed_ms != null))',
    "ping6 -s 3000 (request and reply in fragment headers), echo requests with a hop-by-hop and with a "
    "destination options header (scapy; the replies have none): 3 echo entries, no error")
row("ipv6-ext.pcap", "--stats", '.[0].packets.decode_errors == 0',
    "extension headers and fragments are not decode errors")

# ---------------------------------------------------------------- crafted, malformed
DU = [(5, "Source route failed"), (6, "Destination network unknown"), (7, "Destination host unknown"),
      (8, "Source host isolated"), (11, "Network unreachable for TOS"), (12, "Host unreachable for TOS"),
      (14, "Host precedence violation"), (15, "Precedence cutoff in effect")]
du = ", ".join(f'[{c}, "{n}", {40000 + c}]' for c, n in DU)
row("icmp-crafted.pcap", "-",
    '(map(select(.protocol == "icmp")) | length == 15) and (map(select(.error.type == "icmp")) | length == 13) and '
    + no_tcp_errors() + ' and '
    'any(.[]; .icmp.type == 4 and .icmp.code == 0 and .icmp.type_name == "Source quench (flow control)" and '
    '.error.type == "icmp" and .icmp.original.protocol == "tcp" and .icmp.original.src.port == 40001 and '
    '.icmp.original.dst.port == 8080) and '
    '([.[] | select(.icmp.version == 4 and .icmp.type == 3) | [.icmp.code, .icmp.code_name, '
    f'.icmp.original.src.port]] == [{du}]) and '
    'any(.[]; .icmp.type == 10 and .icmp.type_name == "Router solicitation" and .error == null) and '
    'any(.[]; .icmp.version == 4 and .icmp.type == 9 and .icmp.code_name == "Normal router advertisement" and '
    '.error == null) and '
    'any(.[]; .icmp.type == 12 and .icmp.code == 1 and .icmp.code_name == "Required option missing") and '
    'any(.[]; .icmp.type == 12 and .icmp.code == 2 and .icmp.code_name == "Bad length") and '
    'any(.[]; .icmp.version == 6 and .icmp.type == 1 and .icmp.code == 2 and '
    '.icmp.code_name == "Beyond scope of source address" and .icmp.original.dst.port == 53) and '
    'any(.[]; .icmp.version == 6 and .icmp.type == 4 and .icmp.code == 0 and '
    '.icmp.code_name == "erroneous header field encountered" and .icmp.pointer == 4)',
    "crafted (derive.py, never on a wire): source quench quoting a SYN (not tracked: no SynSent), destination "
    "unreachable codes 5-8/11/12/14/15, router solicitation and advertisement (v4; Wireshark calls type 9 "
    "code 0 \"Mobile IP Advertisement\", so its type_name is not checked), parameter problem codes 1 and 2, "
    "ICMPv6 unreachable code 2 and parameter problem code 0")
row("icmp-crafted.pcap", "--stats", '.[0].icmp.messages == 15 and .[0].icmp.errors == 13',
    "stats of icmp-crafted: 15 ICMP messages, 13 of them errors")
row("malformed.pcap", "-",
    'map(select(.error != null)) | length == 1 and (.[0] | .protocol == "tcp" and .error.message == "SynSent" and '
    f'.tcp.reason == "refused" and .src.ip == "{C}" and .src.port == 40400 and .dst.port == 9999)',
    "crafted: a refused SYN with 8 broken frames between SYN and RST (listed in derive.py malformed_frames()); "
    "the connection is still reported")
row("malformed.pcap", "--stats", '.[0].packets.decode_errors == 8 and .[0].tcp.SynSent == 1',
    "each broken frame counted once in packets.decode_errors: Ethernet cut at 10 bytes, IPv4 cut at 12, "
    "IHL 4, UDP cut at 4, TCP cut at 8, TCP data offset 3, IPv6 cut at 24, hop-by-hop longer than the packet")

# Idle keep-alive connections, one-sided evidence, forged RSTs, files out of order.
row("tcp-keepalive-idle.pcap", "-",
    '(map(select(.error != null)) | length == 0) and (map(select(.protocol == "http")) | length == 2 and '
    'all(.[]; .response.status == 200) and (map(.src.port) | unique | length == 1))',
    "python http.client, one HTTP/1.1 keep-alive connection, 15 s idle between two GETs (past the 10 s "
    "default timeout), then a normal close: two answered requests, no error")
row("tcp-keepalive-idle.pcap", "--stats",
    '.[0].flows.tcp == 1 and .[0].tcp.CloseWait == 0 and .[0].tcp.Reset == 0 and .[0].entries.errors.tcp == 0',
    "the idle keep-alive connection stays one flow (not a second, midstream one)")
row("tcp-keepalive-idle-oneway.pcap", "-", no_tcp_errors(),
    "tcp-keepalive-idle with the client's packets only (tcpdump -r filter \"arp or src host 198.18.1.2\"): "
    "no SYN-ACK, no server FIN; the client's ACK of the server's ISN means the handshake completed (no SynSent)")
row("tcp-keepalive-idle-oneway.pcap", "-",
    '(map(select(.protocol == "http")) | length == 2 and all(.[]; .response == null and .error.reason == "loss" and .tcp.missed_bytes > 0))',
    "the client's ACKs cover response bytes the capture never shows: both responses were sent and missed "
    "(reason loss), not a stream idle timeout or the capture's end")
row("tcp-rst-forged.pcap", "-", 'map(select(.error != null)) | length == 0',
    "scapy on the router forges, while the client is in SYN-SENT (first SYN-ACK dropped on the router), an "
    "RST,ACK acking ISN+12346 and a bare RST; RFC 9293 3.10.7.3 makes both unacceptable, the client "
    "retransmits the same SYN and the handshake completes; request, response, normal close: no entry")
row("tcp-rst-forged.pcap", "--stats",
    '.[0].tcp.invalid_rst == 2 and .[0].tcp.SynSent == 0 and .[0].tcp.Reset == 0',
    "the two forged RSTs counted in tcp.invalid_rst, changing nothing")
row("tcp-paws-fin.pcap", "-", 'map(select(.error != null)) | length == 0',
    "scapy on the router forges a FIN,ACK from the server at exactly the client's RCV.NXT with a TSval "
    "100000 older than the server's last (fails PAWS, RFC 7323 5.3): the client kernel drops it (duplicate "
    "ACK, ss still ESTAB, recv then gets the server's data); normal close: no CloseWait, no entry")
row("tcp-paws-fin.pcap", "--stats",
    '.[0].tcp.invalid_rst == 1 and .[0].tcp.CloseWait == 0 and .[0].tcp.LastAck == 0 and .[0].tcp.Reset == 0',
    "the stale FIN is counted in tcp.invalid_rst and changes nothing")
row("tcp-paws-rst.pcap", "-",
    'map(select(.error != null)) | length == 1 and (.[0] | .error.message == "Reset" and '
    f'.tcp.reset_by == "server" and .tcp.resets == 2 and (.tcp.invalid_rst // 0) == 0 and .src.ip == "{C}" and '
    '.dst.port == 8080)',
    "the same with an RST,ACK: Linux accepts an RST failing PAWS (the client's recv gets ECONNRESET, ss shows "
    "no socket); the server's next segment draws the client kernel's RST: one Reset by server, resets 2")
row("tcp-syn-client-rst.pcap", "-",
    'map(select(.error != null)) | length == 1 and (.[0] | .error.message == "Reset" and '
    '.tcp.reset_by == "client" and .src.port == 40100 and .dst.port == 8080)',
    "scapy sends a SYN from a raw socket in the client (no socket behind it); the server answers SYN-ACK, the "
    "client kernel answers RST: the server's half-open connection reset by the client, no SynSent")
row("tcp-syn-challenge-ack.pcap", "-", 'map(select(.error != null)) | length == 0',
    "scapy sends a SYN with the 4-tuple of an ESTABLISHED connection (after the request); the server answers "
    "with a challenge ACK (RFC 5961 4.2), the connection goes on (response, normal close): no entry")
row("tcp-syn-challenge-ack.pcap", "--stats",
    '.[0].tcp.SynSent == 0 and .[0].tcp.missed_bytes == 0 and .[0].flows.tcp == 1',
    "the stray SYN inside the connection: one flow, no SynSent, nothing missed")
row("tcp-syn-challenge-ack-cut.pcap", "-", 'map(select(.error != null)) | length == 0',
    "tcp-syn-challenge-ack from the stray SYN on (as a capture started late): its only answer is the bare "
    "challenge ACK: not a SynSent timeout; the connection joined midstream closes normally")
row("tcp-syn-challenge-ack-cut.pcap", "--stats",
    '.[0].tcp.SynSent == 0 and .[0].tcp.missed_bytes == 0',
    "the stray SYN's sequence number does not place the connection's data: no missed bytes")
AFTER_NEWER = "tests/golden/fixtures/tcp-keepalive-idle.pcap"
IN_TIME_ORDER = '(map(.ts) | . == sort)'
row("tcp-healthy.pcap", AFTER_NEWER, no_tcp_errors() + " and " + IN_TIME_ORDER,
    "two files, the later one given first (tcp-keepalive-idle is recorded after tcp-healthy): merged in "
    "timestamp order as mergecap merges them; no SynSent, CloseWait or LastAck, entries in time order")
row("tcp-healthy.pcap", "--stats " + AFTER_NEWER,
    '.[0].packets.time_reversals == 0 and .[0].packets.seen == 51 and .[0].tcp.SynSent == 0 and '
    '.[0].tcp.CloseWait == 0',
    "merged, the files' time never goes back: packets.time_reversals 0, every packet read")
SPLIT2 = "tests/golden/fixtures/tcp-split.part2"
row("tcp-split.pcap", SPLIT2,
    '(map(select(.error != null)) | length == 0) and length == 2 and '
    '(map(.request.path) == ["/first", "/second"]) and ' + IN_TIME_ORDER,
    "tcp-keepalive-idle split in two with editcap -c 11 (the cut inside the idle keep-alive connection), "
    "the second part given first: merged, one healthy connection, its two requests in order, no error")
row("tcp-split.pcap", "--stats " + SPLIT2,
    '.[0].packets.time_reversals == 0 and .[0].packets.seen == 21 and .[0].tcp.SynSent == 0 and '
    '.[0].tcp.CloseWait == 0 and .[0].tcp.LastAck == 0 and .[0].flows.tcp == 1',
    "the two parts are one capture: 21 packets, one TCP flow, no step back in time")
row("tcp-clock-step.pcap", "-",
    no_tcp_errors() + ' and (map(select(.waited_ms != null and .waited_ms > 60000)) | length == 0)',
    "derived: tcp-keepalive-idle then tcp-healthy (recorded 4 days earlier) in one file (mergecap -a), "
    "a clock stepped back inside a file: judged on the capture's clock, never waits of days")
row("tcp-clock-step.pcap", "--stats",
    '.[0].packets.time_reversals == 1 and .[0].tcp.SynSent == 0 and .[0].tcp.CloseWait == 0 and '
    '.[0].tcp.LastAck == 0',
    "the one step back inside the file is counted in packets.time_reversals")

# ---------------------------------------------------------------- one packet on several interfaces
# tests/golden/record-multi.sh: a router forwards a clean HTTP GET (curl -> python3 http.server) and
# a clean refusal (curl to a closed port), captured on both of its interfaces at once: every packet
# twice.  Wireshark flags 8 retransmissions (every copy of a segment with data, SYN, FIN) and, on the
# SLL2 and two-file captures, 5 duplicate ACKs: it does not tell interfaces apart.  The endpoints'
# kernels retransmitted nothing (curl: 200, then "Connection refused" at once).
def router_clean():
    return ('(map(select(.error != null)) | length == 1) and '
            '(map(select(.protocol == "http" and .response.status == 200)) | length == 1) and '
            '(map(select(.error.message == "SynSent")) | length == 1 and (.[0].tcp.reason == "refused" and '
            '.[0].tcp.syn_retries == 0)) and (map(.tcp.retransmissions // 0) | add == 0) and length == 2')


def router_stats(reversals):
    return ('.[0].packets.duplicates == 14 and .[0].packets.seen == 28 and .[0].tcp.retransmissions == 0 and '
            '.[0].tcp.SynSent == 1 and .[0].packets.time_reversals == %d and .[0].memory.dedup_bytes > 0' % reversals)


row("router-any.pcap", "-", router_clean(),
    "tcpdump -i any -y LINUX_SLL2 on the router: each packet on r1 and r2 (the SLL2 ifindex tells them "
    "apart) is one packet: one HTTP 200, one refusal without SYN retry, no retransmission")
row("router-any.pcap", "--stats", router_stats(0),
    "the 14 second copies counted in packets.duplicates, none as a retransmission")
row("router-2if.pcapng", "-", router_clean(),
    "dumpcap -i r1 -i r2 (pcapng, EPB interface ids 0 and 1; dumpcap writes each interface's packets "
    "in a block, so time goes back once inside the file): one HTTP 200, one refusal, no retransmission")
row("router-2if.pcapng", "--stats", router_stats(1),
    "the copies of interface 1 counted in packets.duplicates; the step back to interface 1's block counted")
R2 = "tests/golden/fixtures/router-r2.part"
row("router-r1.pcap", R2, router_clean(),
    "tcpdump -i r1 and tcpdump -i r2, a file each, given r2 first: merged, each file its own interface")
row("router-r1.pcap", "--stats " + R2, router_stats(0),
    "the copies of the second file counted in packets.duplicates")

# ---------------------------------------------------------------- fragments and tunnels
row("frag-timeout.pcap", "-",
    'map(select(.error.type == "icmp")) | length == 1 and (.[0] | .icmp.original.reassembly.capture == "timed_out" '
    'and .icmp.original.reassembly.fragments == 1 and .icmp.original.reassembly.bytes == 1000) and '
    '(map(select(.icmp.type == 8)) | length == 0)',
    "the capture saw the same datagram's fragments: one fragment of 1000 bytes, never completed; the ICMP "
    "entry says so, and the half echo request (never whole) is no echo entry")
row("frag-timeout-v6.pcap", "-",
    'map(select(.error.type == "icmp")) | length == 1 and (.[0] | .icmp.original.reassembly.capture == "timed_out" '
    'and .icmp.original.reassembly.fragments == 1) and (map(select(.icmp.type == 128)) | length == 0)',
    "IPv6 twin: the ICMPv6 time exceeded meets the capture's own incomplete datagram")
row("frag-timeout.pcap", "--stats", '.[0].ip.fragments == 1 and .[0].ip.reassembled == 0 and '
    '.[0].ip.defrag_timeouts == 1 and .[0].packets.decode_errors == 0',
    "the one fragment is counted, and timed out when the server's ICMP said it did")
row("ip-fragments.pcap", "--stats", '.[0].ip.fragments == 7 and .[0].ip.reassembled == 2 and '
    '.[0].ip.defrag_dropped == 0',
    "3 request and 4 reply fragments make 2 datagrams")
row("ipv6-ext.pcap", "--stats", '.[0].ip.reassembled == 2 and .[0].ip.defrag_dropped == 0',
    "the fragmented ping6 request and reply are reassembled")
for f, c, s, d in (("dns-frag.pcap", C, S, "IPv4"), ("dns-frag-v6.pcap", C6, S6, "IPv6")):
    row(f, "-",
        'map(select(.protocol == "dns")) | length == 1 and (.[0] | .error == null and '
        f'.src.ip == "{c}" and .dst.ip == "{s}" and .dst.port == 53 and .request.questions[0].name == "big.test" '
        'and .request.questions[0].type == "TXT" and .response.rcode_name == "NOERROR" and .response.answers == 1)',
        f"dnsmasq answers a TXT query with a 3000-byte record; over the server link's MTU 1280 the {d} answer "
        "comes in 3 fragments: reassembled, the DNS exchange is whole (was: response missing)")
    row(f, "--stats", '.[0].ip.fragments == 3 and .[0].ip.reassembled == 1 and .[0].packets.decode_errors == 0',
        "3 fragments, one datagram, no decode error (the first fragment used to be one)")


VX_OUTER = f'.tunnel[0].outer.src == "{C}" and .tunnel[0].outer.dst == "{S}"'
for f, kind, d in (("vxlan.pcap", "vxlan", "a VXLAN overlay (VNI 42, UDP 4789, ip link type vxlan)"),
                   ("geneve.pcap", "geneve", "derived from vxlan.pcap: every VXLAN header replaced by a Geneve "
                    "header (VNI 42, one option); this kernel has no geneve module")):
    row(f, "-",
        '(map(select(.error != null)) | length == 1 and (.[0] | .protocol == "tcp" and .error.message == "SynSent" '
        'and .tcp.reason == "refused" and .src.ip == "198.19.42.1" and .dst.ip == "198.19.42.2" and '
        f'.dst.port == 9999 and .tunnel[0].type == "{kind}" and .tunnel[0].vni == 42 and {VX_OUTER})) and '
        '(map(select(.protocol == "http")) | length == 1 and (.[0] | .response.status == 200 and '
        f'.dst.port == 8080 and .tunnel[0].type == "{kind}" and .tunnel[0].vni == 42))',
        f"{d}: the inner flows are the flows: a refused connect and an HTTP GET, each with its tunnel")
    row(f, f"-f 'tunnel[0].type==\"{kind}\"'", 'length == 2', "KFL filters on the tunnel")
row("vxlan-8472.pcap", "-",
    'map(select(.error != null)) | length == 1 and (.[0] | .error.message == "SynSent" and '
    f'.tcp.reason == "refused" and .dst.ip == "198.19.42.2" and .tunnel[0].type == "vxlan" and {VX_OUTER})',
    "the VXLAN overlay on the Linux kernel's old default port 8472: a refused connect")
row("tcp-refused-mpls.pcap", "-",
    refused(C, S) + ' and (.[0] | .tunnel == [{"type": "mpls", "labels": [1000, 2000]}])',
    "derived: tcp-refused with an MPLS label stack (1000, 2000) on every IP frame (ethertype 0x8847); "
    "no mpls_router module here")
row("gtp-frag.pcap", "-",
    '(map(select(.protocol == "http")) | length == 2 and all(.[]; .error == null and .response.status == 200 and '
    '.tunnel[0].type == "gtp" and .tunnel[0].teid == 4660 and .tunnel[0].outer.src == "198.18.3.1")) and '
    '(map(select(.error != null)) | length == 0)',
    "derived: tcp-healthy's two HTTP exchanges carried in GTP-U, the outer UDP datagrams fragmented at 96 "
    "bytes: reassembled, then the inner packets decoded")
row("gtp-frag.pcap", "--stats", '.[0].ip.reassembled >= 2 and .[0].packets.decode_errors == 0',
    "the fragmented outer datagrams are reassembled, not decode errors")
row("echo-ts0.pcap", "-",
    'length == 3 and (map(select(.icmp.id == 119)) | .[0].response == null and .[0].ts == "1970-01-01T00:00:00.000000Z") '
    'and (map(select(.icmp.id == 121)) | .[0].elapsed_ms == 0)',
    "derived: echo requests and replies at packet time 0: the unanswered one is reported (used to crash)")
row("truncated.pcap", "--stats", '.[0].packets.decode_errors == 6',
    "derived: ICMP header cut at 4 bytes, IPv4 in GRE cut, IPv4 in VXLAN cut, IPv6 in GTP-U cut, MPLS "
    "without a bottom label, Geneve cut: each one decode error (none counted before)")
row("icmp6-cut-exthdr.pcap", "-",
    'map(select(.error.type == "icmp")) | length == 1 and (.[0] | .icmp.type == 1 and .icmp.code == 4 and '
    f'.icmp.original.protocol == "udp" and .icmp.original.src.ip == "{C6}" and .icmp.original.dst.ip == "{S6}" '
    'and .icmp.original.src.port == null)',
    "a UDP datagram behind a 1336-byte destination options header to a closed port: the port unreachable "
    "quotes 1232 bytes, cutting the options header; the quote still gives addresses and protocol (no ports: "
    "the UDP header is not in it)")
row("frag-edge.pcap", "-",
    '(map(select(.protocol == "dns")) | length == 2 and all(.[]; .error == null and '
    '.response.rcode_name == "NXDOMAIN") and '
    '(map(.request.questions[0].name) | sort == ["aaaaaaaa.first-wins.test", "duplicate.test"]))',
    "derived: the IPv4 overlap keeps the bytes that came first (the DNS name survives, and the server's "
    "answer matches it), the duplicate is dropped and its datagram completes, the overlapping IPv6 "
    "datagram is dropped")
row("frag-edge.pcap", "--stats",
    '.[0].ip.fragments == 13 and .[0].ip.reassembled == 2 and .[0].ip.defrag_overlaps == 1 and '
    '.[0].ip.defrag_timeouts == 1 and .[0].ip.defrag_dropped_by.overlap == 2 and '
    '.[0].ip.defrag_dropped_by.duplicate == 1 and .[0].ip.defrag_dropped_by.tiny == 1 and '
    '.[0].ip.defrag_dropped_by.too_far == 1 and .[0].ip.defrag_dropped_by.capture_end == 1 and '
    '.[0].ip.defrag_dropped == 6',
    "each fragment rule counted once: IPv4 overlap, IPv6 overlap (2 fragments), duplicate, tiny, too far, "
    "a timeout (the next fragment comes 31 s later), one incomplete at the end")
row("vxlan.pcap", "--stats", '.[0].tunnels.vxlan >= 10 and .[0].tunnels.geneve == 0 and .[0].flows.tcp == 2',
    "stats.tunnels counts the VXLAN packets that carried IP (16 on the wire, 2 of them ARP)")
row("geneve.pcap", "--stats", '.[0].tunnels.geneve >= 10 and .[0].tunnels.vxlan == 0', "the same for Geneve")
row("tcp-refused-mpls.pcap", "--stats", '.[0].tunnels.mpls == 2 and .[0].tcp.SynSent == 1',
    "SYN and RST under their MPLS labels")
row("gtp-frag.pcap", "--stats", '.[0].tunnels.gtp >= 20',
    "every reassembled GTP-U datagram is one decapsulated packet")

# The case each option set is: STEM.CASE.opts holds the options.
CASES = {"-": None, "--stats": "stats", T2000: "timeout",
         "-f 'tunnel[0].type==\"vxlan\"'": "kfl-vxlan", "-f 'tunnel[0].type==\"geneve\"'": "kfl-geneve",
         AFTER_NEWER: "after-newer", "--stats " + AFTER_NEWER: "after-newer-stats",
         SPLIT2: "reversed", "--stats " + SPLIT2: "reversed-stats",
         R2: "two-files", "--stats " + R2: "two-files-stats"}
HEADER = "# Written by tests/golden/gen-checks.py: edit the checks there and re-run it.\n"


def stem(fixture):
    for ext in (".pcap.gz", ".pcapng.gz", ".pcapng", ".pcap"):
        if fixture.endswith(ext):
            return fixture[:-len(ext)]
    raise SystemExit(f"{fixture}: not a capture name")


out = sys.argv[1]
files = {}
for fixture, options, expect, description in rows:
    assert os.path.exists(os.path.join(out, fixture)), fixture
    case = CASES[options]
    base = stem(fixture) if case is None else f"{stem(fixture)}.{case}"
    files.setdefault(base, (options, []))[1].append((expect, description))
for old in glob.glob(os.path.join(out, "*.checks")) + glob.glob(os.path.join(out, "*.opts")):
    os.remove(old)
for base, (options, checks) in files.items():
    with open(os.path.join(out, base + ".checks"), "w") as f:
        f.write(HEADER)
        for expect, description in checks:
            f.write(f"# {description}\n{expect}\n")
    if options != "-":
        with open(os.path.join(out, base + ".opts"), "w") as f:
            f.write(options + "\n")
print(f"{len(rows)} checks in {len(files)} cases", file=sys.stderr)
