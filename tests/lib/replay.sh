# SPDX-License-Identifier: MIT
# Replay fixtures (pcap in, entries out): the one format and its runner.
# The format is described in tests/README.md; in short, beside a capture
# DIR/STEM.pcap (or .pcapng, .pcap.gz) live its cases:
#
#   STEM.opts      options for `faultline read` (optional; shell-like words)
#   STEM.checks    jq programs, one per line, each run with `jq -s` over the
#                  JSON lines and required to print `true`; `#` lines describe
#                  the check after them; blank lines are ignored
#   STEM.expected  the exact output of `faultline read --all OPTS -o json STEM.pcap`
#
# and, for every further option set, the same three files as
# STEM.CASE.opts / STEM.CASE.checks / STEM.CASE.expected (CASE: a word
# without dots, e.g. "stats" for --stats).  Stems contain no dots.
#
# Each case counts: "reads cleanly" (exit 0, no sanitizer report), one result
# per check line, and the exact comparison with its .expected.  A sidecar file
# without its capture, or a case without checks, fails.
#
# Used by the golden, streams and dnsredis suites:
#   . tests/lib/replay.sh; t_begin NAME "$@"; replay_dir DIR...; t_finish
# Run directly it replays the directories it is given:
#   tests/lib/replay.sh [--update] [--checks-only] [--only REGEX] DIR...
#     --update       rewrite every .expected from the current binary
#     --checks-only  run the checks only, no comparison with .expected (for
#                    another implementation: FAULTLINE=tests/golden/tshark-model.sh)
#     --only REGEX   only the cases whose label (STEM or STEM.CASE) matches

# shellcheck source=runner.sh
declare -F t_begin >/dev/null || . "$(dirname "${BASH_SOURCE[0]}")/runner.sh"

# Definitions every check can use.
REPLAY_PRELUDE='def dns: map(select(.protocol == "dns")); def redis: map(select(.protocol == "redis")); '
REPLAY_TIMEOUT=${REPLAY_TIMEOUT:-60}
REPLAY_CHECKS_ONLY=0
REPLAY_ONLY=.

# replay_args: --checks-only and --only REGEX from T_ARGS; the rest stays in REPLAY_REST.
replay_args() {
	REPLAY_REST=()
	local i=0
	while [ $i -lt ${#T_ARGS[@]} ]; do
		case "${T_ARGS[i]}" in
		--checks-only) REPLAY_CHECKS_ONLY=1 ;;
		--only) i=$((i + 1)); REPLAY_ONLY=${T_ARGS[i]:-.} ;;
		*) REPLAY_REST+=("${T_ARGS[i]}") ;;
		esac
		i=$((i + 1))
	done
}

