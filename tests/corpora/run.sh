#!/usr/bin/env bash
# Second opinion: every capture in ../shared/corpora is read without a crash or
# a sanitizer report, and where its MANIFEST names a refused connection, an
# RST, an unanswered SYN or an ICMP message, faultline reports it.
set -u
cd "$(dirname "$0")/../.."
BIN=${FAULTLINE:-./faultline-asan}
CORPORA=${CORPORA:-../shared/corpora}
passed=0 failed=0
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

if [ ! -d "$CORPORA" ]; then
	echo "corpora: $CORPORA is absent, skipping"
	echo "corpora: 0 passed, 0 failed, 1 skipped"
	exit 0
fi

# The jq test (over the entries, slurped) that each MANIFEST category implies.
expectation() {
	case "$1" in
	tcp_refused) echo 'any(.[]; .error.message == "SynSent" and .tcp.reason == "refused")' ;;
	tcp_rst) echo 'any(.[]; .error.message == "Reset" or (.error.message == "SynSent" and .tcp.reason == "refused"))' ;;
	tcp_syn_no_response) echo 'any(.[]; .error.message == "SynSent")' ;;
	icmp_unreach_port) echo 'any(.[]; .icmp.type == 3 and .icmp.code == 3 and .error.type == "icmp")' ;;
	icmp_unreach_host) echo 'any(.[]; .icmp.type == 3 and .icmp.code == 1 and .error.type == "icmp")' ;;
	icmp_time_exceeded) echo 'any(.[]; .icmp.version == 4 and .icmp.type == 11 and .error.type == "icmp")' ;;
	icmp_source_quench) echo 'any(.[]; .icmp.type == 4 and .error.type == "icmp")' ;;
	icmp6_param_problem) echo 'any(.[]; .icmp.version == 6 and .icmp.type == 4 and .error.type == "icmp")' ;;
	icmp6_router_adv) echo 'any(.[]; .icmp.version == 6 and .icmp.type == 134 and .error == null)' ;;
	icmp6_router_sol) echo 'any(.[]; .icmp.version == 6 and .icmp.type == 133)' ;;
	icmp_router_sol) echo 'any(.[]; .icmp.version == 4 and .icmp.type == 10)' ;;
	*) return 1 ;;
	esac
}

# Arkime's MANIFEST names categories for some captures only in the description.
extra_categories() {
	case "$1" in
	*/gre-sample.pcap|*/gtp-iphone.pcap) echo icmp_unreach_port ;;
	*/arkime_synthetic.pcap) echo "icmp_time_exceeded icmp_unreach_host" ;;
	esac
}

check() {   # check NAME OK
	if [ "$2" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1"; fi
}

out=$(mktemp) errf=$(mktemp)
trap 'rm -f "$out" "$errf"' EXIT
for manifest in "$CORPORA"/*/MANIFEST.tsv; do
	dir=$(dirname "$manifest")
	while IFS=$'\t' read -r file _ categories _; do
		[ "$file" = file ] && continue
		path="$dir/$file"
		[ -f "$path" ] || { echo "missing $path"; continue; }
		"$BIN" read -o json "$path" >"$out" 2>"$errf"
		rc=$?
		clean=0
		if [ $rc -ne 0 ] || grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$errf"; then
			clean=1
			head -5 "$errf"
		fi
		check "$file: read cleanly (exit $rc)" $clean
		for cat in ${categories//;/ } $(extra_categories "$file"); do
			if [ "$cat" = tcp_syn_no_response ] && grep -qx "$file" tests/corpora/answered-syn.txt; then
				"$BIN" read --stats "$path" 2>/dev/null | jq -e '.tcp.retransmissions > 0' >/dev/null
				check "$file: counts the SYN retransmission" $?
				continue
			fi
			if [ "$cat" = tcp_syn_no_response ] && grep -qx "$file" tests/corpora/synack-uncaptured.txt; then
				jq -se 'all(.[]; .error.message != "SynSent")' "$out" >/dev/null
				check "$file: no SynSent for a handshake completed out of sight" $?
				continue
			fi
			expr=$(expectation "$cat") || continue
			jq -se "$expr" "$out" >/dev/null
			check "$file: reports $cat" $?
		done
	done <"$manifest"
done
echo "corpora: $passed passed, $failed failed"
[ $failed -eq 0 ]
