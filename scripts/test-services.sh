#!/usr/bin/env bash
# test-services.sh: run a command with private memcached and Redis servers.
#
# Usage: scripts/test-services.sh CMD [ARGS...]
#   e.g. scripts/test-services.sh go test -race ./...
#
# Starts, all bound to 127.0.0.1 only:
#   - three memcached instances and one redis-server;
#   - a Redis Cluster of three masters (no replicas), created with
#     redis-cli --cluster create;
#   - a Redis master with one replica, watched by three Sentinels
#     (redis-server --sentinel) that fail over within a few seconds;
# waits until each answers (the cluster until every node reports
# cluster_state:ok, the Sentinel set until the replica is in sync and every
# Sentinel knows the master, the replica and the other Sentinels), then runs
# CMD with
#
#   DOGPILE_MEMCACHED=127.0.0.1:21211,127.0.0.1:21212,127.0.0.1:21213
#   DOGPILE_REDIS=127.0.0.1:26379
#   DOGPILE_REDIS_CLUSTER=127.0.0.1:26400,127.0.0.1:26401,127.0.0.1:26402
#   DOGPILE_REDIS_SENTINELS=127.0.0.1:26410,127.0.0.1:26411,127.0.0.1:26412
#   DOGPILE_REDIS_SENTINEL_SERVICE=dogpile-test
#   DOGPILE_REDIS_SENTINEL_MASTER=127.0.0.1:26413
#   DOGPILE_REDIS_SENTINEL_REPLICA=127.0.0.1:26414
#   DOGPILE_MEMCACHED_BIN=/path/to/memcached
#   DOGPILE_REDIS_BIN=/path/to/redis-server
#
# The shared Sentinel set is not for tests that kill its master: those start
# a private set of their own (internal/testservers.StartRedisSentinel), so a
# failover never surprises another package's tests.
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
#   DOGPILE_MEMCACHED_PORTS             memcached ports (default "21211 21212 21213")
#   DOGPILE_REDIS_PORT                  redis port (default 26379)
#   DOGPILE_REDIS_CLUSTER_PORTS         the cluster's three ports (default
#                                       "26400 26401 26402")
#   DOGPILE_REDIS_CLUSTER_BUS_PORTS     their cluster bus ports (default: each
#                                       port + 3; Redis's own default, port +
#                                       10000, falls in the kernel's range of
#                                       ephemeral ports, where a client socket
#                                       may hold it)
#   DOGPILE_REDIS_SENTINEL_PORTS        the three Sentinels' ports (default
#                                       "26410 26411 26412")
#   DOGPILE_REDIS_SENTINEL_MASTER_PORT  the monitored master's port (default 26413)
#   DOGPILE_REDIS_SENTINEL_REPLICA_PORT its replica's port (default 26414)
#   DOGPILE_REDIS_SENTINEL_SERVICE      the Sentinels' name for the master
#                                       (default dogpile-test)
#   DOGPILE_MEMCACHED_BIN               memcached binary (default: from PATH)
#   DOGPILE_REDIS_BIN                   redis-server binary (default: from PATH;
#                                       also runs the Sentinels)
#   DOGPILE_SERVICES_TIMEOUT            seconds to wait for each server (default 15)
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
read -r -a cluster_ports <<<"${DOGPILE_REDIS_CLUSTER_PORTS:-26400 26401 26402}"
if [[ -n ${DOGPILE_REDIS_CLUSTER_BUS_PORTS:-} ]]; then
	read -r -a cluster_bus_ports <<<"$DOGPILE_REDIS_CLUSTER_BUS_PORTS"
else
	cluster_bus_ports=()
	for p in "${cluster_ports[@]}"; do cluster_bus_ports+=("$((p + 3))"); done
fi
read -r -a sentinel_ports <<<"${DOGPILE_REDIS_SENTINEL_PORTS:-26410 26411 26412}"
sentinel_master_port=${DOGPILE_REDIS_SENTINEL_MASTER_PORT:-26413}
sentinel_replica_port=${DOGPILE_REDIS_SENTINEL_REPLICA_PORT:-26414}
sentinel_service=${DOGPILE_REDIS_SENTINEL_SERVICE:-dogpile-test}
wait_secs=${DOGPILE_SERVICES_TIMEOUT:-15}

for p in "${memcached_ports[@]}" "$redis_port" "${cluster_ports[@]}" "${cluster_bus_ports[@]}" "${sentinel_ports[@]}" \
	"$sentinel_master_port" "$sentinel_replica_port"; do
	[[ $p =~ ^[0-9]+$ ]] && ((p > 0 && p < 65536)) || die "bad port: $p"
