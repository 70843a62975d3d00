# SPDX-License-Identifier: MIT
# Shared helpers for tests that build network namespaces.  Source it, then:
#   ns_prefix flt-mysuite          # names are "<prefix>-<name>", so suites never collide
#   ns_add client; ns_add server
#   ns_link client c0 198.18.1.1/24,fd18:1::1/64 server s0 198.18.1.2/24,fd18:1::2/64
#   ns_exec client curl ...
# Everything made is torn down on exit, also when the test fails (trap, or
# t_on_exit when tests/lib/runner.sh is loaded).
# Hosts take addresses from 198.18.0.0/15 and fd18::/16 only.

NS_PREFIX=${NS_PREFIX:-flt}
NS_MADE=()
NS_PIDS=()

ns_prefix() { NS_PREFIX="$1-$$"; }
ns_name() { echo "$NS_PREFIX-$1"; }

ns_add() {
	local n; n=$(ns_name "$1")
	ip netns add "$n" || return 1
	NS_MADE+=("$n")
	ip -n "$n" link set lo up
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

ns_exec() { local n; n=$(ns_name "$1"); shift; ip netns exec "$n" "$@"; }

# ns_link A IFA ADDRS_A B IFB ADDRS_B: a veth pair between two namespaces.
ns_link() {
	local a; a=$(ns_name "$1"); local b; b=$(ns_name "$4")
	ip link add "$2" netns "$a" type veth peer name "$5" netns "$b" || return 1
	local addr
	for addr in ${3//,/ }; do ip -n "$a" addr add "$addr" dev "$2" nodad; done
	for addr in ${6//,/ }; do ip -n "$b" addr add "$addr" dev "$5" nodad; done
	ip -n "$a" link set "$2" up
	ip -n "$b" link set "$5" up
}

# Run a command in the background inside a namespace; it is killed at teardown.
ns_bg() { local n; n=$(ns_name "$1"); shift; ip netns exec "$n" "$@" & NS_PIDS+=($!); }

ns_teardown() {
	local p n
	set +e    # at exit under `set -e`, one failed kill/wait must not skip the rest
	for p in "${NS_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${NS_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for n in "${NS_MADE[@]}"; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
	NS_MADE=() NS_PIDS=()
}
# Under tests/lib/runner.sh the runner's exit handler tears down (before the
# suite's closing line); a script of its own (record.sh) gets a trap.
if declare -F t_on_exit >/dev/null; then
	t_on_exit ns_teardown
else
	trap ns_teardown EXIT INT TERM
fi

# Wait (bounded) until a TCP port listens inside a namespace.
ns_wait_port() {
	local i
	for i in $(seq 1 50); do
		ns_exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	echo "port $2 in $1 never listened" >&2; return 1
}

# fl_capture_start ERRFILE SOCK COMMAND...: run a faultline capture COMMAND in
# the background (its pid in CAP_PID, stdout discarded, stderr to ERRFILE) and
# wait, 10 s at most, until it says it is capturing and SOCK exists.  1 if it
# did not come up (it may have exited: see ERRFILE).
fl_capture_start() {
	local err=$1 sock=$2
	shift 2
	rm -f "$sock"
	"$@" >/dev/null 2>"$err" &
	CAP_PID=$!
	fl_capture_wait "$err" "$sock"
}

# fl_capture_wait ERRFILE SOCK [TENTHS [PID]]: wait until the capture (PID, default CAP_PID)
# says it is capturing in ERRFILE and SOCK exists (SOCK "": do not wait for a socket).  1 if
# it exits first or TENTHS tenths of a second pass (default 100).
fl_capture_wait() {
	local err=$1 sock=$2 tries=${3:-100} pid=${4:-$CAP_PID} i
	for i in $(seq 1 "$tries"); do
		grep -q "capturing on" "$err" 2>/dev/null && { [ -z "$sock" ] || [ -S "$sock" ]; } && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# fl_named_start NAME NS IFACE DURATION ARGS...: an eBPF capture on IFACE in namespace NS,
# its JSON entries (--all) in $TMP/NAME.out, stderr in $TMP/NAME.err, control socket
# $TMP/NAME.sock, pid in PID_NAME; waits until it captures.  1 (stderr shown) if it did not.
# For suites that run several captures side by side (skip, skipdns); their cleanup calls
# fl_named_kill.
fl_named_start() {
	local name=$1 ns=$2 ifc=$3 duration=$4 pid
	shift 4
	FL_NAMED="${FL_NAMED:-} $name"
	ip netns exec "$(ns_name "$ns")" "$BIN" capture -i "$ifc" --backend ebpf --socket "$TMP/$name.sock" \
		-o json --all --duration "$duration" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	pid=$!
	eval "PID_$name=$pid"
	fl_capture_wait "$TMP/$name.err" "$TMP/$name.sock" 100 "$pid" && return 0
	cat "$TMP/$name.err" >&2
	return 1
}

# fl_named_stop NAME: its stats in $TMP/NAME.stats, then SIGINT, 10 s to exit, SIGKILL.
fl_named_stop() {
	local pid i
	eval "pid=\$PID_$1"
	"$BIN" stats --json --socket "$TMP/$1.sock" >"$TMP/$1.stats" 2>/dev/null
	kill -INT "$pid" 2>/dev/null
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	eval "PID_$1="
}

# fl_named_kill: SIGKILL to every capture fl_named_start started that still runs (cleanup).
fl_named_kill() {
	local name pid
	for name in ${FL_NAMED:-}; do
		eval "pid=\${PID_$name:-}"
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	done
	return 0
}

# fl_capture_stop: SIGINT, 5 s to exit, then SIGKILL; CAP_PID is emptied.
fl_capture_stop() {
	local i
	[ -n "${CAP_PID:-}" ] || return 0
	kill -INT "$CAP_PID" 2>/dev/null
	for i in $(seq 1 50); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$CAP_PID" 2>/dev/null
	wait "$CAP_PID" 2>/dev/null
	CAP_PID=
}
