#!/bin/sh
# SPDX-License-Identifier: MIT
# Wrapper so check-checks.sh can run tshark-model.py like the binary.
exec /usr/bin/python3 "$(dirname "$0")/tshark-model.py" "$@"
