#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make lint: the layering rule, cppcheck (userspace and BPF) and the clang static analyzer
# (scan-build) over a scratch build of every userspace object.  A finding that stays is
# explained, one line each, in .cppcheck-suppressions (cppcheck) or where the code has it.
# Ends with "lint: N findings"; exit 1 when there is any.
#   scripts/lint.sh [layers|cppcheck|scan-build ...]    (default: all three)
set -u
cd "$(dirname "$0")/.."
out=.output/lint
mkdir -p "$out"
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(layers cppcheck scan-build)
findings=0

run_layers() {
	scripts/check-layers.sh || findings=$((findings + $(scripts/check-layers.sh | grep -c '^check-layers: user/')))
}

run_cppcheck() {
	local common=(--enable=warning,style,performance,portability --std=c11 --quiet -j2
		--inline-suppr --suppressions-list=.cppcheck-suppressions --error-exitcode=1
		--template='{file}:{line}: {severity} ({id}): {message}')
	# No system or libbpf headers: cppcheck is told about the few macros it needs instead
	# (scripts/cppcheck/*.cfg), which keeps it fast and its findings about our code.
	cppcheck "${common[@]}" -D_GNU_SOURCE -Iinclude -Iuser \
		--library=scripts/cppcheck/libbpf.cfg user/ >"$out/cppcheck-user.txt" 2>&1
	cppcheck "${common[@]}" -D__bpf__ -D__TARGET_ARCH_x86 -Iinclude -Ibpf \
		--library=scripts/cppcheck/bpf.cfg bpf/ >"$out/cppcheck-bpf.txt" 2>&1
	local n
	n=$(cat "$out"/cppcheck-*.txt | grep -c ': \(error\|warning\|style\|performance\|portability\) ')
	cat "$out"/cppcheck-*.txt
	echo "cppcheck: $n findings"
	findings=$((findings + n))
}

run_scan_build() {
	# A fresh scratch tree (OUT=$out/scan): every object is analysed, the real build untouched.
	local objs rc kept=0 known=0 line file checker
	objs=$(make -s --no-print-directory print-lib-objs OUT="$out/scan")
	rm -rf "$out/scan-report" "$out/scan"
	# shellcheck disable=SC2086 # one word per object
	scan-build -o "$out/scan-report" --use-cc="${CC:-cc}" \
		make -s --no-print-directory -j2 OUT="$out/scan" $objs >"$out/scan-build.txt" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		tail -30 "$out/scan-build.txt"
		echo "scan-build: the build failed"
		findings=$((findings + 1))
		return
	fi
	# Each warning, minus those .scan-build-suppressions explains (FILE-GLOB CHECKER).
	local pats=() checkers=() pat chk i explained
	while read -r pat chk; do
		pats+=("$pat")
		checkers+=("$chk")
	done < <(grep -vE '^(#|[[:space:]]*$)' .scan-build-suppressions)
	while IFS= read -r line; do
		file=${line%%:*}
		checker=$(sed -nE 's/.*\[([a-zA-Z.]+)\]$/\1/p' <<<"$line")
		explained=0
		for i in "${!pats[@]}"; do
			# shellcheck disable=SC2053 # the pattern is a glob
			if [[ $file == ${pats[$i]} && $checker == "${checkers[$i]}" ]]; then
				explained=1
			fi
		done
		if [ $explained -eq 1 ]; then
			known=$((known + 1))
			continue
		fi
		echo "$line"
		kept=$((kept + 1))
	done < <(grep -E '^[^ ]+:[0-9]+:[0-9]+: warning: .*\[[a-zA-Z]+\.[a-zA-Z.]+\]$' \
		"$out/scan-build.txt" | sort -u)
	echo "scan-build: $kept findings, $known explained in .scan-build-suppressions" \
		"(HTML report: $(ls -d "$out"/scan-report/* 2>/dev/null | tail -1))"
	findings=$((findings + kept))
}

for step in "${steps[@]}"; do
	case $step in
	layers) run_layers ;;
	cppcheck) run_cppcheck ;;
	scan-build) run_scan_build ;;
	*) echo "lint: unknown step $step" >&2; exit 2 ;;
	esac
done
echo "lint: $findings findings"
[ "$findings" -eq 0 ]
