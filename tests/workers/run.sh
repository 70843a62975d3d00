#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Suite "workers": `read --workers N` shards the packets by flow between N
# pipelines and merges their entries back in one pipeline's order, so it must
# give exactly what `--workers 1` gives: the same entries, ids and order
# (each JSON line compared after jq -S) with every fixture's own options, and
# the same --stats except the keys that depend on how many flow tables there
# are (memory.flow_bytes, memory.total_bytes, memory.dedup_bytes: each worker has its own tables).
# -w records the same file with any N (on the reading thread); --write-filter
# needs one pipeline.  Live capture with --workers: tests/capture.
# Fixtures: tests/{golden,streams,dnsredis,safejson}/fixtures (2 and 3 workers;
# each case's own options with 3), and with WORKERS_CORPORA=1 the public
# corpora under ../shared/corpora (2 workers).
#   tests/workers/run.sh [--only REGEX]
. "$(dirname "$0")/../lib/replay.sh"
t_begin workers "$@"
t_need jq || { t_skip "workers" "$T_MISSING is not installed"; t_finish; }
[ -x "$T_BIN" ] || { t_fail "workers" "$T_BIN is not built (make test builds it)"; t_finish; }
only=
for ((i = 0; i < ${#T_ARGS[@]}; i++)); do
	[ "${T_ARGS[i]}" = --only ] && only=${T_ARGS[i + 1]:-}
done

# out N OPTS...: what read prints (entries and stats, normalized) and its exit status.
out() {
	local n=$1; shift
	timeout 120 "$T_BIN" read -o json --workers "$n" "$@" 2>"$T_TMP/err" |
		jq -S -c 'del(.memory.flow_bytes, .memory.total_bytes, .memory.dedup_bytes)' 2>&1
	echo "rc=${PIPESTATUS[0]}"
	cat "$T_TMP/err"
}

# same NAME NS OPTS...: every worker count in NS gives what one worker gives.
same() {
	local name=$1 ns=$2 a b n; shift 2
	a=$(out 1 "$@")
	for n in $ns; do
		b=$(out "$n" "$@")
		if [ "$a" == "$b" ]; then
			t_pass "$name --workers $n"
		else
			t_fail "$name --workers $n" "differs from --workers 1"
			diff <(echo "$a") <(echo "$b") | T_NOTE_LINES=6 t_note
		fi
	done
}

for dir in tests/golden/fixtures tests/streams/fixtures tests/dnsredis/fixtures tests/safejson/fixtures; do
	for pcap in "$dir"/*.pcap "$dir"/*.pcapng; do
		[ -e "$pcap" ] || continue
		stem=${pcap%.*} base=$(basename "$stem")
		[ -n "$only" ] && ! [[ $base =~ $only ]] && continue
		same "$base --all" "2 3" --all "$pcap"
		same "$base --stats" 3 --stats "$pcap"
		for o in "$stem".opts "$stem".*.opts; do
			[ -e "$o" ] || continue
			replay_opts "$o"
			case=${o#"$stem"}
			# Each worker gets its share of a bound: one that is reached evicts otherwise.
			if grep -Eq 'maxFlows|memoryLimitMb|MemcapMb' "$o"; then
				t_skip "$base${case%.opts}" "sets a bound, which N workers split"
				continue
			fi
			same "$base${case%.opts}" 3 "${REPLAY_OPTS[@]}" "$pcap"
		done
	done
done

# The corpora (264 files) take long under ASan: WORKERS_CORPORA=1 adds them.
corpora=../shared/corpora
if [ -d "$corpora" ] && [ -z "$only" ] && [ "${WORKERS_CORPORA:-0}" = 1 ]; then
	while IFS= read -r f; do
		same "corpora/${f#"$corpora"/} --all" 2 --all "$f"
	done < <(find "$corpora" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.pcap.gz' \) | sort)
else
	t_skip "corpora" "WORKERS_CORPORA=1 reads $corpora too"
fi

# The option itself.
"$T_BIN" read --workers 0 tests/golden/fixtures/tcp-last-ack.pcap >/dev/null 2>"$T_TMP/e0"
t_check_eval "--workers 0 is a usage error naming the option" \
	'[ $? -eq 2 ] && grep -q -- "--workers" "$T_TMP/e0"'
"$T_BIN" read --workers 2 -w "$T_TMP/x.pcap" --write-filter error \
	tests/golden/fixtures/tcp-last-ack.pcap >/dev/null 2>"$T_TMP/e1"
t_check_eval "--workers 2 with --write-filter is a usage error" \
	'[ $? -eq 2 ] && grep -q -- "--workers" "$T_TMP/e1" && grep -q -- "--write-filter" "$T_TMP/e1"'

# -w records on the reading thread, before the packets are shared out: the same
# file, byte for byte, and the same entries as with one pipeline.
for f in tests/golden/fixtures/tcp-refused.pcap tests/streams/fixtures/*.pcap; do
	[ -e "$f" ] || continue
	base=$(basename "$f" .pcap)
	[ -n "$only" ] && ! [[ $base =~ $only ]] && continue
	"$T_BIN" read --all -o json --workers 1 -w "$T_TMP/w1.pcap" "$f" >"$T_TMP/w1.json" 2>/dev/null
	rc1=$?
	"$T_BIN" read --all -o json --workers 3 -w "$T_TMP/w3.pcap" "$f" >"$T_TMP/w3.json" 2>/dev/null
	rc3=$?
	t_check_eval "$base -w with --workers 3: the same recording and entries as with 1" \
		'[ $rc1 -eq 0 ] && [ $rc3 -eq 0 ] && cmp -s "$T_TMP/w1.pcap" "$T_TMP/w3.pcap" && cmp -s "$T_TMP/w1.json" "$T_TMP/w3.json"'
done
t_finish