# The capture files of a directory, and the stem of one.
replay_captures() {
	local f
	for f in "$1"/*.pcap "$1"/*.pcapng "$1"/*.pcap.gz "$1"/*.pcapng.gz; do
		[ -f "$f" ] && echo "$f"
	done | sort
}
replay_stem() {
	local b; b=$(basename "$1")
	b=${b%.gz}; b=${b%.pcap}; b=${b%.pcapng}
	echo "$b"
}

# replay_cases DIR STEM: "-" for the default case if it has a file, then each CASE.
replay_cases() {
	local dir=$1 stem=$2 f rest
	if [ -e "$dir/$stem.opts" ] || [ -e "$dir/$stem.checks" ] || [ -e "$dir/$stem.expected" ]; then
		echo -
	fi
	for f in "$dir/$stem".*.opts "$dir/$stem".*.checks "$dir/$stem".*.expected; do
		[ -e "$f" ] || continue
		rest=${f#"$dir/$stem."}
		echo "${rest%.*}"
	done | sort -u
}

# replay_opts FILE: its words (quotes as in the shell, no expansion) into REPLAY_OPTS.
replay_opts() {
	REPLAY_OPTS=()
	[ -f "$1" ] || return 0
	mapfile -d '' REPLAY_OPTS < <(grep -v '^[[:space:]]*#' "$1" | xargs -r printf '%s\0')
}

# replay_case DIR CAPTURE STEM CASE ("-": the default case)
replay_case() {
	local dir=$1 pcap=$2 stem=$3 case=$4 base label
	if [ "$case" = - ]; then base=$dir/$stem label=$stem; else base=$dir/$stem.$case label=$stem.$case; fi
	grep -Eq -- "$REPLAY_ONLY" <<<"$label" || return 0
	replay_opts "$base.opts"
	local out=$T_TMP/replay.out err=$T_TMP/replay.err rc
	# --all: a fixture's checks and .expected cover every entry, not only the
	# default selection (errors and failed responses); a -f in the opts still
	# replaces the selection.
	timeout "$REPLAY_TIMEOUT" "$T_BIN" read --all "${REPLAY_OPTS[@]}" -o json "$pcap" >"$out" 2>"$err"
	rc=$?
	if [ $rc -ne 0 ] || grep -Eq "$T_SANITIZER_RE" "$err"; then
		t_fail "$label: reads cleanly" "exit $rc: read --all ${REPLAY_OPTS[*]} -o json $pcap"
		t_note <"$err"
		return
	fi
	t_pass "$label: reads cleanly"
	if [ ! -s "$base.checks" ] || ! grep -qv '^[[:space:]]*\(#\|$\)' "$base.checks"; then
		t_fail "$label: checks" "no check in $base.checks: say what the traffic must give"
	else
		local line n=0 desc=
		while IFS= read -r line || [ -n "$line" ]; do
			case "$line" in
			'#'*) desc=${line#\#}; desc=${desc# }; continue ;;
			*[![:space:]]*) ;;
			*) continue ;;
			esac
			n=$((n + 1))
			T_JQ_PRELUDE=$REPLAY_PRELUDE t_jq "$label: check $n" "$line" "$out"
			[ "$T_LAST" = pass ] || [ -z "$desc" ] || t_note "what it checks: $desc"
			desc=
		done <"$base.checks"
	fi
	[ "$REPLAY_CHECKS_ONLY" = 1 ] || t_diff "$label: expected output" "$base.expected" "$out"
}

# replay_dir DIR...: every case of every capture, then the sidecar files nobody owns.
replay_dir() {
	local dir pcap stem case f s
	for dir in "$@"; do
		if [ ! -d "$dir" ]; then t_fail "$dir" "no such fixture directory"; continue; fi
		local stems=" "
		while IFS= read -r pcap; do
			stem=$(replay_stem "$pcap")
			if [[ "$stem" == *.* ]]; then
				t_fail "$pcap" "a capture's stem must not contain a dot"; continue
			fi
			if [[ "$stems" == *" $stem "* ]]; then
				t_fail "$pcap" "another capture in $dir has the stem $stem"; continue
			fi
			stems+="$stem "
			local cases; cases=$(replay_cases "$dir" "$stem")
			if [ -z "$cases" ]; then
				t_fail "$stem" "no $dir/$stem.checks: a capture without checks tests nothing"
				continue
			fi
			for case in $cases; do replay_case "$dir" "$pcap" "$stem" "$case"; done
		done < <(replay_captures "$dir")
		for f in "$dir"/*.opts "$dir"/*.checks "$dir"/*.expected; do
			[ -e "$f" ] || continue
			s=$(basename "$f"); s=${s%%.*}
			[[ "$stems" == *" $s "* ]] || t_fail "$f" "no capture $dir/$s.pcap beside it"
		done
	done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	t_begin "${REPLAY_SUITE:-replay}" "$@"
	replay_args
	[ ${#REPLAY_REST[@]} -gt 0 ] || { t_fail "usage" "tests/lib/replay.sh [--update] [--checks-only] [--only REGEX] DIR..."; t_finish; }
	t_need jq || { t_skip "replay" "$T_MISSING is not installed"; t_finish; }
	replay_dir "${REPLAY_REST[@]}"
	t_finish
fi
