#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Second opinion: every capture in ../shared/corpora is read without a crash or
# a sanitizer report, and where its MANIFEST names a refused connection, an
# RST, an unanswered SYN or an ICMP message, faultline reports it.
. "$(dirname "$0")/../lib/runner.sh"
t_begin corpora "$@"
BIN=$T_BIN
CORPORA=${CORPORA:-../shared/corpora}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

if [ ! -d "$CORPORA" ]; then
	t_skip "corpora" "$CORPORA is absent"
	t_finish
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
	if [ "$2" = 0 ]; then t_pass "$1"; else t_fail "$1"; fi
}

out=$T_TMP/out errf=$T_TMP/err
for manifest in "$CORPORA"/*/MANIFEST.tsv; do
	dir=$(dirname "$manifest")
	while IFS=$'\t' read -r file _ categories _; do
		[ "$file" = file ] && continue
		path="$dir/$file"
		[ -f "$path" ] || { t_fail "$file" "missing $path"; continue; }
		"$BIN" read --all -o json "$path" >"$out" 2>"$errf"
		rc=$?
		clean=0
		if [ $rc -ne 0 ] || grep -qE "$T_SANITIZER_RE" "$errf"; then
			clean=1
		fi
		check "$file: read cleanly (exit $rc)" $clean
		[ $clean = 0 ] || head -5 "$errf" | t_note
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
			if [ "$cat" = tcp_syn_no_response ] && grep -qx "$file" tests/corpora/answer-uncaptured.txt; then
				"$BIN" read --stats "$path" 2>/dev/null | jq -e '.tcp.syn_answer_uncaptured > 0' >/dev/null
				check "$file: counts the SYNs answered out of sight" $?
			fi
			expr=$(expectation "$cat") || continue
			T_NOTE_LINES=5 t_jq "$file: reports $cat" "$expr" "$out"
		done
	done <"$manifest"
done
t_finish
