#!/usr/bin/env bash
# test-services.sh: run a command with private memcached and redis servers.
#
# Usage: scripts/test-services.sh CMD [ARGS...]
#   e.g. scripts/test-services.sh go test -race ./...
#
# Starts three memcached instances and one redis-server, all bound to
# 127.0.0.1 only, waits until each answers, runs CMD with
#
#   DOGPILE_MEMCACHED=127.0.0.1:21211,127.0.0.1:21212,127.0.0.1:21213
#   DOGPILE_REDIS=127.0.0.1:26379
#   DOGPILE_MEMCACHED_BIN=/path/to/memcached
#   DOGPILE_REDIS_BIN=/path/to/redis-server
#
# in its environment, stops every server it started when it exits (also when
# CMD fails or the script is interrupted) and exits with CMD's status.
#
# When memcached or redis-server (or a C compiler, which go test -race
# needs), or the Python side of a mixed fleet that the interoperability tests
# drive with /usr/bin/python3 (Debian's python3-dogpile.cache,
# python3-oslo.cache, python3-oslo.config, python3-pymemcache,
# python3-memcache, python3-redis), is missing and the script runs as root,
# it installs the Debian packages (apt-get update once, then
# apt-get install -y ...).
#
# Settings (environment):
#   DOGPILE_MEMCACHED_PORTS   memcached ports (default "21211 21212 21213")
#   DOGPILE_REDIS_PORT        redis port (default 26379)
#   DOGPILE_MEMCACHED_BIN     memcached binary (default: from PATH)
#   DOGPILE_REDIS_BIN         redis-server binary (default: from PATH)
#   DOGPILE_SERVICES_TIMEOUT  seconds to wait for each server (default 15)
#
# A port that is already in use makes the script fail before running CMD: it
# never talks to a server it did not start.

set -euo pipefail

prog=${0##*/}
host=127.0.0.1

die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}