done
((${#cluster_ports[@]} == 3)) || die "DOGPILE_REDIS_CLUSTER_PORTS needs three ports, not ${#cluster_ports[@]}"
((${#cluster_bus_ports[@]} == 3)) || die "DOGPILE_REDIS_CLUSTER_BUS_PORTS needs three ports, not ${#cluster_bus_ports[@]}"
((${#sentinel_ports[@]} == 3)) || die "DOGPILE_REDIS_SENTINEL_PORTS needs three ports, not ${#sentinel_ports[@]}"
[[ $sentinel_service =~ ^[A-Za-z0-9._-]+$ ]] || die "bad DOGPILE_REDIS_SENTINEL_SERVICE: $sentinel_service"
[[ $wait_secs =~ ^[0-9]+$ ]] || die "bad DOGPILE_SERVICES_TIMEOUT: $wait_secs"

# --- find (or install) the server binaries -------------------------------

find_bins() {
	memcached_bin=${DOGPILE_MEMCACHED_BIN:-$(command -v memcached || true)}
	redis_bin=${DOGPILE_REDIS_BIN:-$(command -v redis-server || true)}
	redis_cli=$(command -v redis-cli || true)
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
if [[ -z $memcached_bin || -z $redis_bin || -z $redis_cli || -n $need_cc || -n $need_python ]]; then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		echo "$prog: installing memcached redis-server redis-tools $need_cc $need_python (apt-get)" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update >&2
		# shellcheck disable=SC2086 # need_cc and need_python are word lists
		apt-get install -y --no-install-recommends memcached redis-server redis-tools $need_cc $need_python >&2
		find_bins
	fi
	if [[ -z $memcached_bin || -z $redis_bin ]]; then
		die "memcached and redis-server are needed; install them with:
    sudo apt-get install -y memcached redis-server
(or set DOGPILE_MEMCACHED_BIN and DOGPILE_REDIS_BIN to their paths)"
	fi
	if [[ -z $redis_cli ]]; then
		die "redis-cli is needed to create the test Redis Cluster; install it with:
    sudo apt-get install -y redis-tools"
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
		die "port $host:$port is already in use by a server this script did not start; stop it or choose other ports (DOGPILE_MEMCACHED_PORTS, DOGPILE_REDIS_PORT, DOGPILE_REDIS_CLUSTER_PORTS, DOGPILE_REDIS_SENTINEL_PORTS, ...)"
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
redis_args=(--bind "$host" --save "" --appendonly no --daemonize no --logfile "" --protected-mode yes)
start redis-server "$redis_port" "$workdir/redis-$redis_port.log" \
	"$redis_bin" --port "$redis_port" --dir "$workdir" "${redis_args[@]}"

# The cluster: three masters, each with its own directory for its
# nodes.conf. A small node timeout lets the cluster notice a dead node soon.
for i in "${!cluster_ports[@]}"; do
	port=${cluster_ports[$i]} bus=${cluster_bus_ports[$i]}
	if port_open "$bus"; then
		die "port $host:$bus (cluster bus of $port) is already in use; choose other DOGPILE_REDIS_CLUSTER_BUS_PORTS"
	fi
	mkdir -p "$workdir/cluster-$port"
	start "redis-server (cluster node)" "$port" "$workdir/cluster-$port.log" \
		"$redis_bin" --port "$port" --dir "$workdir/cluster-$port" "${redis_args[@]}" \
		--cluster-enabled yes --cluster-config-file "$workdir/cluster-$port/nodes.conf" \
		--cluster-port "$bus" --cluster-node-timeout 2000
done

# The Sentinel set: a master, its replica and three Sentinels. A master is
# down after 1s without an answer; a failover takes a few seconds.
for port in "$sentinel_master_port" "$sentinel_replica_port"; do
	mkdir -p "$workdir/sentinel-data-$port"
done
start "redis-server (sentinel master)" "$sentinel_master_port" "$workdir/sentinel-master.log" \
	"$redis_bin" --port "$sentinel_master_port" --dir "$workdir/sentinel-data-$sentinel_master_port" "${redis_args[@]}"
start "redis-server (sentinel replica)" "$sentinel_replica_port" "$workdir/sentinel-replica.log" \
	"$redis_bin" --port "$sentinel_replica_port" --dir "$workdir/sentinel-data-$sentinel_replica_port" "${redis_args[@]}" \
	--replicaof "$host" "$sentinel_master_port"
for port in "${sentinel_ports[@]}"; do
	# Each Sentinel rewrites its own configuration file.
	cat >"$workdir/sentinel-$port.conf" <<-EOF
		port $port
		bind $host
		protected-mode yes
		daemonize no
		logfile ""
		dir $workdir
		sentinel monitor $sentinel_service $host $sentinel_master_port 2
		sentinel down-after-milliseconds $sentinel_service 1000
		sentinel failover-timeout $sentinel_service 5000
		sentinel parallel-syncs $sentinel_service 1
	EOF
	start "redis-sentinel" "$port" "$workdir/sentinel-$port.log" \
		"$redis_bin" "$workdir/sentinel-$port.conf" --sentinel
done

i=0
for port in "${memcached_ports[@]}"; do
	await "$i" "$port" 'version\r\n' 'VERSION' "$workdir/memcached-$port.log"
	i=$((i + 1))
done
await "$i" "$redis_port" 'PING\r\n' '+PONG' "$workdir/redis-$redis_port.log"
i=$((i + 1))
for port in "${cluster_ports[@]}"; do
	await "$i" "$port" 'PING\r\n' '+PONG' "$workdir/cluster-$port.log"
	i=$((i + 1))
done
await "$i" "$sentinel_master_port" 'PING\r\n' '+PONG' "$workdir/sentinel-master.log"
await "$((i + 1))" "$sentinel_replica_port" 'PING\r\n' '+PONG' "$workdir/sentinel-replica.log"
i=$((i + 2))
for port in "${sentinel_ports[@]}"; do
	await "$i" "$port" 'PING\r\n' '+PONG' "$workdir/sentinel-$port.log"
	i=$((i + 1))
done

# until_true WHAT CMD...: run CMD until it succeeds, for up to wait_secs.
until_true() {
	local what=$1 deadline=$((SECONDS + wait_secs))
	shift
	until "$@"; do
		if ((SECONDS >= deadline)); then
			die "$what did not happen within ${wait_secs}s (DOGPILE_SERVICES_TIMEOUT)"
		fi
		sleep 0.2
	done
}

rcli() { "$redis_cli" -h "$host" "$@"; }

# Create the cluster (the three masters share the 16384 slots), then wait
# until every node agrees that it is up.
cluster_addrs=()
for port in "${cluster_ports[@]}"; do cluster_addrs+=("$host:$port"); done
if ! rcli --cluster create "${cluster_addrs[@]}" --cluster-replicas 0 --cluster-yes >"$workdir/cluster-create.log" 2>&1; then
	echo "$prog: redis-cli --cluster create failed:" >&2
	sed 's/^/    /' "$workdir/cluster-create.log" >&2
	exit 1
fi
cluster_ok() {
	local port
	for port in "${cluster_ports[@]}"; do
		rcli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
	done
}
until_true "the Redis Cluster reporting cluster_state:ok on every node" cluster_ok

# Wait until the replica is in sync and each Sentinel sees the master, the
# replica and the two other Sentinels.
replica_synced() {
	rcli -p "$sentinel_replica_port" info replication 2>/dev/null | grep -q '^master_link_status:up'
}
until_true "the Sentinel replica syncing with its master" replica_synced
sentinels_ready() {
	local port out
	for port in "${sentinel_ports[@]}"; do
		out=$(rcli -p "$port" sentinel master "$sentinel_service" 2>/dev/null | tr -d '\r') || return 1
		grep -qx 'num-slaves' <<<"$out" || return 1
		[[ $(grep -A1 -x 'num-slaves' <<<"$out" | tail -1) -ge 1 ]] || return 1
		[[ $(grep -A1 -x 'num-other-sentinels' <<<"$out" | tail -1) -ge 2 ]] || return 1
	done
}
until_true "the Sentinels discovering the replica and each other" sentinels_ready

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
DOGPILE_REDIS_CLUSTER=$(
	IFS=,
	echo "${cluster_addrs[*]}"
)
export DOGPILE_REDIS_CLUSTER
sentinel_addrs=()
for port in "${sentinel_ports[@]}"; do sentinel_addrs+=("$host:$port"); done
DOGPILE_REDIS_SENTINELS=$(
	IFS=,
	echo "${sentinel_addrs[*]}"
)
export DOGPILE_REDIS_SENTINELS
export DOGPILE_REDIS_SENTINEL_SERVICE="$sentinel_service"
export DOGPILE_REDIS_SENTINEL_MASTER="$host:$sentinel_master_port"
export DOGPILE_REDIS_SENTINEL_REPLICA="$host:$sentinel_replica_port"
export DOGPILE_MEMCACHED_BIN="$memcached_bin"
export DOGPILE_REDIS_BIN="$redis_bin"
echo "$prog: memcached at $DOGPILE_MEMCACHED, redis at $DOGPILE_REDIS," \
	"redis cluster at $DOGPILE_REDIS_CLUSTER, sentinels at $DOGPILE_REDIS_SENTINELS ($sentinel_service)" >&2

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
