#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Packages the benchmark needs beyond scripts/setup.sh (CI does not run the bench).
# Idempotent: installs only what is missing.
set -eu
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v redis-benchmark >/dev/null || need+=(redis-tools)
command -v redis-server >/dev/null || need+=(redis-server)
[ -x /usr/bin/time ] || need+=(time)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v tshark >/dev/null || need+=(tshark)
command -v nft >/dev/null || need+=(nftables)
command -v bpftool >/dev/null || need+=(bpftool)
command -v python3 >/dev/null || need+=(python3)
command -v valgrind >/dev/null || need+=(valgrind)
[ ${#need[@]} -eq 0 ] && exit 0
echo "bench/setup.sh: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