if [[ $# -eq 0 || $1 == -h || $1 == --help ]]; then
	sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0" >&2
	[[ $# -eq 0 ]] && exit 2
	exit 0
fi

read -r -a memcached_ports <<<"${DOGPILE_MEMCACHED_PORTS:-21211 21212 21213}"
redis_port=${DOGPILE_REDIS_PORT:-26379}
wait_secs=${DOGPILE_SERVICES_TIMEOUT:-15}

for p in "${memcached_ports[@]}" "$redis_port"; do
	[[ $p =~ ^[0-9]+$ ]] && ((p > 0 && p < 65536)) || die "bad port: $p"
done
[[ $wait_secs =~ ^[0-9]+$ ]] || die "bad DOGPILE_SERVICES_TIMEOUT: $wait_secs"

# --- find (or install) the server binaries -------------------------------

find_bins() {
	memcached_bin=${DOGPILE_MEMCACHED_BIN:-$(command -v memcached || true)}
	redis_bin=${DOGPILE_REDIS_BIN:-$(command -v redis-server || true)}
}

find_bins
# go test -race needs cgo, so a C compiler: install one too when missing.
need_cc=""
command -v cc >/dev/null || command -v gcc >/dev/null || need_cc="gcc libc6-dev"
# The Python side of a mixed fleet, run by the interoperability tests with
# /usr/bin/python3 (Debian's packages, not pip's).
python_pkgs="python3 python3-dogpile.cache python3-oslo.cache python3-oslo.config python3-pymemcache python3-memcache python3-redis"
need_python=""
/usr/bin/python3 -c 'import dogpile.cache, oslo_cache, oslo_config, pymemcache, memcache, redis' 2>/dev/null ||
	need_python=$python_pkgs
if [[ -z $memcached_bin || -z $redis_bin || -n $need_cc || -n $need_python ]]; then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		echo "$prog: installing memcached redis-server $need_cc $need_python (apt-get)" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update >&2
		# shellcheck disable=SC2086 # need_cc and need_python are word lists
		apt-get install -y --no-install-recommends memcached redis-server $need_cc $need_python >&2
		find_bins
	fi
	if [[ -z $memcached_bin || -z $redis_bin ]]; then
		die "memcached and redis-server are needed; install them with:
    sudo apt-get install -y memcached redis-server
(or set DOGPILE_MEMCACHED_BIN and DOGPILE_REDIS_BIN to their paths)"
	fi
fi
[[ -x $memcached_bin ]] || die "memcached binary not executable: $memcached_bin"
[[ -x $redis_bin ]] || die "redis-server binary not executable: $redis_bin"

# --- bookkeeping and cleanup ----------------------------------------------

pids=()    # servers we started (each leads its own process group when
           # setsid is available, so helper children stop with it)
names=()   # their descriptions, same order
setsid_cmd=()
if command -v setsid >/dev/null; then setsid_cmd=(setsid); fi
cmd_pid=
workdir=$(mktemp -d "${TMPDIR:-/tmp}/dogpile-services.XXXXXX")

# signal_server SIG PID: signal a server (and its process group, if it has one).
signal_server() {
	if ((${#setsid_cmd[@]})); then
		kill -s "$1" -- "-$2" 2>/dev/null || kill -s "$1" "$2" 2>/dev/null || true
	else
		kill -s "$1" "$2" 2>/dev/null || true
	fi
}

# server_alive PID: true while the server (or anything in its group) runs.
server_alive() {
	if ((${#setsid_cmd[@]})) && kill -0 -- "-$1" 2>/dev/null; then
		return 0
	fi
	kill -0 "$1" 2>/dev/null
}

stop_servers() {
	local i pid deadline
	for pid in "${pids[@]}"; do
		signal_server TERM "$pid"
	done
	deadline=$((SECONDS + 5))
	for i in "${!pids[@]}"; do
		pid=${pids[$i]}
		while server_alive "$pid" && ((SECONDS < deadline)); do
			sleep 0.1
		done
		if server_alive "$pid"; then
			echo "$prog: ${names[$i]} (pid $pid) ignored SIGTERM; killing it" >&2
			signal_server KILL "$pid"
		fi
		wait "$pid" 2>/dev/null || true
	done
	pids=()
	names=()
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	set +e
	if [[ -n $cmd_pid ]] && kill -0 "$cmd_pid" 2>/dev/null; then
		kill -TERM "$cmd_pid" 2>/dev/null
		wait "$cmd_pid" 2>/dev/null
	fi
	stop_servers
	rm -rf -- "$workdir"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# --- starting and probing servers ----------------------------------------

# port_open PORT: true when something accepts TCP connections on host:PORT.
port_open() {
	(exec 3<>"/dev/tcp/$host/$1") 2>/dev/null
}

# probe PORT REQUEST EXPECT: send REQUEST, true when the first reply line
# starts with EXPECT.
probe() {
	local port=$1 request=$2 expect=$3 line=
	(
		exec 3<>"/dev/tcp/$host/$port" || exit 1
		printf '%b' "$request" >&3
		IFS= read -r -t 2 line <&3 || exit 1
		[[ $line == "$expect"* ]]
	) 2>/dev/null
}

# start NAME PORT LOG CMD...: start a server in the background.
start() {
	local name=$1 port=$2 log=$3
	shift 3
	if port_open "$port"; then
		die "port $host:$port is already in use by a server this script did not start; stop it or choose other ports (DOGPILE_MEMCACHED_PORTS / DOGPILE_REDIS_PORT)"
	fi
	"${setsid_cmd[@]}" "$@" </dev/null >"$log" 2>&1 &
	pids+=("$!")
	names+=("$name on $host:$port")
}

# await INDEX PORT REQUEST EXPECT: wait for the server started as pids[INDEX].
await() {
	local i=$1 port=$2 request=$3 expect=$4 log=$5
	local deadline=$((SECONDS + wait_secs))
	while :; do
		if ! kill -0 "${pids[$i]}" 2>/dev/null; then
			echo "$prog: ${names[$i]} exited during startup; its log:" >&2
			sed 's/^/    /' "$log" >&2 || true
			exit 1
		fi
		if probe "$port" "$request" "$expect"; then
			return 0
		fi
		if ((SECONDS >= deadline)); then
			echo "$prog: ${names[$i]} did not answer within ${wait_secs}s; its log:" >&2
			sed 's/^/    /' "$log" >&2 || true
			exit 1
		fi
		sleep 0.1
	done
}

mc_user=()
if [[ $(id -u) -eq 0 ]]; then
	# memcached refuses to run as root without -u.
	if id nobody >/dev/null 2>&1; then mc_user=(-u nobody); else mc_user=(-u root); fi
fi

# One worker thread per server (-t 1): every client connection is then served
# by the same thread, so a benchmark comparing two clients (the region and raw
# gomemcache, each with its own connection) measures the clients and not
# which of memcached's threads each connection happened to land on (with the
# default 4 threads that alone moved single-get ratios between 1.0x and 2.7x
# on a 2-core machine). Three servers still give the tests three threads.
memcached_addrs=()
for port in "${memcached_ports[@]}"; do
	start memcached "$port" "$workdir/memcached-$port.log" \
		"$memcached_bin" -l "$host" -p "$port" -U 0 -m 64 -c 1024 -t 1 "${mc_user[@]}"
	memcached_addrs+=("$host:$port")
done
start redis-server "$redis_port" "$workdir/redis-$redis_port.log" \
	"$redis_bin" --port "$redis_port" --bind "$host" --save "" --appendonly no \
	--daemonize no --dir "$workdir" --logfile "" --protected-mode yes

i=0
for port in "${memcached_ports[@]}"; do
	await "$i" "$port" 'version\r\n' 'VERSION' "$workdir/memcached-$port.log"
	i=$((i + 1))
done
await "$i" "$redis_port" 'PING\r\n' '+PONG' "$workdir/redis-$redis_port.log"

# Still ours? (A server that lost a bind race exits with an error.)
for i in "${!pids[@]}"; do
	kill -0 "${pids[$i]}" 2>/dev/null || die "${names[$i]} exited during startup"
done

DOGPILE_MEMCACHED=$(
	IFS=,
	echo "${memcached_addrs[*]}"
)
export DOGPILE_MEMCACHED
export DOGPILE_REDIS="$host:$redis_port"
export DOGPILE_MEMCACHED_BIN="$memcached_bin"
export DOGPILE_REDIS_BIN="$redis_bin"
echo "$prog: memcached at $DOGPILE_MEMCACHED, redis at $DOGPILE_REDIS" >&2

# --- run the command -----------------------------------------------------

# CMD runs in the background (with our stdin) so that a signal sent to this
# script alone reaches it too; the servers stop once it has ended. Bash starts
# background commands with SIGINT ignored, so every signal is passed on as
# SIGTERM.
got_signal=
forward() {
	got_signal=$1
	if [[ -n $cmd_pid ]]; then kill -TERM "$cmd_pid" 2>/dev/null || true; fi
}
trap 'forward HUP' HUP
trap 'forward INT' INT
trap 'forward TERM' TERM

set +e
"$@" <&0 &
cmd_pid=$!
while :; do
	wait "$cmd_pid"
	status=$?
	# wait returns early (status > 128) when a trapped signal arrives.
	kill -0 "$cmd_pid" 2>/dev/null || break
done
set -e
cmd_pid=
case $got_signal in
HUP) status=129 ;;
INT) status=130 ;;
TERM) status=143 ;;
esac
exit "$status"
