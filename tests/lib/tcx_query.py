#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What is attached to an interface's tcx hooks (Linux >= 6.6), which the
bpftool and tc of Debian 12 do not show: BPF_PROG_QUERY on the ifindex.
Usage: tcx_query.py IFNAME   (in the interface's network namespace, as root)
Prints one line per hook, "ingress ID..." and "egress ID...", the program ids
attached there (nothing after the hook name when none).  Exit 2 when the kernel
has no tcx (EINVAL), 1 on another error."""
import ctypes
import os
import socket
import struct
import sys

SYS_BPF = 321          # x86_64
BPF_PROG_QUERY = 16
TCX = {"ingress": 46, "egress": 47}

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def query(ifindex, attach_type):
    ids = (ctypes.c_uint32 * 64)()
    # union bpf_attr.query: target_ifindex, attach_type, query_flags, attach_flags,
    # prog_ids (u64 pointer), prog_cnt, padding, then pointers we leave 0.
    attr = ctypes.create_string_buffer(struct.pack(
        "=IIIIQII", ifindex, attach_type, 0, 0, ctypes.addressof(ids), 64, 0) + bytes(32))
    if libc.syscall(SYS_BPF, BPF_PROG_QUERY, attr, len(attr.raw)) < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    count = struct.unpack_from("=I", attr.raw, 24)[0]
    return list(ids)[:min(count, 64)]


def main():
    ifindex = socket.if_nametoindex(sys.argv[1])
    try:
        for name, t in TCX.items():
            print(name, *query(ifindex, t))
    except OSError as e:
        print("tcx_query: %s" % e, file=sys.stderr)
        return 2 if e.errno == 22 else 1
    return 0


sys.exit(main())
