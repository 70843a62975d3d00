#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The layering rule: dependencies point down the pipeline, towards core.
#   user/core     includes nothing from track/, stream/, dissect/, sink/
#   user/stream   includes nothing from track/
#   user/dissect  does not include core/flow.h
# A lower layer reports events upward by return value, never by calling back up.
# Prints one line per violation (file:line: the include) and exits 1 if any.
set -u
cd "$(dirname "$0")/.."
found=0

# check DIR REGEX WHY: every `#include "..."` in DIR/*.[ch] whose path matches REGEX.
check() {
	local dir=$1 regex=$2 why=$3 hit
	while IFS= read -r hit; do
		echo "check-layers: $hit  ($why)"
		found=$((found + 1))
	done < <(grep -nHE "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"($regex)\"" \
		"user/$dir"/*.[ch] 2>/dev/null)
}

check core 'track/[^"]*|stream/[^"]*|dissect/[^"]*|sink/[^"]*' \
	"core depends on nothing above it"
check stream 'track/[^"]*' "stream does not depend on track"
check dissect 'core/flow\.h' "dissect does not know the flow table"

if [ "$found" -eq 0 ]; then
	echo "check-layers: ok"
	exit 0
fi
echo "check-layers: $found include(s) break the layering rule"
exit 1
