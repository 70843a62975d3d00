#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Regenerate the committed vmlinux/ARCH/vmlinux.h from a kernel's BTF, as
# libbpf-tools and libbpf-bootstrap do.  The BPF programs are CO-RE: the header
# only has to hold the types they use, and libbpf relocates field offsets to
# the running kernel at load time, so one header serves every kernel with BTF.
#   scripts/gen-vmlinux.sh [BTF_FILE [ARCH]]
# BTF_FILE defaults to /sys/kernel/btf/vmlinux (this machine's kernel), ARCH to
# this machine's (x86 or arm64).  An arm64 header needs an arm64 kernel's BTF
# (run it there, or pass that kernel's vmlinux/BTF file and "arm64").
set -euo pipefail
cd "$(dirname "$0")/.."
btf=${1:-/sys/kernel/btf/vmlinux}
arch=${2:-$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')}
bpftool=${BPFTOOL:-bpftool}
[ -r "$btf" ] || { echo "gen-vmlinux: cannot read $btf (kernel without CONFIG_DEBUG_INFO_BTF?)" >&2; exit 1; }
mkdir -p "vmlinux/$arch"
out=vmlinux/$arch/vmlinux.h
"$bpftool" btf dump file "$btf" format c >"$out.tmp"
mv "$out.tmp" "$out"
echo "gen-vmlinux: $out from $btf ($(wc -l <"$out") lines; kernel $(uname -r) when from /sys)"
