# SPDX-License-Identifier: MIT
# The test runner library every suite sources (bash).  A suite is
#
#   #!/usr/bin/env bash
#   . "$(dirname "$0")/../lib/runner.sh"
#   t_begin mysuite "$@"          # set -u, cd to the repository root, parse --update
#   t_check "exit 0 on --help" "$T_BIN" --help
#   t_jq "one SynSent" 'map(select(.error.message == "SynSent")) | length == 1' "$out"
#   t_diff "entries" tests/mysuite/x.expected "$out"
#   t_finish
#
# and prints, as its last line, exactly one closing line
#
#   mysuite: N passed, N failed, N skipped
#
# whatever way it ends (t_finish, falling off the end, an error, a signal: a
# suite that stops with a non-zero status before t_finish gets one failure for
# it).  It exits 0 when nothing failed, 1 otherwise.  tests/run-all.sh adds the
# closing lines up.
#
# Recording:  t_pass NAME | t_fail NAME [REASON] | t_skip NAME [REASON]
#             t_note TEXT...    detail under the last result (indented)
#             T_LAST            pass, fail or skip: the last result
# Checking:   t_check NAME COMMAND...     passes when COMMAND exits 0
#             t_check_eval NAME 'COND'    passes when the shell condition holds
#             t_jq NAME PROGRAM FILE...   jq -s PROGRAM over the JSON lines of
#                                         FILEs must print exactly `true`
#             t_diff NAME EXPECTED ACTUAL ACTUAL must equal EXPECTED byte for
#                                         byte; with --update EXPECTED is
#                                         rewritten instead (counted as skipped
#                                         when it changed)
# Set-up:     t_need TOOL...   false (and names the first missing) unless all exist
#             t_on_exit 'CMD'  run CMD at exit, before the closing line
#             t_add P F S      add counts (run-all.sh)
#
# Variables:  T_SUITE, T_ROOT (repository root, the working directory),
#             T_BIN (${FAULTLINE:-./faultline-asan}), T_TMP (a scratch directory
#             removed at exit), T_UPDATE (1 with --update or UPDATE=1),
#             T_ARGS (the suite's arguments other than --update),
#             T_QUIET (1: passes print nothing; VERBOSE=1 overrides).

T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T_SUITE=
T_PASSED=0 T_FAILED=0 T_SKIPPED=0
T_UPDATE=${UPDATE:-0}
T_QUIET=${T_QUIET:-0}
T_ARGS=()
T_BIN=${FAULTLINE:-./faultline-asan}
T_TMP=
T_EXITS=()
T_FINISHED=0
T_LAST=
T_MAIN_PID=
T_SANITIZER_RE='AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error'

t_begin() {
	set -u
	T_SUITE=$1; shift
	local a
	for a in "$@"; do
		case "$a" in
		--update) T_UPDATE=1 ;;
		*) T_ARGS+=("$a") ;;
		esac
	done
	cd "$T_ROOT" || exit 2
	T_MAIN_PID=$BASHPID
	T_TMP=$(mktemp -d "/tmp/flt-test-${T_SUITE:-all}.XXXXXX")
	trap _t_exit EXIT
	trap '_t_signal INT' INT
	trap '_t_signal TERM' TERM
}

t_pass() {
	T_PASSED=$((T_PASSED + 1)) T_LAST=pass
	[ "$T_QUIET" = 1 ] && [ "${VERBOSE:-0}" != 1 ] && return 0
	echo "  ok   $1"
}
t_fail() {
	T_FAILED=$((T_FAILED + 1)) T_LAST=fail
	echo "  FAIL $1${2:+: $2}"
	return 0
}
t_skip() {
	T_SKIPPED=$((T_SKIPPED + 1)) T_LAST=skip
	echo "  skip $1${2:+: $2}"
}
# Detail lines (a diff, the output that did not match), indented and cut short.
t_note() {
	if [ $# -gt 0 ]; then printf '%s\n' "$*"; else cat; fi | head -n "${T_NOTE_LINES:-20}" |
		cut -c1-"${T_NOTE_WIDTH:-400}" | sed 's/^/       /'
}

t_add() {
	T_PASSED=$((T_PASSED + $1)) T_FAILED=$((T_FAILED + $2)) T_SKIPPED=$((T_SKIPPED + $3))
}

t_check() {
	local name=$1; shift
	if "$@"; then t_pass "$name"; else t_fail "$name"; fi
}
t_check_eval() {
	if eval "$2"; then t_pass "$1"; else t_fail "$1"; fi
}

# t_jq NAME PROGRAM FILE...: the program runs with jq -s over the files' JSON
# lines ($T_JQ_PRELUDE first: definitions) and must print exactly `true`.
t_jq() {
	local name=$1 prog=$2 got; shift 2
	got=$(jq -s "${T_JQ_PRELUDE:-}$prog" "$@" 2>&1)
	if [ "$got" = true ]; then
		t_pass "$name"
	else
		t_fail "$name" "jq printed '${got:0:200}'"
		t_note "program: $prog"
		if [ -n "${T_JQ_SHOW:-}" ]; then
			t_note "$(jq -c -s "$T_JQ_SHOW" "$@" 2>/dev/null)"
		else
			cat "$@" | t_note
		fi
	fi
}

# t_diff NAME EXPECTED ACTUAL
t_diff() {
	local name=$1 want=$2 got=$3
	if [ "$T_UPDATE" = 1 ]; then
		if [ -f "$want" ] && cmp -s "$want" "$got"; then
			t_pass "$name"
		else
			cp "$got" "$want" && t_skip "$name" "--update rewrote $want: review the diff"
		fi
	elif [ ! -f "$want" ]; then
		t_fail "$name" "no $want (run the suite with --update, then review it)"
	elif cmp -s "$want" "$got"; then
		t_pass "$name"
	else
		t_fail "$name" "differs from $want"
		diff -u "$want" "$got" | T_NOTE_LINES=40 T_NOTE_WIDTH=600 t_note
	fi
}

# t_need TOOL...: all on PATH (the first missing one in T_MISSING).
t_need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || { T_MISSING=$t; return 1; }
	done
}

t_on_exit() { T_EXITS+=("$1"); }

t_finish() {
	T_FINISHED=1
	exit
}

t_closing_line() {
	echo "${T_SUITE:+$T_SUITE: }$T_PASSED passed, $T_FAILED failed, $T_SKIPPED skipped"
}

_t_signal() {
	t_fail "${T_SUITE:-tests}: interrupted by SIG$1"
	T_FINISHED=1
	exit 130
}

_t_exit() {
	local rc=$? i
	[ "$BASHPID" = "$T_MAIN_PID" ] || return "$rc"
	trap - EXIT INT TERM
	set +eu
	if [ "$T_FINISHED" != 1 ] && [ "$rc" -ne 0 ]; then
		t_fail "${T_SUITE:-tests}: stopped early with exit status $rc"
	fi
	for ((i = ${#T_EXITS[@]} - 1; i >= 0; i--)); do eval "${T_EXITS[i]}"; done
	[ -n "$T_TMP" ] && rm -rf "$T_TMP"
	t_closing_line
	[ "$T_FAILED" -eq 0 ] && exit 0
	exit 1
}
