#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install the Debian packages faultline builds and tests with (needs root).
set -euo pipefail
PACKAGES=(
	build-essential pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
	libpcap-dev libyaml-dev libpcre2-dev libcmocka-dev libmicrohttpd-dev libcap-dev
	tcpdump tshark python3 python3-scapy curl jq iproute2 nftables ethtool
	redis-server redis-tools dnsmasq-base dnsutils traceroute iputils-ping netcat-openbsd
	procps psmisc python3-yaml python3-prometheus-client libcap2-bin util-linux systemd
	prometheus nginx-light tmux
	# fuzzers (libFuzzer runtime), make lint (cppcheck, scan-build), .clang-format, bear for
	# make compile_commands.json
	libclang-rt-dev cppcheck clang-tools clang-format bear
)
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# kubectl for the deploy suite's offline manifest checks: Debian's, unless one is installed
# already (another kubectl package would conflict with it).
command -v kubectl >/dev/null || missing+=(kubernetes-client)
if [ ${#missing[@]} -gt 0 ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
